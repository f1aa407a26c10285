"""User errors told apart from bugs, and the early checks of destinations and sources."""

import errno
import os

import pytest

from coordbias._util import errors
from coordbias._util.errors import (
    UserError,
    UserNotADirectoryError,
    UserTypeError,
    UserValueError,
    check_file_destination,
    check_folder_destination,
    check_readable_file,
    describe_os_error,
    user_input,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory", "a/b"), "'a/b': does not exist"),
        (IsADirectoryError(21, "Is a directory", "d"), "'d': is a folder, not a file"),
        (NotADirectoryError(20, "Not a directory", "f/x"), "'f/x': has a file where a folder"),
        (PermissionError(13, "Permission denied", "/r"), "'/r': permission denied"),
        (OSError(errno.EROFS, "Read-only file system", "/m/x"), "'/m/x': is on a read-only"),
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
        (OSError(errno.EXDEV, "Invalid cross-device link", "a", "b"), None),
        (OSError(errno.EIO, "Input/output error", "/dev/sda"), None),
        (PermissionError(13, "Permission denied"), None),  # no file named: not the user's to fix
        (OSError("image file is truncated"), None),  # no errno: raised by a library, unnamed
    ],
)
def test_describe_os_error(error, expected):
    text = describe_os_error(error)
    if expected is None:
        assert text is None
    else:
        assert text is not None and text.startswith(expected), text


def test_user_errors_are_also_the_builtin_errors_callers_catch():
    assert issubclass(UserValueError, ValueError) and issubclass(UserValueError, UserError)
    assert issubclass(UserTypeError, TypeError)
    assert issubclass(UserNotADirectoryError, NotADirectoryError)
    assert issubclass(errors.UserFileNotFoundError, FileNotFoundError)
    assert issubclass(errors.UserFileExistsError, FileExistsError)


def test_user_input_turns_validation_errors_into_user_errors():
    with pytest.raises(UserValueError, match="width: bad") as info, user_input("width"):
        raise ValueError("bad")
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(UserTypeError), user_input():
        raise TypeError("wrong type")
    with pytest.raises(KeyError), user_input():  # anything else is a bug
        raise KeyError("x")


def test_a_missing_folder_passes_and_nothing_is_created(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert check_folder_destination(target) == target
    assert list(tmp_path.iterdir()) == []  # neither the folders nor a probe file are left


def test_a_file_or_a_file_in_the_path_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserNotADirectoryError, match=r"--out '.*f' is a file; expected a folder"):
        check_folder_destination(tmp_path / "f")
    with pytest.raises(UserNotADirectoryError, match=r"'.*f' is a file, not a folder"):
        check_folder_destination(tmp_path / "f" / "sub" / "x", "out_dir")
    with pytest.raises(UserValueError, match=r"out=.* is a folder; expected the path of a file"):
        check_file_destination(tmp_path, "out")
    with pytest.raises(UserNotADirectoryError, match=r"'.*f' is a file, not a folder"):
        check_file_destination(tmp_path / "f" / "x.json")


def test_special_file_systems_are_probed_not_trusted():
    """os.access says yes to root everywhere; creating a file is the real test."""
    with pytest.raises(UserValueError, match=r"'/proc/x' cannot be written .*takes no new files"):
        check_folder_destination("/proc/x")
    if os.path.isdir("/sys"):
        with pytest.raises(UserValueError, match=r"'/sys/x/y' cannot be written \(in '/sys'\)"):
            check_file_destination("/sys/x/y")


def test_read_only_and_full_file_systems_at_the_os_boundary(tmp_path, monkeypatch):
    """Simulated here (the kernel's own EROFS and ENOSPC are in tests/cli/test_mounts.py)."""
    real_open = os.open

    def read_only(path, flags, mode=0o777):
        if ".coordbias-probe-" in str(path):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(errors.os, "open", read_only)
    with pytest.raises(UserValueError, match="is on a read-only file system"):
        check_folder_destination(tmp_path / "x")
    monkeypatch.setattr(errors.os, "open", real_open)

    full = os.statvfs(tmp_path)

    class Full:
        f_bavail, f_blocks = 0, full.f_blocks

    monkeypatch.setattr(errors.os, "statvfs", lambda path: Full)
    with pytest.raises(UserValueError, match="no space left on the device"):
        check_file_destination(tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_readable_file(tmp_path):
    (tmp_path / "c.yaml").write_text("a: 1\n")
    assert check_readable_file(tmp_path / "c.yaml", "config file") == tmp_path / "c.yaml"
    with pytest.raises(errors.UserFileNotFoundError, match=r"config file .* does not exist"):
        check_readable_file(tmp_path / "missing.yaml", "config file")
    with pytest.raises(UserValueError, match="is a folder; expected a file"):
        check_readable_file(tmp_path, "config file")
