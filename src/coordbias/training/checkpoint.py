"""Saving and loading trained models: ``model.pt`` files, Lightning checkpoints and run folders.

Every load goes through ``torch.load(..., weights_only=True)`` and turns the usual failures (a
missing file, a truncated or foreign file, weights of another architecture) into a
``FileNotFoundError`` or ``ValueError`` that says which file and what is wrong.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coordbias._util.errors import (
    UserFileNotFoundError,
    UserValueError,
    describe_os_error,
    user_input,
)
from coordbias._util.files import write_bytes
from coordbias.training.config import MODEL_FIELDS, TrainConfig

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
LAST_CHECKPOINT = os.path.join("checkpoints", "last.ckpt")
_FORMAT = "coordbias.model/1"
_LIGHTNING_KEY = "coordbias"  # SegmentationModule.CHECKPOINT_KEY
_PREFIX = "model."  # SegmentationModule keeps the network in ``self.model``


def build_model(config: TrainConfig) -> nn.Module:
    """The network ``config`` describes, from ``coordbias.models.create_model``."""
    from coordbias.models import create_model

    return create_model(config.model, **config.model_kwargs())


def save_model(path: str | os.PathLike, model: nn.Module, config: TrainConfig) -> None:
    """Write ``model``'s ``state_dict`` and ``config`` to ``path`` atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"format": _FORMAT, "config": config.to_dict(), "state_dict": state}, buffer)
    write_bytes(path, buffer.getvalue())


def resolve_source(source: str | os.PathLike) -> Path:
    """The weights file of ``source``: the file itself, or a run folder's ``model.pt`` or, for a
    run that was stopped, its newest checkpoint that reads whole (``last.ckpt`` first)."""
    path = Path(source)
    if path.is_dir():
        if (path / MODEL_FILE).is_file():
            return path / MODEL_FILE
        found = newest_readable_checkpoint(path)  # a stopped run: its newest whole checkpoint
        if found is not None:
            return found[0]
        if (path / LAST_CHECKPOINT).is_file():  # none reads: loading it says why
            return path / LAST_CHECKPOINT
        raise UserFileNotFoundError(
            f"run folder {str(path)!r} holds neither {MODEL_FILE} nor {LAST_CHECKPOINT}; "
            "has a run been trained there?"
        )
    if not path.exists():
        raise UserFileNotFoundError(f"checkpoint or run folder {str(path)!r} does not exist")
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` on the CPU, with a clear error when it fails."""
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        if describe_os_error(error) is not None:  # permission, a folder, ...: said as it is
            raise
        raise UserValueError(
            f"checkpoint {str(path)!r} cannot be read ({type(error).__name__}: {error}); it is "
            "corrupt, incomplete or not written by coordbias"
        ) from None
    except Exception as error:  # truncated zip, foreign pickle, unsafe globals, ...
        raise UserValueError(
            f"checkpoint {str(path)!r} cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}); it is corrupt, "
            "incomplete or not written by coordbias"
        ) from None
    if not isinstance(payload, dict):
        raise UserValueError(
            f"checkpoint {str(path)!r} holds a {type(payload).__name__}, not a dict"
        )
    return payload


def unpack_checkpoint(payload: dict[str, Any], path: str | os.PathLike) -> tuple[TrainConfig, dict]:
    """``(config, state_dict of the bare network)`` of a ``model.pt`` or Lightning checkpoint.

    What the file holds is checked before it is used: the config is a mapping of valid
    ``TrainConfig`` fields, the state dict a mapping of names to tensors.

    Raises:
        UserValueError: naming the file and the entry or field that is wrong.
    """
    where = f"checkpoint {str(path)!r}"
    if payload.get("format") == _FORMAT:
        config, state = payload.get("config"), payload.get("state_dict")
        config_key = "config"
    elif _LIGHTNING_KEY in payload and "state_dict" in payload:
        own = payload[_LIGHTNING_KEY]
        config = own.get("config") if isinstance(own, dict) else None
        state = payload["state_dict"]
        config_key = f"{_LIGHTNING_KEY}.config"
    else:
        raise UserValueError(
            f"{where} was not written by coordbias (no config inside); expected "
            f"a run folder's {MODEL_FILE} or checkpoints/*.ckpt"
        )
    if not isinstance(config, dict):
        raise UserValueError(
            f"{where} is damaged: its {config_key} is {_kind(config)}, not a mapping of "
            "TrainConfig fields"
        )
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        wrong = _kind(state) if not isinstance(state, dict) else _first_non_tensor(state)
        raise UserValueError(
            f"{where} is damaged: its state_dict holds {wrong}; expected a mapping of parameter "
            "names to tensors"
        )
    if config_key != "config":  # Lightning's: the network's entries under its attribute name
        state = {k[len(_PREFIX) :]: v for k, v in state.items() if k.startswith(_PREFIX)}
    with user_input(where):
        saved = TrainConfig.from_dict(dict(config))
        saved.validate(paths=False)
    return saved, state


def _kind(value: Any) -> str:
    """``'missing'`` for ``None``, else ``'a list'``, ``'a float'``: what a wrong entry is."""
    return "missing" if value is None else f"a {type(value).__name__}"


def _first_non_tensor(state: dict) -> str:
    """``"'w' = a float"``: the first entry of ``state`` that is not a named tensor."""
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            return f"{key!r} = {_kind(value)}"
    return "nothing wrong"  # pragma: no cover - called only when an entry is wrong


def newest_readable_checkpoint(
    run_dir: str | os.PathLike,
) -> tuple[Path, dict[str, Any], TrainConfig] | None:
    """The newest checkpoint of a run folder that reads whole: ``(path, payload, config)``.

    ``checkpoints/last.ckpt`` first, then ``checkpoints/epoch=N.ckpt`` from the largest ``N``
    down. A checkpoint that cannot be read (cut short, damaged, not a coordbias checkpoint) is
    passed over with a warning naming it and the one taken instead; ``None`` when none reads.

    Raises:
        OSError: a checkpoint that cannot be opened (permission): the user's to fix, not skipped.
    """
    folder = Path(run_dir) / "checkpoints"
    candidates = [Path(run_dir) / LAST_CHECKPOINT]

    def epoch(path: Path) -> int:
        number = path.stem.partition("=")[2]
        return int(number) if number.isdigit() else -1

    if folder.is_dir():
        epochs = [p for p in folder.glob("epoch=*.ckpt") if epoch(p) >= 0]
        candidates += sorted(epochs, key=epoch, reverse=True)
    skipped: list[str] = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            payload = read_checkpoint(path)
            config = unpack_checkpoint(payload, path)[0]
        except UserValueError as error:
            skipped.append(str(error))
            continue
        if skipped:
            log.warning(
                "%s; taking %s, the newest checkpoint that reads whole",
                "; ".join(skipped),
                path,
            )
        return path, payload, config
    if skipped:
        log.warning("%s; no checkpoint of %s reads whole", "; ".join(skipped), run_dir)
    return None


def check_same_model(saved: TrainConfig, wanted: TrainConfig, source: str | os.PathLike) -> None:
    """Raise ``ValueError`` naming each architecture field on which the two configs differ."""
    differ = [
        f"{name}={getattr(saved, name)!r} (asked for {getattr(wanted, name)!r})"
        for name in MODEL_FIELDS
        if getattr(saved, name) != getattr(wanted, name)
    ]
    if differ:
        raise UserValueError(
            f"checkpoint {str(source)!r} holds a different model: it was trained with "
            f"{', '.join(differ)}; use the same model settings or another run folder"
        )


def load_weights(model: nn.Module, state_dict: dict, source: str | os.PathLike) -> None:
    """``model.load_state_dict(state_dict)`` with a clear error on missing or misshapen weights."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    misshapen = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or misshapen:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            more = " ..." if len(unexpected) > 3 else ""
            parts.append(f"unexpected {', '.join(unexpected[:3])}{more}")
        if misshapen:
            more = " ..." if len(misshapen) > 3 else ""
            parts.append(f"shapes differ: {', '.join(misshapen[:3])}{more}")
        raise UserValueError(
            f"checkpoint {str(source)!r} does not fit this model ({'; '.join(parts)}); "
            "it comes from a different architecture"
        )
    model.load_state_dict(state_dict)


def load_model(
    source: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[TrainConfig, nn.Module]:
    """The config and the trained network (eval mode) of a run folder, ``model.pt`` or ``.ckpt``."""
    path = resolve_source(source)
    config, state = unpack_checkpoint(read_checkpoint(path), path)
    model = build_model(config)
    load_weights(model, state, path)
    return config, model.to(map_location).eval()
