"""Mistakes a user can make, told apart from bugs; and the early checks of paths (stdlib only).

The command line (``coordbias.cli.main``) is the one error boundary: it prints a
:class:`UserError` as one line and exits with status 2, and it does the same for an operating-system
error that names its file and that a user causes (:func:`describe_os_error`: missing, exists, is a
folder, not a folder, permission, read-only, disk full). Every other exception is a bug and keeps
its traceback.

Each ``User*`` class also derives from the built-in exception that Python callers of the library
expect (``ValueError``, ``FileNotFoundError``, ...), so raising one changes nothing for them.

The ``check_*`` functions run before a command starts its work, so that a training run or a
benchmark does not run for minutes and then fail on the write. They leave nothing behind: a
destination's folders are not created, and the writability probe (a file created and removed
again in the nearest existing folder) is needed because ``os.access`` says yes to root everywhere
and knows nothing of read-only mounts or of file systems such as ``/proc`` and ``/sys``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "UserError",
    "UserFileExistsError",
    "UserFileNotFoundError",
    "UserNotADirectoryError",
    "UserTypeError",
    "UserValueError",
    "check_count",
    "check_file_destination",
    "check_folder_destination",
    "check_readable_file",
    "describe_os_error",
    "user_input",
]


class UserError(Exception):
    """A mistake the user can fix; its message is one line naming the value or path and what is
    accepted. The command line prints it and exits with status 2."""


class UserValueError(UserError, ValueError):
    """A bad value or a bad file content."""


class UserTypeError(UserError, TypeError):
    """A value of the wrong type (in a config file)."""


class UserFileNotFoundError(UserError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class UserFileExistsError(UserError, FileExistsError):
    """A destination already holds something that must not be overwritten."""


class UserNotADirectoryError(UserError, NotADirectoryError):
    """A folder was expected and a file is there."""


#: What each operating-system error a user can cause means, in the words of the message.
_ERRNO_TEXT = {
    errno.ENOENT: "does not exist",
    errno.EEXIST: "already exists",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "has a file where a folder is expected",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "is on a read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EFBIG: "the file is too large for the file system",
}
#: Errors that are the user's (or the machine's) to fix even when no file name comes with them.
_WITHOUT_NAME = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def check_count(name: str, value: object) -> None:
    """Refuse ``value`` unless it is ``None`` or an int >= 1 (a count of jobs, threads...).

    Raises:
        UserValueError: naming ``name`` and the value.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserValueError(f"{name} must be a positive int; got {value!r}")


def describe_os_error(error: OSError) -> str | None:
    """One line for an ``OSError`` a user causes, or ``None`` for any other (a bug: re-raise it).

    An error counts as the user's when its ``errno`` is one of the file-system mistakes above and
    it names its file (disk full, quota and read-only count without a name too). One without
    ``errno`` (Pillow's "image file is truncated", for one) is not: where coordbias expects it,
    it raises a ``UserError`` that names the file instead.

    Example:
        >>> describe_os_error(PermissionError(13, "Permission denied", "/etc/x"))
        "'/etc/x': permission denied"
        >>> describe_os_error(OSError(5, "Input/output error")) is None
        True
    """
    text = _ERRNO_TEXT.get(error.errno) if error.errno is not None else None
    if text is None:
        return None
    if error.filename is None:
        return text if error.errno in _WITHOUT_NAME else None
    target = os.fsdecode(error.filename)
    if error.filename2 is not None:
        target += f" -> {os.fsdecode(error.filename2)}"
    return f"{target!r}: {text}"


@contextlib.contextmanager
def user_input(what: str = "") -> Iterator[None]:
    """Treat a ``ValueError`` / ``TypeError`` raised inside as a mistake in the user's input.

    For the validation of command-line arguments (building and checking a config), where every
    such error is a message about a value the user gave; not for the work itself.
    """
    prefix = f"{what}: " if what else ""
    try:
        yield
    except UserError as error:
        if not prefix:
            raise
        raise type(error)(f"{prefix}{error}") from error
    except TypeError as error:
        raise UserTypeError(f"{prefix}{error}") from error
    except ValueError as error:
        raise UserValueError(f"{prefix}{error}") from error


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (``lstat`` succeeds)."""
    current = path
    while True:
        try:
            current.lstat()
            return current
        except FileNotFoundError:
            if current.parent == current:
                return current
            current = current.parent
        except NotADirectoryError:
            current = current.parent


def _named(what: str, target: Path) -> str:
    """``--out 'x'`` for a flag, ``out_dir='x'`` for a field or argument."""
    return f"{what} {str(target)!r}" if what.startswith("-") else f"{what}={str(target)!r}"


def _probe(folder: Path, what: str, target: Path) -> None:
    """Create and remove a file in ``folder``; raise ``UserValueError`` when that fails."""
    probe = folder / f".coordbias-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno == errno.ENOENT:  # the folder is there: its file system takes no files
            reason = "its file system takes no new files"
        else:
            reason = _ERRNO_TEXT.get(error.errno, error.strerror or type(error).__name__)
        where = "" if folder == target else f" (in {str(folder)!r})"
        raise UserValueError(
            f"{_named(what, target)} cannot be written{where}: {reason}; choose a folder you "
            "can write to"
        ) from None
    os.close(fd)
    os.unlink(probe)
    stats = os.statvfs(folder) if hasattr(os, "statvfs") else None
    if stats is not None and stats.f_bavail == 0 and stats.f_blocks > 0:
        raise UserValueError(
            f"{_named(what, target)} cannot be written: no space left on the device that holds "
            f"{str(folder)!r}; free some space or choose another folder"
        )


def check_folder_destination(path: str | os.PathLike[str], what: str = "--out") -> Path:
    """Check that ``path`` is, or can be created as, a folder this process can write into.

    Nothing is created: a missing folder is checked through its nearest existing ancestor.

    Args:
        path: the destination folder.
        what: how the user named it (``--out``, ``out_dir``), for the message.

    Raises:
        UserNotADirectoryError: ``path``, or one of its ancestors, is a file.
        UserValueError: the folder cannot be written (permission, read-only, disk full, ...).
    """
    target = Path(path)
    existing = _nearest_existing(target)
    if not existing.is_dir():
        if existing == target:
            raise UserNotADirectoryError(
                f"{_named(what, target)} is a file; expected a folder (a missing one is created)"
            )
        raise UserNotADirectoryError(
            f"{_named(what, target)} cannot be created: {str(existing)!r} is a file, not a folder"
        )
    _probe(existing, what, target)
    return target


def check_file_destination(path: str | os.PathLike[str], what: str = "--out") -> Path:
    """Check that the file ``path`` can be written (atomically, so its folder must be writable).

    Raises:
        UserValueError: ``path`` is a folder, or its folder cannot be written.
        UserNotADirectoryError: a part of the folder path is a file.
    """
    target = Path(path)
    if target.is_dir():
        raise UserValueError(f"{_named(what, target)} is a folder; expected the path of a file")
    parent = target.parent
    existing = _nearest_existing(parent)
    if not existing.is_dir():
        raise UserNotADirectoryError(
            f"{_named(what, target)} cannot be written: {str(existing)!r} is a file, not a folder"
        )
    _probe(existing, what, target)
    return target


def check_readable_file(path: str | os.PathLike[str], what: str) -> Path:
    """Check that ``path`` is a file this process can read (its first byte, really).

    Raises:
        UserFileNotFoundError: nothing is there.
        UserValueError: a folder is there, or the file cannot be read.
    """
    target = Path(path)
    if target.is_dir():
        raise UserValueError(f"{what} {str(target)!r} is a folder; expected a file")
    if not target.exists():
        raise UserFileNotFoundError(f"{what} {str(target)!r} does not exist")
    try:
        with open(target, "rb") as handle:
            handle.read(1)
    except OSError as error:
        reason = _ERRNO_TEXT.get(error.errno, error.strerror or type(error).__name__)
        raise UserValueError(f"{what} {str(target)!r} cannot be read: {reason}") from None
    return target
