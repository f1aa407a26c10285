"""``TrainConfig``: the single source of a training run's settings, and its YAML round trip.

Each field carries its help text (and, for a few, extra command-line spellings) in its dataclass
metadata, so that ``coordbias train`` builds one flag per field from the class itself.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordbias._names import CONV_KINDS, CONV_SCOPES, COORD_INITS, COORDS, PADDING_MODES
from coordbias._util.errors import (
    UserFileNotFoundError,
    UserValueError,
    check_readable_file,
    user_input,
)
from coordbias._util.files import write_text
from coordbias._util.numbers import check_number

# The accepted names come from their one list: coordbias._names (read without torch, so that
# ``coordbias train --help`` builds its flags at once) for the conv kinds, scopes, padding modes,
# coords and coord_init; the model registry (read when a config is validated) for the models.
CONVS = tuple(CONV_KINDS)
OPTIMIZERS = ("sgd", "adam", "adamw")
PRECISIONS = ("32-true", "32", "64-true", "64", "16-mixed", "bf16-mixed", "16-true", "bf16-true")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
#: What each numeric field can hold (the bounds of ``coordbias._util.numbers.check_number``):
#: counts are integers, the optimisation's numbers finite, with the sign and range they need.
NUMERIC_FIELDS: dict[str, dict[str, Any]] = {
    "num_classes": {"integer": True, "minimum": 2},
    "width": {"integer": True, "minimum": 1},
    "image_size": {"integer": True, "minimum": 8},
    "train_size": {"integer": True, "minimum": 1},
    "val_size": {"integer": True, "minimum": 1},
    "data_seed": {"integer": True, "minimum": 0},
    "lr": {"above": 0},
    "momentum": {"minimum": 0, "below": 1},
    "weight_decay": {"minimum": 0},
    "batch_size": {"integer": True, "minimum": 1},
    "epochs": {"integer": True, "minimum": 1},
    "seed": {"integer": True, "minimum": 0},
    "num_nodes": {"integer": True, "minimum": 1},
    "workers": {"integer": True, "minimum": 0},
}


def _models() -> tuple[str, ...]:
    """The models of the registry (it imports torch, so it is read when a config is checked)."""
    from coordbias.models import list_models

    return tuple(list_models())


def __getattr__(name: str) -> Any:
    # ``MODELS``: the registry's names when asked (a model registered later counts too).
    if name == "MODELS":
        return _models()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _f(default: Any, help: str, *flags: str) -> Any:
    """A dataclass field with its help text and extra command-line spellings in the metadata."""
    return field(default=default, metadata={"help": help, "flags": flags})


@dataclass
class TrainConfig:
    """Every setting of a training run; ``train(config)`` reads nothing else.

    Defaults are the original study's: the VGG-style FCN of width 64 on 128 px circles, SGD with
    lr 1e-3 and momentum 0.9, batch size 1, 2 epochs.

    Example:
        >>> config = TrainConfig(width=8, image_size=32, epochs=1)
        >>> config.validate()
        >>> TrainConfig.from_dict(config.to_dict()) == config
        True
    """

    # model (passed to coordbias.models.create_model)
    model: str = _f("fcn", "model architecture, passed to coordbias.models.create_model")
    num_classes: int = _f(
        4, "classes per pixel: 4 for the circles data set; set it for your own --data folder"
    )
    width: int = _f(64, "channels of the first encoder block (the original: 64)")
    conv: str = _f("vanilla", "convolution: " + " | ".join(CONVS))
    conv_scope: str = _f("encoder", "where the chosen convolution replaces nn.Conv2d: encoder|all")
    batch_norm: bool = _f(False, "batch norm after each encoder convolution")
    padding_mode: str = _f("zeros", "padding of the 3 x 3 convolutions: zeros|reflect|circular")
    coords: str = _f("center", "coordinate grid of CoordBias layers: center | output")
    coord_init: str = _f("uniform", "initial coordinate weights of CoordBias layers: uniform|zeros")
    # data
    image_size: int = _f(128, "side of the generated square images in pixels (divisible by 8)")
    train_size: int = _f(5000, "number of generated training images")
    val_size: int = _f(2500, "number of generated validation images")
    data_seed: int = _f(0, "seed of the generated data set (independent of --seed)")
    data_dir: str | None = _f(
        None,
        "read images and masks from DIR/{train,val}/{images,masks}/*.png instead of generating "
        "them (an exported data set or your own); --image-size, --train-size and --val-size "
        "are then ignored",
        "--data",
    )
    own_data: bool = _f(
        False,
        "the --data folder is your own image/mask folder, not a coordbias export: use it "
        "without the export's metadata.json (an export killed partway has none, and is refused)",
    )
    # optimisation
    optimizer: str = _f("sgd", "optimizer: sgd | adam | adamw")
    lr: float = _f(1e-3, "learning rate")
    momentum: float = _f(0.9, "SGD momentum (ignored by adam and adamw)")
    weight_decay: float = _f(0.0, "weight decay (decoupled for adamw)")
    batch_size: int = _f(1, "images per batch and per process")
    epochs: int = _f(2, "number of passes over the training set")
    seed: int = _f(0, "seed of the weights' initialisation and of the shuffling order")
    # runtime
    precision: str = _f(
        "32-true", "Lightning precision: " + " | ".join(PRECISIONS) + " (16-mixed: GPU only)"
    )
    accelerator: str = _f("auto", "auto|cpu|gpu|cuda|mps (auto picks a GPU or MPS if present)")
    devices: str = _f("auto", "devices per node: auto, a count (2) or a list of indices (0,1)")
    num_nodes: int = _f(1, "number of nodes for multi-node DDP")
    strategy: str = _f("auto", "Lightning strategy: auto | ddp | ddp_spawn | ...")
    workers: int = _f(0, "data loader worker processes (0: load in the main process)")
    out_dir: str = _f("runs/train", "the run folder (config, metrics, checkpoints...)", "--out")
    resume: bool = _f(False, "continue the run in --out-dir from checkpoints/last.ckpt")
    progress: bool = _f(True, "show a progress bar")

    def validate(self, *, paths: bool = True) -> None:
        """Check every field; raise ``TypeError`` or ``ValueError`` naming the first bad one.

        Args:
            paths: also check that ``data_dir`` is a folder here. ``False`` for a config read back
                from a run or a checkpoint, whose data folder may live on another machine.
        """
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
        for name, accepted in (
            ("model", _models()),
            ("conv", CONVS),
            ("conv_scope", CONV_SCOPES),
            ("padding_mode", PADDING_MODES),
            ("coords", COORDS),
            ("coord_init", COORD_INITS),
            ("optimizer", OPTIMIZERS),
            ("precision", PRECISIONS),
            ("accelerator", ACCELERATORS),
        ):
            value = getattr(self, name)
            if value not in accepted:
                choices = ", ".join(accepted)
                raise ValueError(f"{name}={value!r} is not supported; accepted: {choices}")
        for name, limits in NUMERIC_FIELDS.items():
            check_number(name, getattr(self, name), **limits)
        if self.data_dir is None and self.num_classes != 4:
            raise ValueError(
                f"num_classes={self.num_classes!r} needs a --data folder: the generated circles "
                "data set has 4 classes"
            )
        if self.image_size % 8:
            raise ValueError(
                f"image_size={self.image_size!r} must be divisible by 8 (the FCN pools three times)"
            )
        parse_devices(self.devices)
        if not self.strategy:
            raise ValueError("strategy='' is empty; use 'auto', 'ddp', 'ddp_spawn', ...")
        if not self.out_dir:
            raise ValueError("out_dir='' is empty; give the folder of the run")
        if paths and self.data_dir is not None and not Path(self.data_dir).is_dir():
            raise ValueError(
                f"data_dir={self.data_dir!r} is not a folder; expected DIR/train and DIR/val "
                "each with images/ and masks/ (see `coordbias data generate`)"
            )

    def model_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``coordbias.models.create_model`` besides the name."""
        return {
            "num_classes": self.num_classes,
            "width": self.width,
            "conv": self.conv,
            "conv_scope": self.conv_scope,
            "batch_norm": self.batch_norm,
            "padding_mode": self.padding_mode,
            "coords": self.coords,
            "coord_init": self.coord_init,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (YAML, JSON and ``torch.load(weights_only=True)`` safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise ``ValueError`` listing the accepted ones."""
        if not isinstance(values, dict):
            raise TypeError(f"a TrainConfig needs a mapping of fields, got {type(values).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(
                f"unknown TrainConfig field(s) {', '.join(unknown)}; accepted: {', '.join(names)}"
            )
        return cls(**values)

    def to_yaml(self, path: str | os.PathLike | None = None) -> str:
        """The config as YAML text; written atomically to ``path`` when given."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            write_text(path, text)
        return text

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainConfig:
        """Read a YAML file of fields (a subset is fine; the rest keep their defaults)."""
        return cls.from_dict(_read_yaml_mapping(path))


def read_run_config(path: str | os.PathLike) -> TrainConfig:
    """The validated config a run folder's ``config.yaml`` records (never filled with defaults).

    A run's own ``config.yaml`` is written whole by ``train``, so one that lacks a field of the
    run's identity (or ``epochs``) was cut short or edited: it is damaged, not a partial config.
    Runtime fields added by later versions may be missing (they keep their defaults).

    Raises:
        UserValueError: the file cannot be read, is not YAML, lacks fields or holds a value a
            run cannot have; the message names the file and the field.
        UserFileNotFoundError: the file is missing.
    """
    path = Path(path)
    values = _read_yaml_mapping(path)
    missing = sorted((IDENTITY_FIELDS | {"epochs"}) - set(values))
    if missing:
        raise UserValueError(
            f"{str(path)!r} is damaged: it lacks {', '.join(missing)} (a run's config.yaml "
            "records every field)"
        )
    with user_input(repr(str(path))):
        config = TrainConfig.from_dict(values)
        config.validate(paths=False)
    return config


def _read_yaml_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping a YAML file of ``TrainConfig`` fields holds (``{}`` for an empty file)."""
    import yaml

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise UserFileNotFoundError(f"config file {str(path)!r} does not exist")
    check_readable_file(path, "config file")
    try:
        values = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise UserValueError(
            f"config file {str(path)!r} is not a text file (expected YAML in UTF-8)"
        ) from None
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise UserValueError(f"config file {str(path)!r} is not valid YAML: {detail}") from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise UserValueError(f"config file {str(path)!r} must hold a mapping of TrainConfig fields")
    return values


#: The fields that decide the network's architecture: a checkpoint fits only a model built with
#: the same values.
MODEL_FIELDS = (
    "model",
    "num_classes",
    "width",
    "conv",
    "conv_scope",
    "batch_norm",
    "padding_mode",
    "coords",
    "coord_init",
)
#: A run's identity: every field that shapes its weights or its evaluation (the model, the data,
#: the optimisation, the seed and the numeric precision). A resumed run (``train --resume``, a
#: study run again) must agree with the run on disk on every one of them.
IDENTITY_FIELDS = frozenset(
    {
        *MODEL_FIELDS,
        "image_size",
        "train_size",
        "val_size",
        "data_seed",
        "data_dir",
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "batch_size",
        "seed",
        "precision",
    }
)
#: The fields a resume may change, because they decide where and how a run executes but not what
#: it computes. ``epochs`` may grow (never shrink): a finished run then trains further as one
#: longer run. How many processes train does shape the result (each takes ``batch_size`` images a
#: step), so ``train`` compares the world size that ``accelerator``, ``devices``, ``num_nodes`` and
#: ``strategy`` give with the one recorded in the checkpoint.
RUNTIME_FIELDS = frozenset(
    {
        "epochs",
        "accelerator",
        "devices",
        "num_nodes",
        "strategy",
        "workers",
        "own_data",
        "out_dir",
        "resume",
        "progress",
    }
)


def resume_conflicts(recorded: TrainConfig | dict[str, Any], wanted: TrainConfig) -> list[str]:
    """Why a run recorded with ``recorded`` cannot continue as ``wanted`` (empty: it can).

    One entry per differing identity field (and for a smaller ``epochs``), naming the field and
    both values. Fields missing from ``recorded`` (a config of an older version) are not compared.

    Example:
        >>> resume_conflicts(TrainConfig(lr=0.1), TrainConfig(lr=0.2, workers=4, epochs=5))
        ['lr=0.1 on disk, 0.2 asked for']
        >>> resume_conflicts(TrainConfig(epochs=3), TrainConfig(epochs=2))
        ['epochs=3 on disk, 2 asked for (a resume cannot shorten a run)']
    """
    values = recorded.to_dict() if isinstance(recorded, TrainConfig) else dict(recorded)
    conflicts = []
    for f in dataclasses.fields(TrainConfig):
        if f.name not in values:
            continue
        old, new = values[f.name], getattr(wanted, f.name)
        if f.name in IDENTITY_FIELDS and old != new:
            conflicts.append(f"{f.name}={old!r} on disk, {new!r} asked for")
        elif f.name == "epochs" and isinstance(old, int) and new < old:
            conflicts.append(
                f"epochs={old!r} on disk, {new!r} asked for (a resume cannot shorten a run)"
            )
    return conflicts


def refuse_resume(where: str | os.PathLike, conflicts: list[str]) -> None:
    """Raise the ``UserValueError`` that refuses to resume ``where`` because of ``conflicts``."""
    runtime = ", ".join(sorted(RUNTIME_FIELDS - {"epochs", "out_dir", "resume"}))
    raise UserValueError(
        f"resume refused, nothing was written: {str(where)!r} records {'; '.join(conflicts)}. "
        f"A resumed run keeps the settings it was trained with; only a larger epochs and the "
        f"runtime fields ({runtime}) may differ: use another out_dir for new settings"
    )


def _check_type(name: str, value: Any, hint: Any) -> None:
    """Raise ``TypeError`` when ``value`` does not fit the field's annotation."""
    args = typing.get_args(hint)
    allowed = tuple(a for a in args if a is not type(None)) if args else (hint,)
    if value is None and type(None) in args:
        return
    ok = any(
        isinstance(value, t) and not (t in (int, float) and isinstance(value, bool))
        for t in allowed
    )
    if not ok and float in allowed and isinstance(value, int) and not isinstance(value, bool):
        ok = True  # an int is a fine float
    if not ok:
        names = " | ".join(getattr(t, "__name__", str(t)) for t in args or (hint,))
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; expected {names}")


def parse_devices(devices: str) -> str | int | list[int]:
    """Turn the ``devices`` field into Lightning's form: ``"auto"``, a count or a list of indices.

    Example:
        >>> parse_devices("auto"), parse_devices("2"), parse_devices("0,1"), parse_devices("-1")
        ('auto', 2, [0, 1], -1)
    """
    text = str(devices).strip()
    if text == "auto":
        return "auto"
    try:
        if "," in text:
            indices = [int(part) for part in text.split(",") if part.strip()]
            if indices and min(indices) >= 0:
                return indices
        else:
            count = int(text)
            if count >= 1 or count == -1:
                return count
    except ValueError:
        pass
    raise ValueError(
        f"devices={devices!r} is not understood; accepted: 'auto', a positive count such as '2', "
        "-1 (all) or a comma-separated list of device indices such as '0,1'"
    )
