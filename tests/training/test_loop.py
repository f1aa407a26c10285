"""The one supervised loop (coordbias.training.loop.fit): batches, early stopping, best weights."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from coordbias.training.loop import fit

X = torch.linspace(-1, 1, 16)[:, None]
Y = 3 * X + 1


def _loss_of(model, idx):
    return ((model(X[idx]) - Y[idx]) ** 2).mean()


def _setup(lr=0.1):
    torch.manual_seed(0)
    net = nn.Linear(1, 1)
    return net, torch.optim.SGD(net.parameters(), lr=lr)


def test_scripted_validation_stops_after_patience_and_restores_the_best_weights():
    net, opt = _setup()
    # Validation is scripted: the best is epoch 2; three worse epochs then stop it (patience 3).
    script = iter([5.0, 1.0, 2.0, 3.0, 4.0, 0.5, 0.1])
    weights = []

    def validate(model):
        weights.append(model.weight.detach().clone())
        return {"val_loss": next(script), "val_metric": 0.0}

    out = fit(net, opt, _loss_of, 16, validate, batch_size=4, max_epochs=7, seed=0, patience=3)
    assert (out.best_epoch, out.epochs_run, out.stopped_early, out.best) == (2, 5, True, 1.0)
    assert out.steps == 5 * 4
    # The model holds epoch 2's weights, not the last epoch's.
    assert torch.equal(net.weight, weights[1]) and not torch.equal(net.weight, weights[-1])
    assert [row["epoch"] for row in out.curve] == [1, 2, 3, 4, 5]
    assert set(out.curve[0]) == {"epoch", "train_loss", "val_loss", "val_metric"}
    assert out.best_row()["val_loss"] == 1.0


def test_higher_is_better_and_no_patience_runs_every_epoch():
    net, opt = _setup()
    script = iter([0.1, 0.9, 0.5, 0.2])
    out = fit(
        net,
        opt,
        _loss_of,
        16,
        lambda m: {"acc": next(script)},
        batch_size=16,
        max_epochs=4,
        seed=0,
        monitor="acc",
        higher_is_better=True,
    )
    assert (out.best_epoch, out.epochs_run, out.stopped_early) == (2, 4, False)


def test_it_learns_and_the_batch_order_is_the_seed():
    def run(seed, shuffle=True):
        net, opt = _setup()
        seen = []

        def loss_of(model, idx):
            seen.append(idx.tolist())
            return _loss_of(model, idx)

        out = fit(
            net,
            opt,
            loss_of,
            16,
            lambda m: {"val_loss": float(_loss_of(m, torch.arange(16)))},
            batch_size=4,
            max_epochs=30,
            seed=seed,
            shuffle=shuffle,
        )
        return out, seen, net

    a, seen_a, net_a = run(0)
    _b, seen_b, net_b = run(0)
    _c, seen_c, _ = run(1)
    assert a.best < 1e-3 and a.curve[-1]["train_loss"] < a.curve[0]["train_loss"]
    assert seen_a == seen_b and torch.equal(net_a.weight, net_b.weight)
    assert seen_a != seen_c
    assert seen_a[0] != seen_a[4]  # a new order every epoch
    _, seen_plain, _ = run(0, shuffle=False)
    assert seen_plain[:4] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]


def test_max_steps_and_bad_arguments():
    net, opt = _setup()
    out = fit(
        net,
        opt,
        _loss_of,
        16,
        lambda m: {"val_loss": 1.0},
        batch_size=4,
        max_epochs=9,
        seed=0,
        max_steps=6,
    )
    assert (out.steps, out.epochs_run) == (6, 2)
    with pytest.raises(ValueError, match="without monitor 'val_loss'"):
        fit(net, opt, _loss_of, 16, lambda m: {"x": 1.0}, batch_size=4, max_epochs=1, seed=0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        fit(net, opt, _loss_of, 16, lambda m: {}, batch_size=0, max_epochs=1, seed=0)
    with pytest.raises(ValueError, match="patience must be None or an int >= 1"):
        fit(net, opt, _loss_of, 16, lambda m: {}, batch_size=1, max_epochs=1, seed=0, patience=0)


def test_without_a_monitor_the_model_keeps_its_last_epoch():
    net, opt = _setup()
    # The scripted validation's best is epoch 1; without a monitor nothing is chosen by it.
    script = iter([0.0, 5.0, 6.0])
    weights = []

    def validate(model):
        weights.append(model.weight.detach().clone())
        return {"test_acc": next(script)}

    out = fit(net, opt, _loss_of, 16, validate, batch_size=4, max_epochs=3, seed=0, monitor=None)
    assert (out.best_epoch, out.epochs_run, out.stopped_early) == (3, 3, False)
    assert torch.equal(net.weight, weights[-1]) and not torch.equal(net.weight, weights[0])
    assert [row["test_acc"] for row in out.curve] == [0.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="patience needs a monitor"):
        fit(
            net,
            opt,
            _loss_of,
            16,
            validate,
            batch_size=4,
            max_epochs=1,
            seed=0,
            monitor=None,
            patience=2,
        )


def _fit_unselected(net, opt, **options):
    """``fit`` on 16 samples in batches of 4, selecting nothing (``monitor=None``)."""
    return fit(net, opt, _loss_of, 16, lambda m: {}, batch_size=4, seed=0, monitor=None, **options)


def test_after_backward_sees_each_steps_gradient_before_the_step():
    net, opt = _setup()
    seen = []

    def record(model, loss):
        # The weights are still those the gradient was taken at: the step comes after.
        seen.append(
            (model.weight.grad.clone(), model.weight.detach().clone(), float(loss.detach()))
        )

    out = _fit_unselected(net, opt, max_epochs=2, after_backward=record)
    assert len(seen) == out.steps == 8
    # SGD, lr 0.1: the next step's weights are this step's minus lr * this step's gradient.
    for (grad, weight, _), (_, after, _) in itertools.pairwise(seen):
        assert torch.allclose(after, weight - 0.1 * grad)
    assert out.curve[0]["train_loss"] == pytest.approx(sum(s[2] for s in seen[:4]) / 4)


def test_the_scheduler_steps_once_per_epoch():
    net, opt = _setup(lr=0.1)
    lrs = []
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)
    _fit_unselected(
        net,
        opt,
        max_epochs=4,
        after_backward=lambda m, loss: lrs.append(opt.param_groups[0]["lr"]),
        scheduler=sched,
    )
    # Four steps an epoch; the rate drops from epoch 3 (the scheduler's epoch 2) on.
    assert lrs == pytest.approx([0.1] * 8 + [0.01] * 8)


def test_stop_when_ends_training_after_the_first_epoch_that_meets_it():
    net, opt = _setup()
    # A scripted accuracy reaches 1.0 at epoch 3; the best epoch still follows the loss (2).
    script = iter([(3.0, 0.5), (1.0, 0.9), (2.0, 1.0), (0.5, 1.0), (0.1, 1.0)])

    def validate(model):
        loss, acc = next(script)
        return {"val_loss": loss, "val_metric": acc}

    def solved(numbers):
        return numbers["val_metric"] >= 1.0

    out = fit(
        net, opt, _loss_of, 16, validate, batch_size=16, max_epochs=5, seed=0, stop_when=solved
    )
    assert (out.epochs_run, out.reached, out.stopped_early, out.best_epoch) == (3, True, False, 2)
    # Met only at the last epoch: training simply ends there, not "reached early".
    script = iter([(3.0, 0.5), (1.0, 1.0)])
    out = fit(
        net, opt, _loss_of, 16, validate, batch_size=16, max_epochs=2, seed=0, stop_when=solved
    )
    assert (out.epochs_run, out.reached) == (2, False)
