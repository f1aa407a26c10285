"""One cell of the benchmark (a method trained on a task with one seed), and the timing.

:func:`run_cell` trains and evaluates; it returns a JSON-able dict that
``coordbias.scheduler.execute.execute_task`` writes to the cell's ``result.json``. A method whose
convolution cannot be built for a task's network returns ``{"na": reason}`` instead, so its cell
says why rather than disappearing. Each cell is a pure function of (task, method, seed, scale)
and the torch thread count: data are generated from fixed seeds, the initialisation and the batch
order come from ``seed``.

:func:`run_timing` measures every method's training step on the circles FCN against vanilla's,
in interleaved rounds (``coordbias._util.timing``), and counts the parameters each one adds.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coordbias._util.experiment import count_parameters, seeded
from coordbias.benchmark.nets import build_network
from coordbias.benchmark.spec import BASELINE, TASKS, BenchmarkScale
from coordbias.data import CirclesConfig, circles_task, generate_batch
from coordbias.data.notsoclevr import (
    CANVAS,
    centres,
    encode,
    onehot_images,
    split_indices,
    targets,
)
from coordbias.training.notsoclevr import accuracy, mean_over_centres

__all__ = ["DATA_SEED", "run_cell", "run_timing"]

#: The seed of every circles data set: seeds differ in initialisation and batch order only, so
#: every method sees the same images (as in the study).
DATA_SEED = 0


def run_cell(task: str, method: str, seed: int, scale: BenchmarkScale) -> dict[str, Any]:
    """Train ``method`` on ``task`` with ``seed`` at ``scale``; return its metrics.

    Returns:
        ``task``, ``method``, ``seed``, ``metric`` (the task's number), ``params``, ``steps``,
        ``step_s`` (median seconds per training step), ``seconds``, ``cpu_seconds`` (this
        process's CPU time: the cell's cost on a quiet core), and per family: circles
        ``miou`` / ``recall`` / ``transfer`` (the metric at ``scale.transfer_size``, or
        ``{"na": reason}``); classification ``train_acc``, ``test_acc``; regression
        ``train_error_px``, ``test_error_px``. ``{"task", "method", "seed", "na": reason}``
        when the method's network cannot be built for the task.
    """
    spec = TASKS[task]
    head = {"task": task, "method": method, "seed": seed}
    try:
        build_network(spec.family, method, 4, image_size=scale.image_size)
    except ValueError as err:
        return {**head, "na": str(err)}
    start, cpu_start = time.perf_counter(), time.process_time()
    if spec.family == "circles":
        body = _circles(spec.variant, method, seed, scale)
    else:
        body = _nsc(spec.family, spec.variant, method, seed, scale)
    seconds = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }
    return {**head, **body, **seconds}


def _median(values: list[float]) -> float:
    return float(torch.tensor(values, dtype=torch.float64).median()) if values else 0.0


@dataclass(frozen=True)
class _Schedule:
    """How a cell trains: Adam's settings, the epochs, the batch and a step limit (0: none)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    max_steps: int = 0


def _schedule(family: str, scale: BenchmarkScale) -> _Schedule:
    """The scale's training settings of a task family (circles, or the Not-so-Clevr ones)."""
    if family == "circles":
        return _Schedule(scale.epochs, scale.batch_size, scale.lr)
    return _Schedule(
        scale.nsc_epochs,
        scale.nsc_batch_size,
        scale.nsc_lr,
        scale.nsc_weight_decay,
        scale.nsc_max_steps,
    )


def _fit(
    model: nn.Module, inputs: Tensor, loss_of: Any, schedule: _Schedule, seed: int
) -> dict[str, Any]:
    """Train ``model`` with Adam on ``inputs`` (indexed along dim 0) as ``schedule`` says;
    ``loss_of(model, idx)`` is a batch's loss. Batch order from ``seed + 1``, as the Not-so-Clevr
    experiment draws it."""
    optimizer = torch.optim.Adam(
        model.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay
    )
    epochs, batch_size, max_steps = schedule.epochs, schedule.batch_size, schedule.max_steps
    gen = torch.Generator().manual_seed(seed + 1)
    steps, times, losses = 0, [], []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(inputs.shape[0], generator=gen)
        for b in range(0, len(order), batch_size):
            t0 = time.perf_counter()
            loss = loss_of(model, order[b : b + batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - t0)
            losses.append(float(loss.detach()))
            steps += 1
            if max_steps and steps >= max_steps:
                break
        if max_steps and steps >= max_steps:
            break
    tail = losses[-10:]
    return {
        "steps": steps,
        "step_s": _median(times),
        "final_loss": sum(tail) / max(len(tail), 1),
    }


def _segmentation(model: nn.Module, images: Tensor, masks: Tensor, classes: int) -> dict:
    from coordbias.training.metrics import evaluate

    batches = [(images[i : i + 50], masks[i : i + 50]) for i in range(0, images.shape[0], 50)]
    return evaluate(model, batches, num_classes=classes)


def _circles(variant: str, method: str, seed: int, scale: BenchmarkScale) -> dict[str, Any]:
    train_cfg, test_cfg = circles_task(variant, CirclesConfig(image_size=scale.image_size))
    classes = train_cfg.num_classes
    images, masks, _ = generate_batch(train_cfg, DATA_SEED, "train", range(scale.train_size))
    test_x, test_y, _ = generate_batch(test_cfg, DATA_SEED, "val", range(scale.test_size))
    with seeded(seed):
        model = build_network("circles", method, scale.width, classes, scale.image_size)

    def loss_of(net: nn.Module, idx: Tensor) -> Tensor:
        return F.cross_entropy(net(images[idx]), masks[idx])

    run = _fit(model, images, loss_of, _schedule("circles", scale), seed)
    metrics = _segmentation(model, test_x, test_y, classes)
    big = dataclasses.replace(test_cfg, image_size=scale.transfer_size)
    big_x, big_y, _ = generate_batch(big, DATA_SEED, "val", range(scale.transfer_test_size))
    try:
        transfer: dict[str, Any] = {
            "size": scale.transfer_size,
            "metric": _segmentation(model, big_x, big_y, classes)["miou"],
        }
    except (ValueError, RuntimeError) as err:  # a network bound to its training size
        transfer = {"size": scale.transfer_size, "na": " ".join(str(err).split())}
    return {
        "metric": metrics["miou"],
        "miou": metrics["miou"],
        "recall": metrics["recall"],
        "transfer": transfer,
        "params": count_parameters(model),
        **run,
    }


def _nsc_split(split: str, seed: int) -> tuple[Tensor, Tensor]:
    c = centres()
    train_idx, test_idx = split_indices(split, seed)
    return c[train_idx], c[test_idx]


def _evaluated(c: Tensor, scale: BenchmarkScale) -> Tensor:
    return c[: scale.nsc_eval_size] if scale.nsc_eval_size else c


def _distance_px(model: nn.Module, chunk: Tensor) -> float:
    diff = (model(onehot_images(chunk)) - encode(chunk)) * ((CANVAS - 1) / 2)
    return float(diff.norm(dim=1).sum())


def _error_px(model: nn.Module, c: Tensor) -> float:
    """Mean Euclidean distance in pixels between predicted and true centres ``c``."""
    return mean_over_centres(model, c, _distance_px)


def _nsc(family: str, split: str, method: str, seed: int, scale: BenchmarkScale) -> dict:
    """A Not-so-Clevr cell: classification (coordinates in, cross-entropy over the pixels,
    accuracy) or regression (one-hot image in, squared error, distance in pixels)."""
    train_c, test_c = _nsc_split(split, seed)
    with seeded(seed):
        model = build_network(family, method, scale.nsc_width)

    def loss_of(net: nn.Module, idx: Tensor) -> Tensor:
        batch = train_c[idx]
        if family == "nsc_class":
            return F.cross_entropy(net(encode(batch)), targets(batch))
        return F.mse_loss(net(onehot_images(batch)), encode(batch))

    run = _fit(model, train_c, loss_of, _schedule(family, scale), seed)
    score, name = (accuracy, "acc") if family == "nsc_class" else (_error_px, "error_px")
    test = score(model, _evaluated(test_c, scale))
    return {
        "metric": test,
        f"test_{name}": test,
        f"train_{name}": score(model, _evaluated(train_c, scale)),
        "params": count_parameters(model),
        **run,
    }


def run_timing(methods: list[str], scale: BenchmarkScale) -> dict[str, Any]:
    """Training-step time of every method on the circles FCN, as a ratio to vanilla's.

    One step is forward, cross-entropy, backward and an Adam step on one batch of the scale's
    circles; the steps are timed side by side in interleaved rounds and each method's ratio to
    vanilla is the median over rounds of the per-round ratio. Also the parameters each method's
    network has on every task family, and what it adds to vanilla's.

    Returns:
        ``ratio`` (method -> median ratio, or absent when its network cannot be built),
        ``seconds`` (method -> seconds per step, one per round), ``params`` (family -> method ->
        parameters), ``added_params`` (the same minus vanilla's), ``na`` (method -> reason),
        ``rounds``, ``min_run_time``, ``threads``, ``batch_size``, ``image_size``, ``width``.
    """
    from coordbias._util.timing import interleaved, median_ratios

    names = [BASELINE, *[m for m in methods if m != BASELINE]]
    config = CirclesConfig(image_size=scale.image_size)
    images, masks, _ = generate_batch(config, DATA_SEED, "train", range(scale.batch_size))
    steps, na = {}, {}
    params: dict[str, dict[str, int]] = {"circles": {}, "nsc_class": {}, "nsc_reg": {}}
    for name in names:
        for family in params:
            width = scale.width if family == "circles" else scale.nsc_width
            try:
                net = build_network(family, name, width, image_size=scale.image_size)
            except ValueError:  # that family's cell says why
                continue
            params[family][name] = count_parameters(net)
        try:
            with seeded(0):
                model = build_network("circles", name, scale.width, image_size=scale.image_size)
        except ValueError as err:
            na[name] = str(err)
            continue
        steps[name] = _step_fn(model, images, masks)
    threads = torch.get_num_threads()
    times = interleaved(
        steps, rounds=scale.timing_rounds, min_run_time=scale.timing_min_run_time, threads=threads
    )
    added = {
        family: {m: p - per[BASELINE] for m, p in per.items()}
        for family, per in params.items()
        if BASELINE in per
    }
    return {
        "ratio": median_ratios(times, BASELINE) if BASELINE in times else {},
        "seconds": times,
        "params": params,
        "added_params": added,
        "na": na,
        "rounds": scale.timing_rounds,
        "min_run_time": scale.timing_min_run_time,
        "threads": threads,
        "batch_size": scale.batch_size,
        "image_size": scale.image_size,
        "width": scale.width,
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
