"""The command line shell: every part registers its sub-commands, help and version work."""

import subprocess
import sys

import pytest

from coordbias import __version__
from coordbias.cli import speed as speed_cli
from coordbias.cli.main import build_parser, main


def _subcommands(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_every_top_level_command_is_registered():
    names = set(_subcommands(build_parser()))
    assert {"study", "benchmark", "data", "train", "evaluate", "predict", "speed"} <= names


def test_every_speed_measurement_is_registered():
    speed = _subcommands(build_parser())["speed"]
    assert set(_subcommands(speed)) == set(speed_cli.SPEED_TESTS)


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: coordbias" in capsys.readouterr().out


def test_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "coordbias", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "speed" in done.stdout


def test_a_bad_speed_option_is_one_clear_line(capsys):
    assert main(["speed", "layers", "--threads", "0", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coordbias speed layers: error:") and "threads" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", list(speed_cli.SPEED_TESTS))
def test_every_speed_measurement_keeps_freed_memory(monkeypatch, name):
    import coordbias._util.memory as memory

    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(name) or True)
    assert main(["speed", name, "--threads", "0"]) == 2  # refused by the measurement itself
    assert calls == [name]


def test_bench_is_a_deprecated_alias_of_speed(capsys):
    assert main(["bench", "layers", "--threads", "0", "--quick"]) == 2
    note, error = capsys.readouterr().err.splitlines()
    assert note == (
        "coordbias bench is deprecated and goes in the next release; use coordbias speed layers"
    )
    assert error.startswith("coordbias bench layers: error:") and "threads" in error
    assert main(["speed", "layers", "--threads", "0", "--quick"]) == 2
    assert "deprecated" not in capsys.readouterr().err


def test_a_user_error_from_a_data_loader_worker_is_still_one_line(monkeypatch, tmp_path, capsys):
    """torch re-raises a worker's exception with the worker's traceback in its message."""
    import torch

    from coordbias._util.errors import UserValueError

    class Broken(torch.utils.data.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            raise UserValueError("image 'x.png' cannot be read as a PNG")

    def save_grid(*args, **kwargs):
        list(torch.utils.data.DataLoader(Broken(), num_workers=1))

    monkeypatch.setattr("coordbias.data.show.save_grid", save_grid)
    assert main(["data", "show", "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert err == "coordbias data show: error: image 'x.png' cannot be read as a PNG\n"


def _threads_option(argv):
    parser = build_parser()
    for word in argv:
        parser = _subcommands(parser)[word]
    return next(a for a in parser._actions if "--threads" in a.option_strings)


def test_every_threads_option_has_one_default_and_meaning():
    options = {
        " ".join(argv): _threads_option(argv)
        for argv in (["study"], ["benchmark"], *(["speed", name] for name in speed_cli.SPEED_TESTS))
    }
    assert {(o.default, o.type) for o in options.values()} == {(None, int)}
    # The same words: torch threads per task; with one job (speed runs one), torch's own.
    for option in options.values():
        assert option.help.startswith("torch threads per task (default: ")
        assert "torch's own" in option.help
