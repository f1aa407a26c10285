"""coordbias.data: the position-semantics circles data set.

On the fly (:class:`CirclesDataset`, :func:`generate_batch`), exported to PNG folders
(:func:`export_dataset`) and loaded back from any image/mask folder (:class:`FolderDataset`);
the benchmark's variants of it (:func:`circles_task`); the published anchors' data: Kayhan and
van Gemert's Red-Green set (:class:`RedGreenDataset`, :mod:`coordbias.data.redgreen`) and
Liu et al.'s Not-so-Clevr (:mod:`coordbias.data.notsoclevr`).
"""

from coordbias.data.circles_tasks import CIRCLES_TASKS, circles_task
from coordbias.data.config import CLASS_COLORS, CLASS_NAMES, SPLITS, CirclesConfig, class_colors
from coordbias.data.dataset import CirclesDataset
from coordbias.data.export import export_dataset
from coordbias.data.folder import FolderDataset
from coordbias.data.generate import Circles, generate_batch, uint8_to_float
from coordbias.data.redgreen import RedGreenDataset, redgreen_tensors

__all__ = [
    "CIRCLES_TASKS",
    "CLASS_COLORS",
    "CLASS_NAMES",
    "SPLITS",
    "Circles",
    "CirclesConfig",
    "CirclesDataset",
    "FolderDataset",
    "RedGreenDataset",
    "circles_task",
    "class_colors",
    "export_dataset",
    "generate_batch",
    "redgreen_tensors",
    "uint8_to_float",
]
