"""A run's metric logs, made to survive any number of kills: ``metrics.csv`` and TensorBoard.

Lightning's ``CSVLogger`` deletes an existing ``metrics.csv`` when it starts, so a run resumed
twice kept only what the last process logged. :class:`MetricsCSV` writes the same format (one row
per logging call: ``epoch``, ``step`` and the metrics, columns sorted, a new column rewriting the
header) but continues the file of a resumed run: it keeps the rows logged before the checkpoint
the run resumes from and drops the later ones, which the resumed run logs again. Lightning saves
the loggers after every logging call, so the file on disk always holds every row up to the last
checkpoint, whenever the process is killed. TensorBoard gets the same rule from its own
``purge_step``: events at or after the resumed step are hidden from the earlier event files.
"""

from __future__ import annotations

import csv
import errno
import importlib.util
import io
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from coordbias._util.files import write_text

METRICS_FILE = "metrics.csv"


def read_rows(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a ``metrics.csv`` (empty when the file is missing).

    A last line without its newline is a row whose append was cut short (a version of this
    logger that appended without :func:`append_whole`): it is left out.
    """
    path = Path(path)
    if not path.is_file():
        return [], []
    with path.open(newline="") as handle:
        text = handle.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def append_whole(path: str | os.PathLike, data: bytes) -> None:
    """Append ``data`` to the file ``path`` whole or not at all.

    One ``write`` call in append mode; when it fails or writes only part (a full disk), the file is
    cut back to its earlier length and the error raised, so a row is never left half-written.

    Raises:
        OSError: the write failed, naming ``path``; the file holds what it held before.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
        except OSError as error:
            os.ftruncate(fd, size)
            if error.filename is None:
                raise OSError(error.errno, error.strerror, os.fspath(path)) from error
            raise
    finally:
        os.close(fd)


class MetricsCSV(Logger):
    """``metrics.csv`` in ``run_dir``, continued across resumptions.

    Args:
        run_dir: the run folder.
        first_step: the optimizer step the run starts at: 0 for a fresh run (an earlier file is
            replaced), the checkpoint's ``global_step`` for a resumed one (earlier rows with a
            smaller ``step`` are kept). Nothing is read or written before the first row arrives.
    """

    def __init__(self, run_dir: str | os.PathLike, first_step: int = 0) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / METRICS_FILE
        self.first_step = first_step
        self._keys: list[str] = []
        self._pending: list[dict[str, Any]] = []
        self._started = False

    @property
    def name(self) -> str:
        return "csv"

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self.run_dir)

    @property
    def log_dir(self) -> str:
        return str(self.run_dir)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing: the run's settings are in its ``config.yaml``."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in metrics.items()}
        row["step"] = step
        self._pending.append(row)

    def _start(self) -> None:
        """Keep the earlier rows before ``first_step`` (rewritten atomically), drop the rest."""
        self._started = True
        header, rows = read_rows(self.path) if self.first_step > 0 else ([], [])
        kept = [r for r in rows if r.get("step") and int(float(r["step"])) < self.first_step]
        self._keys = sorted(set(header) | {k for r in kept for k in r if k is not None})
        self._write_all(kept)

    def _write_all(self, rows: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self._keys, extrasaction="ignore")
        if self._keys:
            writer.writeheader()
        writer.writerows(rows)
        write_text(self.path, buffer.getvalue())

    @rank_zero_only
    def save(self) -> None:
        if not self._pending:
            return
        if not self._started:
            self._start()
        new = sorted({k for r in self._pending for k in r} - set(self._keys))
        if new:  # a new column: rewrite the file with the wider header
            _, rows = read_rows(self.path)
            self._keys = sorted([*self._keys, *new])
            self._write_all([*rows, *self._pending])
        else:
            buffer = io.StringIO()
            csv.DictWriter(buffer, fieldnames=self._keys).writerows(self._pending)
            append_whole(self.path, buffer.getvalue().encode("utf-8"))
        self._pending = []

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def run_loggers(run_dir: str | os.PathLike, first_step: int = 0) -> list[Logger]:
    """The loggers of a run: :class:`MetricsCSV`, and TensorBoard in ``run_dir/tensorboard``
    when it is installed (events from ``first_step`` on in earlier files are purged)."""
    loggers: list[Logger] = [MetricsCSV(run_dir, first_step)]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(
            TensorBoardLogger(
                save_dir=str(run_dir),
                name="tensorboard",
                version="",
                purge_step=first_step,
                default_hp_metric=False,  # its placeholder would be logged once per process
            )
        )
    return loggers
