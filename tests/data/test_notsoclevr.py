"""Not-so-Clevr splits: Liu et al.'s (fixed) and the seeded validation hold-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coordbias.data.notsoclevr import (
    PAPER_UNIFORM_SEED,
    centres,
    hold_out,
    paper_split_indices,
    split_indices,
)


def _held(split):
    c = centres()
    return {tuple(p) for p in c[paper_split_indices(split)[1]].tolist()}


def test_paper_quadrant_holds_out_both_coordinates_from_33():
    held = _held("quadrant")
    assert len(held) == 729 == 27 * 27
    assert held == {(i, j) for i in range(33, 60) for j in range(33, 60)}


def test_paper_uniform_is_their_draw_in_their_sweep_order():
    # Their generator: one legacy-numpy stream seeded 20202, one draw per centre, column outer.
    rng = np.random.RandomState(PAPER_UNIFORM_SEED)
    expected = set()
    for col in range(4, 60):
        for row in range(4, 60):
            if rng.random_sample() < 0.25:
                expected.add((row, col))
    assert _held("uniform") == expected
    assert len(expected) == 768  # their train.py notes val shape (768, ...)


@pytest.mark.parametrize("split", ["uniform", "quadrant"])
def test_paper_splits_are_fixed_disjoint_and_complete(split):
    train, test = paper_split_indices(split)
    again = paper_split_indices(split)
    assert torch.equal(train, again[0]) and torch.equal(test, again[1])
    torch.manual_seed(123)  # no run's seed reaches the split
    assert torch.equal(paper_split_indices(split)[1], test)
    both = torch.cat([train, test])
    assert sorted(both.tolist()) == list(range(3136))


def test_the_earlier_splits_are_unchanged():
    # Existing callers keep the project's own splits (784 held out in each).
    assert len(split_indices("quadrant")[1]) == 784
    assert len(split_indices("uniform", seed=3)[1]) == 784
    assert not torch.equal(split_indices("uniform", 0)[1], split_indices("uniform", 1)[1])


def test_hold_out_is_seeded_and_partitions_its_input():
    train = paper_split_indices("uniform")[0]
    kept, held = hold_out(train, 0.1, seed=0)
    assert len(held) == round(0.1 * len(train)) and len(kept) + len(held) == len(train)
    assert sorted(torch.cat([kept, held]).tolist()) == train.tolist()
    assert torch.equal(hold_out(train, 0.1, seed=0)[1], held)
    assert not torch.equal(hold_out(train, 0.1, seed=1)[1], held)
    with pytest.raises(ValueError, match="fraction"):
        hold_out(train, 1.0, seed=0)
