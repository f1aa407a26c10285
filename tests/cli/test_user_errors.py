"""Every mistake a user makes on the command line, across the seven commands: exit status 2, one
line on stderr that names the offending path or value and what is wrong, no traceback, and not a
byte written anywhere (every file of the sandbox is hashed before and after).

What each kind of case really exercises:

- ``{denied}`` (a folder of mode 0o555) and ``{secret}`` (a file of mode 0o000): the kernel's own
  permission check. Tests run as root here, and root ignores modes, so these cases run with the
  effective uid and gid of ``nobody`` (``os.seteuid``) for the duration of the call; as another
  user the modes alone deny.
- ``/proc/...`` and ``/sys/...``: real paths on special file systems where nothing can be created
  (``ENOENT`` and ``EACCES`` even for root).
- Read-only mounts and a full disk need a mount: ``test_mounts.py`` runs them in a private mount
  namespace (and, without one, at the OS boundary with monkeypatched calls).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from coordbias.cli.main import main

TINY = {
    "--width": "4",
    "--image-size": "32",
    "--train-size": "8",
    "--val-size": "4",
    "--batch-size": "4",
    "--epochs": "2",
    "--optimizer": "adam",
    "--lr": "0.01",
    "--accelerator": "cpu",
}
NOBODY = 65534


def tiny(**changes: str) -> list[str]:
    """The tiny run's flags with some changed: ``tiny(lr="0.1")``."""
    flags = dict(TINY)
    flags.update({f"--{k.replace('_', '-')}": v for k, v in changes.items()})
    return [*(x for pair in flags.items() for x in pair), "--no-progress"]


GEN = ["--size", "32", "--train", "2", "--val", "1", "--no-progress"]
BENCH_DATA = ["--min-run-time", "0.01", "--image-size", "16", "--width", "2", "--batch-size", "1"]
BENCH_DATA += ["--sample-size", "16", "--gen-batch", "2", "--threads", "1"]
BENCH_TRAIN = ["--no-original", "--image-size", "16", "--width", "2", "--batch-size", "1"]
BENCH_TRAIN += ["--steps", "1", "--warmup", "0", "--threads", "1"]


@dataclass(frozen=True)
class Case:
    """One mistake: the command line and the texts its error line must hold ({name}: a path)."""

    name: str
    argv: list[str]
    needles: list[str]
    nobody: bool = False
    absent: tuple[str, ...] = ()  # texts the line must not hold (a misleading ending)


def out_cases(label: str, argv: list[str], name: str, *kinds: str) -> list[Case]:
    """The ``--out`` mistakes of one command, ``kinds`` of them: ``name`` is what it would write."""
    targets = {
        "is a file": ("{file}", ["{file}", "is a file"]),
        "is a folder": ("{folder}", ["{folder}", "is a folder"]),
        "under a file": (f"{{file}}/{name}", ["{file}", "is a file"]),
        "not writable": (f"{{denied}}/{name}", [f"{{denied}}/{name}", "permission denied"]),
    }
    return [
        Case(
            f"{label}: --out {kind}",
            [*argv, "--out", targets[kind][0]],
            targets[kind][1],
            nobody=kind == "not writable",
        )
        for kind in kinds
    ]


def resume_case(name: str, needles: list[str], *, out="{run}", data=None, **changes) -> Case:
    """``train --resume`` into the run ``out`` with the tiny run's flags but ``changes``."""
    data_flags = ["--data", data] if data else []
    return Case(name, ["train", *tiny(**changes), *data_flags, "--out", out, "--resume"], needles)


def bad_data_case(name: str, data: str, needles: list[str]) -> Case:
    """``train`` the tiny run on the broken data folder ``data``."""
    return Case(name, ["train", *tiny(), "--data", data, "--out", "{new}"], needles)


CASES = [
    # data generate
    *out_cases("generate", ["data", "generate", *GEN], "data", "under a file", "not writable"),
    Case(
        "generate: --out on /proc",
        ["data", "generate", "--out", "/proc/coordbias-x", *GEN],
        ["/proc/coordbias-x", "takes no new files"],
    ),
    # data show
    *out_cases(
        "show",
        ["data", "show", "--size", "32"],
        "g.png",
        "is a folder",
        "under a file",
        "not writable",
    ),
    Case(
        "show: --out x.txt",
        ["data", "show", "--out", "{new}.txt", "--size", "32"],
        ["{new}.txt", "does not end in .png"],
    ),
    Case(
        "show: --out on /proc",
        ["data", "show", "--out", "/proc/g.png", "--size", "32"],
        ["/proc/g.png", "takes no new files"],
    ),
    # train: destinations and config files
    *out_cases("train", ["train", *tiny()], "run", "is a file", "under a file", "not writable"),
    Case(
        "train: --out on /sys",
        ["train", *tiny(), "--out", "/sys/coordbias-run"],
        ["/sys/coordbias-run", "cannot be written"],
    ),
    Case(
        "train: --config is a folder",
        ["train", "--config", "{folder}", "--out", "{new}"],
        ["{folder}", "is a folder"],
    ),
    Case(
        "train: --config is binary",
        ["train", "--config", "{binary}", "--out", "{new}"],
        ["{binary}", "not a text file"],
    ),
    Case(
        "train: --config unreadable",
        ["train", "--config", "{secret}", "--out", "{new}"],
        ["{secret}", "permission denied"],
        nobody=True,
    ),
    # train: numbers a setting cannot hold (the one checker, coordbias._util.numbers)
    Case(
        "train: --lr inf",
        ["train", *tiny(lr="inf"), "--out", "{new}"],
        ["lr=inf is not accepted", "a finite number > 0"],
    ),
    Case(
        "train: --momentum nan",
        ["train", *tiny(momentum="nan"), "--out", "{new}"],
        ["momentum=nan is not accepted", "a finite number in [0, 1)"],
    ),
    Case(
        "train: --weight-decay inf",
        ["train", *tiny(weight_decay="inf"), "--out", "{new}"],
        ["weight_decay=inf is not accepted", "a finite number >= 0"],
    ),
    Case(
        "train: --precision 16-mixed on the CPU",
        ["train", *tiny(precision="16-mixed"), "--out", "{new}"],
        ["precision='16-mixed' needs a GPU", "accepted on the CPU: 32-true"],
    ),
    # train: bad data folders
    bad_data_case(
        "train: a text file named .png",
        "{textpng}",
        ["{textpng}/train/images/000000.png", "cannot be read"],
    ),
    bad_data_case(
        "train: an empty .png",
        "{emptypng}",
        ["{emptypng}/train/images/000001.png", "cannot be read"],
    ),
    bad_data_case(
        "train: a truncated .png",
        "{truncpng}",
        ["{truncpng}/train/images/000000.png", "cannot be read"],
    ),
    bad_data_case(
        "train: a text file as mask",
        "{textmask}",
        ["{textmask}/val/masks/000000.png", "cannot be read"],
    ),
    bad_data_case(
        "train: a partial export", "{partial}", ["{partial}", "metadata.json", "--own-data"]
    ),
    bad_data_case(
        "train: an export missing pairs",
        "{miscount}",
        ["{miscount}", "train holds 1 image/mask pairs", "records 2"],
    ),
    # train: devices
    Case(
        "train: --accelerator cuda without CUDA",
        ["train", *tiny(accelerator="cuda"), "--out", "{new}"],
        ["accelerator='cuda'", "not available"],
    ),
    Case(
        "train: --accelerator mps without MPS",
        ["train", *tiny(accelerator="mps"), "--out", "{new}"],
        ["accelerator='mps'", "not available"],
    ),
    Case(
        "train: --devices 0,1 on the CPU",
        ["train", *tiny(devices="0,1"), "--out", "{new}"],
        ["devices='0,1'", "Lightning cannot run"],
    ),
    # train --resume on a finished Adam run with other settings
    resume_case(
        "resume: another optimizer",
        ["optimizer='adam' on disk", "'sgd' asked for"],
        optimizer="sgd",
    ),
    resume_case("resume: another learning rate", ["lr=0.01 on disk", "0.1 asked for"], lr="0.1"),
    resume_case("resume: another data seed", ["data_seed=0 on disk", "5 asked for"], data_seed="5"),
    resume_case(
        "resume: another batch size", ["batch_size=4 on disk", "2 asked for"], batch_size="2"
    ),
    resume_case("resume: another seed", ["seed=0 on disk", "3 asked for"], seed="3"),
    resume_case(
        "resume: sgd, lr and more epochs",
        ["optimizer='adam' on disk", "lr=0.01 on disk"],
        optimizer="sgd",
        lr="0.1",
        epochs="3",
    ),
    resume_case("resume: fewer epochs", ["epochs=2 on disk", "1 asked for"], epochs="1"),
    resume_case(
        "resume: another precision",
        ["precision='32-true' on disk", "'64-true' asked for"],
        precision="64-true",
    ),
    resume_case(
        "resume: another weight decay",
        ["weight_decay=0.0 on disk", "0.1 asked for"],
        weight_decay="0.1",
    ),
    resume_case(
        "resume: another image size", ["image_size=32 on disk", "64 asked for"], image_size="64"
    ),
    resume_case("resume: another data set", ["data_dir=None on disk", "{export}"], data="{export}"),
    resume_case(
        "resume mid-run: another learning rate",
        ["lr=0.01 on disk", "0.1 asked for"],
        out="{unfinished}",
        lr="0.1",
    ),
    # evaluate
    Case(
        "evaluate: --device tpu",
        ["evaluate", "{run}", "--device", "tpu", "--out", "{new}.json"],
        ["'tpu'", "accepted: auto, cpu"],
    ),
    Case(
        "evaluate: --device cuda without CUDA",
        ["evaluate", "{run}", "--device", "cuda", "--out", "{new}.json"],
        ["'cuda'", "not available"],
    ),
    *out_cases(
        "evaluate", ["evaluate", "{run}"], "e.json", "is a folder", "under a file", "not writable"
    ),
    Case(
        "evaluate: run folder not writable",
        ["evaluate", "{rorun}"],
        ["{rorun}/evaluate_val.json", "permission denied"],
        nobody=True,
    ),
    Case(
        "evaluate: model.pt unreadable",
        ["evaluate", "{secretrun}"],
        ["{secretrun}/model.pt", "permission denied"],
        nobody=True,
        absent=("corrupt",),
    ),
    Case(
        "evaluate: a partial export",
        ["evaluate", "{run}", "--data", "{partial}", "--out", "{new}.json"],
        ["{partial}", "metadata.json"],
    ),
    Case(
        "evaluate: a text file named .png",
        ["evaluate", "{run}", "--data", "{textpng}", "--split", "train", "--out", "{new}.json"],
        ["{textpng}/train/images/000000.png", "cannot be read"],
    ),
    # predict
    Case(
        "predict: x.png and x.jpg",
        ["predict", "{run}", "{imgs}/a/x.png", "{imgs}/a/x.jpg", "--out", "{new}"],
        ["{imgs}/a/x.png", "{imgs}/a/x.jpg", "would both write"],
    ),
    Case(
        "predict: one image twice",
        ["predict", "{run}", "{imgs}/a/x.png", "{imgs}/a/x.png", "--out", "{new}"],
        ["{imgs}/a/x.png", "is given twice"],
    ),
    Case(
        "predict: a mask over an input",
        ["predict", "{run}", "{imgs}/a/x.png", "{imgs}/a/x.mask.png", "--out", "{imgs}/a"],
        ["would overwrite the image", "x.mask.png"],
    ),
    *out_cases("predict", ["predict", "{run}", "{imgs}/a/x.png"], "m", "is a file", "not writable"),
    Case(
        "predict: an image is a folder",
        ["predict", "{run}", "{folder}", "--out", "{new}"],
        ["{folder}", "is a folder"],
    ),
    Case(
        "predict: --device tpu",
        ["predict", "{run}", "{imgs}/a/x.png", "--out", "{new}", "--device", "tpu"],
        ["'tpu'", "accepted: auto, cpu"],
    ),
    Case(
        "predict: --device cuda:3",
        ["predict", "{run}", "{imgs}/a/x.png", "--out", "{new}", "--device", "cuda:3"],
        ["'cuda:3'", "not available"],
    ),
    # study
    *out_cases(
        "study", ["study", "--preset", "test", "--experiments"], "s", "is a file", "not writable"
    ),
    Case(
        "study: --dry-run, --out is a file",
        ["study", "--preset", "test", "--out", "{file}", "--dry-run", "--no-probe"],
        ["{file}", "is a file"],
    ),
    Case(
        "study: --accelerator cuda without CUDA",
        ["study", "--preset", "test", "--out", "{new}", "--experiments", "--accelerator", "cuda"],
        ["accelerator='cuda'", "not available"],
    ),
    Case(
        "study: resumed with another precision",
        [
            "study",
            "--preset",
            "test",
            "--out",
            "{study}",
            "--experiments",
            "--precision",
            "64-true",
        ],
        ["precision='32-true' on disk"],
    ),
    # bench
    *out_cases("speed layers", ["speed", "layers", "--quick"], "b", "not writable", "is a file"),
    Case(
        "speed layers: --device tpu",
        ["speed", "layers", "--quick", "--device", "tpu", "--out", "{new}"],
        ["'tpu'", "accepted: auto, cpu"],
    ),
    Case(
        "speed layers: --device cuda without CUDA",
        ["speed", "layers", "--quick", "--device", "cuda", "--out", "{new}"],
        ["'cuda'", "not available"],
    ),
    *out_cases("speed data", ["speed", "data", *BENCH_DATA], "b", "is a file"),
    *out_cases("speed train", ["speed", "train", *BENCH_TRAIN], "b", "under a file"),
    Case(
        "speed train: --steps 0",
        ["speed", "train", *BENCH_TRAIN[:-6], "--steps", "0", "--out", "{new}"],
        ["--steps", "0"],
    ),
    Case(
        "study: --set lr=inf --dry-run",
        ["study", "--preset", "test", "--out", "{new}", "--set", "lr=inf", "--dry-run"],
        ["lr=inf", "finite number > 0"],
    ),
    Case(
        "study: --set momentum=nan --dry-run",
        ["study", "--preset", "test", "--out", "{new}", "--set", "momentum=nan", "--dry-run"],
        ["momentum=nan", "[0, 1)"],
    ),
]


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def template():
    """A world-readable sandbox (``nobody`` must read it): a finished tiny Adam run, the same
    run stopped after its first epoch, an export, broken copies of it, images, a study folder
    whose runs were planned at another precision, and the files and folders the cases misuse."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="coordbias-cli-"))
    os.chmod(root, 0o755)
    world = root / "world"
    try:
        world.mkdir()
        assert main(["train", *tiny(), "--out", str(world / "run")]) == 0
        unfinished = world / "unfinished"
        shutil.copytree(world / "run", unfinished)
        for name in ("result.json", "model.pt", "eval.json", "env.json"):
            (unfinished / name).unlink()
        (unfinished / "checkpoints" / "epoch=1.ckpt").unlink()
        shutil.copy(
            unfinished / "checkpoints" / "epoch=0.ckpt", unfinished / "checkpoints" / "last.ckpt"
        )
        assert main(["data", "generate", "--out", str(world / "export"), *GEN]) == 0
        for name in ("partial", "miscount", "textpng", "emptypng", "truncpng", "textmask"):
            shutil.copytree(world / "export", world / name)
        (world / "partial" / "metadata.json").unlink()
        for kind in ("images", "masks"):
            (world / "miscount" / "train" / kind / "000001.png").unlink()
        (world / "textpng" / "train" / "images" / "000000.png").write_text("not an image\n")
        (world / "emptypng" / "train" / "images" / "000001.png").write_bytes(b"")
        whole = (world / "truncpng" / "train" / "images" / "000000.png").read_bytes()
        (world / "truncpng" / "train" / "images" / "000000.png").write_bytes(
            whole[: len(whole) // 2]
        )
        (world / "textmask" / "val" / "masks" / "000000.png").write_text("label 1\n")
        rng = np.random.default_rng(0)
        picture = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        _png(world / "imgs" / "a" / "x.png", picture)
        _png(world / "imgs" / "a" / "x.mask.png", picture)
        Image.fromarray(picture).save(world / "imgs" / "a" / "x.jpg")
        (world / "file").write_text("a file\n")
        (world / "folder").mkdir()
        (world / "binary").write_bytes(bytes(range(256)) * 4)
        (world / "secret").write_text("width: 8\n")
        (world / "denied").mkdir()
        shutil.copytree(world / "run", world / "rorun")
        shutil.copytree(world / "run", world / "secretrun")
        from coordbias.study.runner import plan_study

        for run in plan_study("test", world / "study").runs:  # planned, never trained
            run.run_dir.mkdir(parents=True)
            run.config.to_yaml(run.run_dir / "config.yaml")
        yield root
    finally:
        torch.set_num_threads(threads)
        _remove(root)


def _remove(root: Path) -> None:
    for path in root.rglob("*"):
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    shutil.rmtree(root)


def _lock(world: Path) -> None:
    """The modes that deny ``nobody`` (set last: copytree keeps them, and root can copy)."""
    for path in world.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(world / "denied", 0o555)
    os.chmod(world / "rorun", 0o555)
    os.chmod(world / "secret", 0o000)
    os.chmod(world / "secretrun", 0o777)  # nobody may write its evaluate_val.json, not read
    os.chmod(world / "secretrun" / "model.pt", 0o000)


def _snapshot(world: Path) -> dict[str, str]:
    """Every path below ``world``: the hash of a file, "dir" for a folder."""
    state = {}
    for path in sorted(world.rglob("*")):
        if path.is_dir():
            state[str(path.relative_to(world))] = "dir"
        else:
            os.chmod(path, os.stat(path).st_mode | 0o400)  # root reads it anyway; a user must
            state[str(path.relative_to(world))] = hashlib.sha256(path.read_bytes()).hexdigest()
    os.chmod(world / "secret", 0o000)
    return state


@contextlib.contextmanager
def _as_nobody(wanted: bool):
    """Run with the effective ids of ``nobody`` when root (root ignores file modes)."""
    if not wanted or os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_there_are_forty_distinct_mistakes_across_the_seven_commands():
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names) >= 40
    commands = {
        " ".join(c.argv[:2]) if c.argv[0] in ("data", "speed") else c.argv[0] for c in CASES
    }
    assert {"data generate", "data show", "train", "evaluate", "predict", "study"} <= commands
    assert {c for c in commands if c.startswith("speed")} == {
        "speed layers",
        "speed data",
        "speed train",
    }


@pytest.fixture
def sandbox(template):
    """A fresh folder in the sandbox's world-readable root, removed afterwards."""
    path = Path(tempfile.mkdtemp(dir=template))
    os.chmod(path, 0o755)
    yield path
    _remove(path)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_mistake_is_one_line_exit_2_and_writes_nothing(case, template, sandbox, capsys):
    world = sandbox / "world"
    shutil.copytree(template / "world", world, symlinks=True)
    _lock(world)
    places = {p.name: str(p) for p in world.iterdir()}
    places["new"] = str(world / "new")
    argv = [arg.format(**places) for arg in case.argv]
    before = _snapshot(world)
    capsys.readouterr()
    with _as_nobody(case.nobody):
        code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"exit status {code}; stderr: {err[-2000:]}"
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    command = " ".join(argv[:2]) if argv[0] in ("data", "speed") else argv[0]
    assert lines[0].startswith(f"coordbias {command}: error: "), lines[0]
    for needle in case.needles:
        assert needle.format(**places) in lines[0], lines[0]
    for text in case.absent:
        assert text not in lines[0], lines[0]
    assert _snapshot(world) == before, "a refused command changed the sandbox"


def test_a_bug_still_shows_its_traceback(monkeypatch, tmp_path):
    """Not every exception is the user's: one raised deep in the work propagates unchanged."""

    def broken(*args, **kwargs):
        raise KeyError("momentum")

    monkeypatch.setattr("coordbias.data.show.generate_batch", broken)
    with pytest.raises(KeyError, match="momentum"):
        main(["data", "show", "--out", str(tmp_path / "g.png"), "--size", "32"])

    def also_broken(*args, **kwargs):
        raise ValueError("a bug in torch, not a bad option")

    monkeypatch.setattr("torch.utils.benchmark.Timer.blocked_autorange", also_broken)
    with pytest.raises(ValueError, match="a bug in torch"):
        main(["speed", "data", *BENCH_DATA, "--out", str(tmp_path / "b")])
    assert not (tmp_path / "b").exists()


def test_an_os_error_without_a_file_name_is_a_bug(monkeypatch, tmp_path):
    def failing(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("coordbias.data.show.generate_batch", failing)
    with pytest.raises(OSError, match="Input/output error"):
        main(["data", "show", "--out", str(tmp_path / "g.png"), "--size", "32"])


def test_the_run_in_the_sandbox_is_an_adam_run(template):
    """The resume cases above rely on it (and on nothing else about the sandbox)."""
    import yaml

    config = yaml.safe_load((template / "world" / "run" / "config.yaml").read_text())
    assert (config["optimizer"], config["lr"], config["epochs"]) == ("adam", 0.01, 2)
