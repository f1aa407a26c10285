"""coordbias.data: the position-semantics circles data set.

On the fly (:class:`CirclesDataset`, :func:`generate_batch`), exported to PNG folders
(:func:`export_dataset`) and loaded back from any image/mask folder (:class:`FolderDataset`);
the benchmark's variants of it (:func:`circles_task`) and the Not-so-Clevr data
(:mod:`coordbias.data.notsoclevr`).
"""

from coordbias.data.circles_tasks import CIRCLES_TASKS, circles_task
from coordbias.data.config import CLASS_COLORS, CLASS_NAMES, SPLITS, CirclesConfig, class_colors
from coordbias.data.dataset import CirclesDataset
from coordbias.data.export import export_dataset
from coordbias.data.folder import FolderDataset
from coordbias.data.generate import Circles, generate_batch, uint8_to_float

__all__ = [
    "CIRCLES_TASKS",
    "CLASS_COLORS",
    "CLASS_NAMES",
    "SPLITS",
    "Circles",
    "CirclesConfig",
    "CirclesDataset",
    "FolderDataset",
    "circles_task",
    "class_colors",
    "export_dataset",
    "generate_batch",
    "uint8_to_float",
]
