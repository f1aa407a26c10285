"""The one atomic file writer of the project.

Every file coordbias writes goes through :func:`write_bytes` (or :func:`write_text` /
:func:`write_json` on top of it): the bytes go to a new temporary file in the target's own folder,
are flushed to disk (``fsync``), and the temporary file is moved over the target with
:func:`os.replace`, so a reader sees either the old file or the new one, never a half-written one,
and a crash never leaves a truncated file under a final name. The temporary file is created with
mode ``0o666`` and the process umask applied by the kernel, so the result has the usual
permissions (``0o644`` under the common umask ``022``) without reading or changing the umask.

For bulk output that is written before a commit marker (the PNGs of a data set export, before its
``metadata.json``), ``durable=False`` skips the per-file ``fsync``; the caller then calls
:func:`sync` once before it writes the marker durably.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from coordbias._util.errors import UserValueError

__all__ = ["read_json", "sync", "write_bytes", "write_json", "write_text"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _open_temporary(path: Path) -> tuple[int, Path]:
    """Create a new, empty temporary file next to ``path``; return its descriptor and path."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:  # pragma: no cover - a 32-bit random collision
            continue


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folders.

    Args:
        path: the target file; an existing file is replaced.
        data: the bytes.
        durable: ``fsync`` the file before the rename and the folder after it (default). ``False``
            skips both, for bulk output that a later :func:`sync` makes durable.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: the write failed; the temporary file is gone and the target untouched. An error
            that names no file (a full disk, from ``write`` or ``fsync``) is raised again with the
            target's name, so that the message says which file could not be written.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_bytes(folder / "a" / "b.bin", b"xyz").read_bytes()
        b'xyz'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if error.filename is None and error.errno is not None:  # a full disk says no file name
            raise type(error)(error.errno, error.strerror, str(path)) from error
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_folder(path.parent)
    return path


def write_text(path: str | os.PathLike[str], text: str, *, durable: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes`."""
    return write_bytes(path, text.encode("utf-8"), durable=durable)


def _jsonable(value: Any) -> Any:
    """JSON form of the few non-JSON types results carry (paths, numpy scalars and arrays)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def write_json(path: str | os.PathLike[str], data: Any, *, durable: bool = True) -> Path:
    """Write ``data`` as indented JSON (and a final newline) to ``path`` atomically.

    Paths, numpy scalars and arrays (anything with ``tolist``) are converted; any other
    non-JSON value raises ``TypeError`` before the target is touched.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "r.json"
        >>> print(write_json(target, {"a": 1}).read_text(), end="")
        {
          "a": 1
        }
    """
    return write_text(path, json.dumps(data, indent=2, default=_jsonable) + "\n", durable=durable)


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in ``path``, or one ``UserValueError`` that names the file as damaged.

    For the bookkeeping files coordbias writes and reads back (a run's ``result.json``, a
    study's records): a file cut short, empty, or not UTF-8 JSON is damaged, and the caller
    decides what to redo. The caller checks the value's shape (a mapping, its entries).

    Raises:
        UserValueError: ``'PATH' is damaged (what the parser says)``.
        OSError: the file cannot be opened (missing, permission): not damage.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "cut.json"
        >>> _ = target.write_text('{"a": ')
        >>> try:
        ...     read_json(target)
        ... except ValueError as error:
        ...     print(str(error).split("' ")[1])
        is damaged (Expecting value: line 1 column 7 (char 6))
    """
    raw = Path(path).read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        detail = " ".join(str(error).split())
        raise UserValueError(f"{str(path)!r} is damaged ({detail})") from None


def sync() -> None:
    """Flush every file written so far to disk (after bulk ``durable=False`` writes)."""
    if hasattr(os, "sync"):
        os.sync()
