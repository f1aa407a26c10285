"""One cell of the benchmark (a method at a placement trained on a task with one seed), a cell
of the sweep, and the timing.

:func:`run_cell` trains through :func:`coordbias.training.loop.fit` (the task's optimiser and
batch, early stopping on the validation loss, the best epoch kept) and returns a JSON-able dict
that ``coordbias.scheduler.execute.execute_task`` writes to the cell's ``result.json``. A sweep
cell (``sweep=True``) stops there: it never evaluates on a test set, so nothing chosen by the
sweep can see one. A final cell then evaluates the kept model on the test sets. A method whose
convolution cannot be built for a task's network returns ``{"na": reason}`` instead.

Each cell is a pure function of (task, method, placement, seed, lr, weight decay, scale) and the
torch thread count: the data are fixed (generated from :data:`DATA_SEED`, Liu et al.'s fixed
splits, a validation share held out with :data:`VAL_SEED`); the initialisation and the batch
order come from ``seed``.

:func:`run_timing` measures every method's training step on the circles FCN against vanilla's,
in interleaved rounds (``coordbias._util.timing``), at each of the scale's settings (its own
width, and the original's width 64 at 128 px), with an interval from the rounds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias._util.experiment import count_parameters, seeded
from coordbias.benchmark.nets import build_network
from coordbias.benchmark.spec import (
    BASELINE,
    DEFAULT_PLACEMENT,
    TASKS,
    BenchmarkScale,
    Schedule,
    TaskSpec,
)
from coordbias.data import CirclesConfig, circles_task, generate_batch
from coordbias.data.notsoclevr import (
    CANVAS,
    centres,
    encode,
    hold_out,
    onehot_images,
    paper_split_indices,
    targets,
)
from coordbias.data.redgreen import PAPER_SEED, redgreen_tensors
from coordbias.training.loop import fit

__all__ = ["DATA_SEED", "VAL_SEED", "make_optimizer", "run_cell", "run_timing"]

#: The seed of every generated data set (circles, Red-Green's independent draws): seeds differ
#: in initialisation and batch order only, so every method sees the same images.
DATA_SEED = 0
#: The seed of the validation share held out of Not-so-Clevr's training centres.
VAL_SEED = 0
# Centres or images evaluated at once (a classifier's activations are 64 x 4096 per centre).
_CHUNK = 128
# Training centres a Not-so-Clevr diagnosis scores (the first of the training set).
_DIAGNOSIS_SIZE = 512


def make_optimizer(
    model: nn.Module, schedule: Schedule, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """The schedule's optimiser over ``model`` at ``lr`` and ``weight_decay``; with
    ``decay="kernels"`` only parameters of two or more dimensions decay.

    Example:
        >>> from coordbias.benchmark import SCALES
        >>> opt = make_optimizer(nn.Conv2d(1, 2, 3), SCALES["quick"].schedules.nsc_reg, 0.01, 1e-5)
        >>> [g["weight_decay"] for g in opt.param_groups], type(opt).__name__
        ([1e-05, 0.0], 'Adam')
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if schedule.decay == "kernels":
        groups: Any = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
    else:
        groups = [{"params": params, "weight_decay": weight_decay}]
    if schedule.optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=schedule.betas, eps=1e-8)
    if schedule.optimizer == "adadelta":
        return torch.optim.Adadelta(groups, lr=lr, rho=0.9, eps=1e-6)
    raise ValueError(f"optimizer must be adam or adadelta; got {schedule.optimizer!r}")


@dataclass(frozen=True)
class _Problem:
    """A task's data as the loop needs them, and its tests."""

    n_train: int
    loss_of: Callable[[nn.Module, Tensor], Tensor]
    validate: Callable[[nn.Module], dict[str, float]]
    test: Callable[[nn.Module], dict[str, Any]]
    net_args: dict[str, Any]
    diagnose: Callable[[nn.Module], dict[str, Any]] | None = None


def _chunks(n: int) -> list[slice]:
    return [slice(s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK)]


def _segmentation(model: nn.Module, images: Tensor, masks: Tensor, classes: int) -> dict:
    from coordbias.training.metrics import evaluate

    batches = [(images[s], masks[s]) for s in _chunks(images.shape[0])]
    return evaluate(model, batches, num_classes=classes)


def _circles(spec: TaskSpec, scale: BenchmarkScale) -> _Problem:
    size = scale.circles
    train_cfg, test_cfg = circles_task(spec.variant, CirclesConfig(image_size=size.image_size))
    classes = train_cfg.num_classes
    x, y, _ = generate_batch(train_cfg, DATA_SEED, "train", range(size.train_size))
    # Validation from the training distribution (for "shifted" too): nothing chosen sees a test.
    vx, vy, _ = generate_batch(train_cfg, DATA_SEED, "val", range(size.val_size))

    def validate(model: nn.Module) -> dict[str, float]:
        got = _segmentation(model, vx, vy, classes)
        return {"val_loss": got["loss"], "val_metric": got["miou"]}

    def test(model: nn.Module) -> dict[str, Any]:
        tx, ty, _ = generate_batch(test_cfg, DATA_SEED, "test", range(size.test_size))
        got = _segmentation(model, tx, ty, classes)
        big = dataclasses.replace(test_cfg, image_size=size.transfer_size)
        bx, by, _ = generate_batch(big, DATA_SEED, "test", range(size.transfer_test_size))
        try:
            transfer: dict[str, Any] = {
                "size": size.transfer_size,
                "metric": _segmentation(model, bx, by, classes)["miou"],
            }
        except (ValueError, RuntimeError) as err:  # a network bound to its training size
            transfer = {"size": size.transfer_size, "na": " ".join(str(err).split())}
        return {"metrics": {"mIoU": got["miou"]}, "recall": got["recall"], "transfer": transfer}

    return _Problem(
        size.train_size,
        lambda net, idx: F.cross_entropy(net(x[idx]), y[idx]),
        validate,
        test,
        {"width": size.width, "num_classes": classes, "image_size": size.image_size},
    )


def _accuracy_and_loss(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
    correct, loss = 0, 0.0
    for s in _chunks(x.shape[0]):
        out = model(x[s])
        correct += int((out.argmax(1) == y[s]).sum())
        loss += float(F.cross_entropy(out, y[s], reduction="sum"))
    n = max(x.shape[0], 1)
    return correct / n, loss / n


def _redgreen(spec: TaskSpec, scale: BenchmarkScale) -> _Problem:
    paper = spec.variant == "paper"  # their exact sets (a prefix of their stream)
    s = scale.anchor_redgreen if paper else scale.redgreen
    sizes = {"train": s.train_size, "val": s.val_size, "similar": s.test_size}
    sizes["dissimilar"] = s.test_size
    kw: dict[str, Any] = {
        "seed": PAPER_SEED if paper else DATA_SEED,
        "draws": "paper" if paper else "independent",
    }
    x, y = redgreen_tensors("train", sizes["train"], **kw)
    vx, vy = redgreen_tensors("val", sizes["val"], **kw)

    def validate(model: nn.Module) -> dict[str, float]:
        acc, loss = _accuracy_and_loss(model, vx, vy)
        return {"val_loss": loss, "val_metric": acc}

    def test(model: nn.Module) -> dict[str, Any]:
        out = {}
        for split in ("similar", "dissimilar"):
            tx, ty = redgreen_tensors(split, sizes[split], **kw)
            out[split] = _accuracy_and_loss(model, tx, ty)[0]
        return {"metrics": out}

    return _Problem(
        sizes["train"], lambda net, idx: F.cross_entropy(net(x[idx]), y[idx]), validate, test, {}
    )


def _nsc_sets(spec: TaskSpec, scale: BenchmarkScale) -> tuple[Tensor, Tensor, Tensor]:
    """Training, validation and test centres: Liu et al.'s split, a validation share held out
    of its training part with :data:`VAL_SEED` (the same for every training seed); with the
    scale's ``nsc_eval_size``, that many centres of the validation and test sets, spread evenly
    over each (the sets are ordered by position: a prefix would be one corner)."""
    c = centres()
    train_idx, test_idx = paper_split_indices(spec.variant)
    kept, val = hold_out(train_idx, scale.nsc_val_fraction, VAL_SEED)
    return c[kept], _spread(c[val], scale.nsc_eval_size), _spread(c[test_idx], scale.nsc_eval_size)


def _spread(c: Tensor, size: int) -> Tensor:
    """``size`` rows of ``c`` evenly spaced from the first to the last (all of ``c`` for 0)."""
    if not 0 < size < c.shape[0]:
        return c
    return c[torch.linspace(0, c.shape[0] - 1, size).round().long()]


def _nsc_class(spec: TaskSpec, scale: BenchmarkScale) -> _Problem:
    train_c, val_c, test_c = _nsc_sets(spec, scale)

    def inputs(c: Tensor) -> Tensor:
        # The centre scaled to [-1, 1], as the networks' own coordinate channels. Liu et al.'s
        # settings name the pixel coordinates (4..59); with those the CoordConv classifier
        # (seed 0, their lr 0.005) still had loss 6.25 and 0 % accuracy after 200 steps,
        # against 0.23 and 98.8 % after 100 steps with scaled inputs: a budget the benchmark
        # can afford for every method.
        return encode(c)

    def validate(model: nn.Module) -> dict[str, float]:
        acc, loss = _accuracy_and_loss(model, inputs(val_c), targets(val_c))
        return {"val_loss": loss, "val_metric": acc}

    def test(model: nn.Module) -> dict[str, Any]:
        return {
            "metrics": {spec.metric: _accuracy_and_loss(model, inputs(test_c), targets(test_c))[0]}
        }

    def diagnose(model: nn.Module) -> dict[str, Any]:
        cut = scale.nsc_eval_size or _DIAGNOSIS_SIZE
        acc, loss = _accuracy_and_loss(model, inputs(train_c[:cut]), targets(train_c[:cut]))
        return {"train_accuracy": acc, "train_loss": loss}

    return _Problem(
        train_c.shape[0],
        lambda net, idx: F.cross_entropy(net(inputs(train_c[idx])), targets(train_c[idx])),
        validate,
        test,
        {},
        diagnose,
    )


def _onehot(c: Tensor) -> Tensor:
    """One-hot images of centres ``c``, channels_last (as the regressor's weights)."""
    return onehot_images(c).contiguous(memory_format=torch.channels_last)


def _regression_scores(model: nn.Module, c: Tensor) -> dict[str, float]:
    """Mean squared error against ``c / 64`` (their target), the mean distance in pixels, and
    the share of images where the maximum of both output maps lies within 2 pixels of the hot
    pixel (the reach of the two 3 x 3 convolutions): the global max passes gradient to that one
    position only, so where it lies farther its value does not depend on the hot pixel and the
    seed gets no signal about the position."""
    sq, dist, near = 0.0, 0.0, 0
    for s in _chunks(c.shape[0]):
        x = _onehot(c[s])
        for layer in model.convs:
            x = layer(x)
        pred = x.amax(dim=(2, 3))
        target = c[s].float() / CANVAS
        sq += float(((pred - target) ** 2).sum())
        dist += float((pred - target).norm(dim=1).sum()) * CANVAS
        where = x.flatten(2).argmax(2)  # (B, 2) flat index of each map's maximum
        rows, cols = where // CANVAS, where % CANVAS
        off = torch.maximum((rows - c[s][:, :1]).abs(), (cols - c[s][:, 1:]).abs())
        near += int((off <= 2).all(dim=1).sum())
    n = max(c.shape[0], 1)
    return {"loss": sq / (2 * n), "error_px": dist / n, "max_near_hot": near / n}


def _nsc_reg(spec: TaskSpec, scale: BenchmarkScale) -> _Problem:
    train_c, val_c, test_c = _nsc_sets(spec, scale)
    cut = scale.nsc_eval_size or _DIAGNOSIS_SIZE

    def validate(model: nn.Module) -> dict[str, float]:
        got = _regression_scores(model, val_c)
        return {"val_loss": got["loss"], "val_metric": got["error_px"]}

    def test(model: nn.Module) -> dict[str, Any]:
        return {"metrics": {spec.metric: _regression_scores(model, test_c)["error_px"]}}

    def diagnose(model: nn.Module) -> dict[str, Any]:
        got = _regression_scores(model, train_c[:cut])
        return {
            "train_error_px": got["error_px"],
            "train_loss": got["loss"],
            "max_near_hot": got["max_near_hot"],
        }

    return _Problem(
        train_c.shape[0],
        lambda net, idx: F.mse_loss(net(_onehot(train_c[idx])), train_c[idx].float() / CANVAS),
        validate,
        test,
        {},
        diagnose,
    )


@functools.lru_cache(maxsize=4)
def _problem(task: str, scale: BenchmarkScale) -> _Problem:
    """A task's data, built once per process (the cells of one process share them)."""
    spec = TASKS[task]
    build = {"circles": _circles, "redgreen": _redgreen, "nsc_class": _nsc_class}
    return build.get(spec.family, _nsc_reg)(spec, scale)


def cell_settings(task: str, scale: BenchmarkScale) -> dict[str, Any]:
    """What a cell of ``task`` at ``scale`` was trained with, as JSON gives it back: the
    schedule (but its cost estimate) and the data's sizes. A cell on disk with other settings
    is not the cell this scale asks for (see ``CellTask.result``)."""
    spec = TASKS[task]
    schedule = dataclasses.asdict(scale.schedules.of(spec.family, spec.anchor))
    schedule.pop("est_epoch_s")
    # Each recorded only where it holds (a task that trains through, a family that flushes
    # denormals): the other cells' settings stay as they were recorded before these existed.
    if spec.variant in schedule.pop("train_through"):
        schedule["train_through"] = True
    if schedule.pop("flush_denormal"):
        schedule["flush_denormal"] = True
    if spec.family == "circles":
        sizes = dataclasses.asdict(scale.circles)
    elif spec.family == "redgreen":
        sizes = dataclasses.asdict(scale.anchor_redgreen if spec.anchor else scale.redgreen)
    else:
        sizes = {"nsc_val_fraction": scale.nsc_val_fraction, "nsc_eval_size": scale.nsc_eval_size}
    return json.loads(json.dumps({"schedule": schedule, "sizes": sizes}))


def _solved(spec: TaskSpec) -> Callable[[Mapping[str, float]], bool]:
    """Whether an epoch's validation numbers are a success of ``spec`` (a success task)."""
    spec.succeeded(0.0)  # a task without a threshold raises here, before training
    return lambda numbers: spec.succeeded(numbers["val_metric"])


def run_cell(
    task: str,
    method: str,
    placement: str,
    seed: int,
    scale: BenchmarkScale,
    *,
    lr: float,
    weight_decay: float,
    sweep: bool = False,
) -> dict[str, Any]:
    """Train ``method`` at ``placement`` on ``task`` with ``seed`` at ``scale``, ``lr`` and
    ``weight_decay``.

    Args:
        task, method, placement, seed: the cell (an anchor's ``method`` is its row).
        scale: sizes and the schedule.
        lr, weight_decay: the optimiser's setting (the sweep's candidate, or its choice).
        sweep: a sweep cell: trained and validated, never tested.

    Returns:
        ``task``, ``method``, ``placement``, ``seed``, ``lr``, ``weight_decay``, ``val_loss``
        and ``val_metric`` (at the best epoch), ``curve``, ``best_epoch``, ``epochs_run``,
        ``stopped_early``, ``params``, ``steps``, ``step_s``, ``seconds``, ``cpu_seconds``
        (this process's CPU time: the cell's cost on a quiet core); a final cell also
        ``metric`` (the main test metric), ``metrics`` (every test metric), for circles
        ``transfer``, for Not-so-Clevr ``diagnosis`` (training-set scores, and for regression
        the share of images whose maxima lie within 2 pixels of the hot pixel at initialisation
        and at the end), and, for a variant trained through (``Schedule.train_through``), the
        test metric in every row of its ``curve`` (``test_metric``).
        ``{"task", "method", "placement", "seed", "na": reason}`` when the method's network
        cannot be built for the task.
    """
    spec = TASKS[task]
    schedule = scale.schedules.of(spec.family, spec.anchor)
    with _denormals_flushed(schedule.flush_denormal):
        head = {"task": task, "method": method, "placement": placement, "seed": seed}
        problem = _problem(task, scale)
        try:
            with seeded(seed):
                model = build_network(
                    spec.family, method, placement, anchor=spec.anchor, **problem.net_args
                )
        except ValueError as err:
            return {**head, "na": " ".join(str(err).split())}
        start, cpu_start = time.perf_counter(), time.process_time()
        at_init = None
        if not sweep and spec.family == "nsc_reg":
            with torch.no_grad():
                at_init = problem.diagnose(model)["max_near_hot"]
        through = spec.variant in schedule.train_through  # no epoch chosen on validation
        validate = problem.validate
        if through and not sweep:  # the held-out curve their code prints; nothing reads it
            validate = functools.partial(_with_test_metric, problem, spec.metric)
        run = fit(
            model,
            make_optimizer(model, schedule, lr, weight_decay),
            problem.loss_of,
            problem.n_train,
            validate,
            batch_size=schedule.batch_size,
            max_epochs=schedule.max_epochs,
            seed=seed + 1,
            monitor=None if through else "val_loss",
            patience=None if through else schedule.patience,
            shuffle=schedule.shuffle,
            max_steps=schedule.max_steps,
            stop_when=_solved(spec) if spec.variant in schedule.stop_at_success else None,
        )
        best = run.best_row()
        out: dict[str, Any] = {
            **head,
            "lr": lr,
            "weight_decay": weight_decay,
            "val_loss": best["val_loss"],
            "val_metric": best["val_metric"],
            "curve": run.curve,
            "best_epoch": run.best_epoch,
            "epochs_run": run.epochs_run,
            "stopped_early": run.stopped_early,
            "reached_success": run.reached,
            "params": count_parameters(model),
            "steps": run.steps,
            "step_s": run.step_s,
        }
        if not sweep:
            with torch.no_grad():
                tested = problem.test(model)
            out["metric"] = tested["metrics"][spec.metric]
            out.update(tested)
            if problem.diagnose is not None:
                with torch.no_grad():
                    diagnosis = {
                        **problem.diagnose(model),
                        "final_train_loss": run.final_train_loss,
                    }
                if at_init is not None:
                    diagnosis["max_near_hot_at_init"] = at_init
                out["diagnosis"] = diagnosis
        out["seconds"] = time.perf_counter() - start
        out["cpu_seconds"] = time.process_time() - cpu_start
        return out


def _with_test_metric(problem: _Problem, metric: str, model: nn.Module) -> dict[str, float]:
    """``problem``'s validation numbers and, as ``test_metric``, its test ``metric``."""
    return {**problem.validate(model), "test_metric": problem.test(model)["metrics"][metric]}


@contextlib.contextmanager
def _denormals_flushed(on: bool) -> Iterator[None]:
    """Subnormal floats flushed to zero inside the block (``on``), and kept again after it."""
    if not on:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def run_timing(methods: list[str], scale: BenchmarkScale) -> dict[str, Any]:
    """Training-step time of every method on the circles FCN, as a ratio to vanilla's.

    One step is forward, cross-entropy, backward and an Adam step on one batch of circles; the
    steps are timed side by side in interleaved rounds and each method's ratio to vanilla is the
    median over rounds of the per-round ratio, with the smallest and largest round's ratio as
    its interval (for 7 rounds it holds the true median with probability 1 - 2 / 2**7 = 98 %).
    Every one of ``scale.timing``'s settings is measured (the scale's width, then the
    original's). Also the parameters each method's network has on every task family at its
    default placement, and what it adds to vanilla's.

    Returns:
        ``ratio`` (method -> ``{"median", "interval": [low, high]}``) and ``seconds`` (method ->
        seconds per round) of the last setting (the original's width when measured), with its
        fields (``rounds``, ``min_run_time``, ``batch_size``, ``image_size``, ``width``);
        ``settings`` (one dict per setting: its fields, ``ratio``, ``interval``, ``seconds``,
        ``median_s``); ``params`` (family -> method -> parameters), ``added_params``, ``na``
        (method -> reason), ``threads``.
    """
    from coordbias._util.timing import interleaved, median_ratios, round_ratios

    names = [BASELINE, *[m for m in methods if m != BASELINE]]
    params: dict[str, dict[str, int]] = {f: {} for f in DEFAULT_PLACEMENT}
    for name in names:
        for family in params:
            try:
                net = build_network(
                    family, name, DEFAULT_PLACEMENT[family], width=scale.circles.width
                )
            except ValueError:  # that family's cell says why
                continue
            params[family][name] = count_parameters(net)
    threads = torch.get_num_threads()
    settings, na = [], {}
    for setting in scale.timing:
        config = CirclesConfig(image_size=setting.image_size)
        images, masks, _ = generate_batch(config, DATA_SEED, "train", range(setting.batch_size))
        steps = {}
        for name in names:
            try:
                with seeded(0):
                    model = build_network(
                        "circles",
                        name,
                        "encoder",
                        width=setting.width,
                        image_size=setting.image_size,
                    )
            except ValueError as err:
                na[name] = str(err)
                continue
            steps[name] = _step_fn(model, images, masks)
        times = interleaved(
            steps, rounds=setting.rounds, min_run_time=setting.min_run_time, threads=threads
        )
        ratios = round_ratios(times, BASELINE) if BASELINE in times else {}
        settings.append(
            {
                **dataclasses.asdict(setting),
                "ratio": median_ratios(times, BASELINE) if BASELINE in times else {},
                "interval": {m: [min(r), max(r)] for m, r in ratios.items()},
                "seconds": times,
                "median_s": {m: statistics.median(t) for m, t in times.items()},
            }
        )
    added = {
        family: {m: p - per[BASELINE] for m, p in per.items()}
        for family, per in params.items()
        if BASELINE in per
    }
    main = settings[-1]  # the original's width when the scale measures it
    return {
        "ratio": {
            m: {"median": r, "interval": main["interval"][m]} for m, r in main["ratio"].items()
        },
        "seconds": main["seconds"],
        "settings": settings,
        "params": params,
        "added_params": added,
        "na": na,
        "threads": threads,
        **{k: main[k] for k in ("rounds", "min_run_time", "batch_size", "image_size", "width")},
    }


def _step_fn(model: nn.Module, images: Tensor, masks: Tensor) -> Any:
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)
    model.train()

    def step() -> None:
        loss = F.cross_entropy(model(images), masks)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step
