"""The benchmark's statistics (coordbias.reporting.stats): the permutation test, Fisher's exact
test, Holm's adjustment, the intervals and the verdict, against answers computed another way
here (brute force with exact fractions, scipy, the procedures' own definitions)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from coordbias.reporting.stats import (
    DRAWS,
    difference_interval,
    fisher_test,
    holm,
    mean_interval,
    permutation_test,
    share_difference_interval,
    verdict,
    wilson_interval,
)

# Small samples of values with an exact decimal form (so the brute force below is exact) and
# many ties (seeds that reach the same score, constant groups).
VALUES = st.lists(st.integers(-6, 6).map(lambda v: v / 4), min_size=1, max_size=6)


def brute_force_p(a: list[float], b: list[float]) -> Fraction:
    """Every assignment of the pooled values to groups of len(a) and len(b), in fractions."""
    pool = [Fraction(v) for v in a + b]
    n_a, n_b = len(a), len(b)

    def diff(idx: tuple[int, ...]) -> Fraction:
        first = sum(pool[i] for i in idx)
        return first / n_a - (sum(pool) - first) / n_b

    observed = abs(diff(tuple(range(n_a))))
    splits = list(itertools.combinations(range(len(pool)), n_a))
    return Fraction(sum(abs(diff(s)) >= observed for s in splits), len(splits))


@settings(max_examples=150, deadline=None)
@given(VALUES, VALUES)
def test_exact_permutation_test_is_the_brute_force_and_symmetric(a, b):
    r = permutation_test(a, b)
    assert r["method"] == "exact" and r["draws"] is None
    assert r["splits"] == math.comb(len(a) + len(b), len(a))
    assert r["p"] == pytest.approx(float(brute_force_p(a, b)), rel=1e-12)
    assert 0.0 < r["p"] <= 1.0
    swapped = permutation_test(b, a)
    assert swapped["p"] == r["p"]
    assert swapped["difference"] == pytest.approx(-r["difference"])
    # The order of the values within a group does not matter.
    assert permutation_test(a[::-1], b[::-1])["p"] == r["p"]


@settings(max_examples=40, deadline=None)
@given(VALUES, VALUES, st.integers(0, 2**32 - 1))
def test_monte_carlo_permutation_test_is_a_valid_p_near_the_exact_one(a, b, seed):
    exact = permutation_test(a, b)["p"]
    drawn = permutation_test(a, b, max_splits=1, draws=2000, seed=seed)
    assert drawn["method"] == "monte carlo" and drawn["draws"] == 2000
    assert 1 / 2001 <= drawn["p"] <= 1.0
    # 2000 draws: the standard error of the share of hits is at most 0.011.
    assert drawn["p"] == pytest.approx(exact, abs=0.06)
    assert permutation_test(b, a, max_splits=1, draws=2000, seed=seed)["p"] == drawn["p"]


def test_zero_variance_groups_get_the_smallest_attainable_p_or_one():
    # The audit's cell: 1.000 +- 0 against 0.000 +- 0. Of the comb(6, 3) = 20 splits of three
    # ones and three zeros, only the observed one and its mirror are as extreme.
    assert permutation_test([1.0] * 3, [0.0] * 3)["p"] == pytest.approx(2 / 20)
    # Unequal sizes: only the observed split puts both ones in the group of two.
    assert permutation_test([1.0] * 2, [0.0] * 3)["p"] == pytest.approx(1 / 10)
    ten = permutation_test([1.0] * 10, [0.0] * 10)
    assert ten["method"] == "exact" and ten["p"] == pytest.approx(2 / math.comb(20, 10))
    twenty = permutation_test([0.25] * 20, [0.5] * 20)
    assert twenty["method"] == "monte carlo" and twenty["p"] == pytest.approx(1 / (DRAWS + 1))
    assert permutation_test([0.5] * 4, [0.5] * 3)["p"] == 1.0
    # A single value each: nothing can be told apart.
    assert permutation_test([3.0], [1.0])["p"] == 1.0


def test_permutation_test_refuses_what_it_cannot_test():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        permutation_test([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        permutation_test([float("nan"), 1.0], [1.0])


TABLES = st.integers(1, 25).flatmap(
    lambda n_a: st.integers(1, 25).flatmap(
        lambda n_b: st.tuples(st.integers(0, n_a), st.just(n_a), st.integers(0, n_b), st.just(n_b))
    )
)


@settings(max_examples=200, deadline=None)
@given(TABLES)
def test_fisher_is_scipys_and_symmetric(table):
    k_a, n_a, k_b, n_b = table
    p = fisher_test(k_a, n_a, k_b, n_b)
    expected = scipy_stats.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue
    assert p == pytest.approx(expected, rel=1e-9)
    assert 0.0 < p <= 1.0
    assert fisher_test(k_b, n_b, k_a, n_a) == p
    assert fisher_test(n_a - k_a, n_a, n_b - k_b, n_b) == p  # failures instead of successes


def test_fisher_known_answers_and_errors():
    # The lady tasting tea: 4 of 4 against 0 of 4 is one of the comb(8, 4) = 70 tables, and
    # its mirror is as unlikely.
    assert fisher_test(4, 4, 0, 4) == pytest.approx(2 / 70)
    assert fisher_test(20, 20, 0, 20) == pytest.approx(2 / math.comb(40, 20))
    assert fisher_test(3, 5, 3, 5) == 1.0
    with pytest.raises(ValueError, match="0 <= k <= n"):
        fisher_test(4, 3, 0, 3)
    with pytest.raises(TypeError, match="integer"):
        fisher_test(1.5, 3, 0, 3)


def holm_rejects(pvalues: list[float], alpha: float) -> set[int]:
    """Holm's procedure as he states it: up the sorted p while p_(j) <= alpha / (m - j)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected: set[int] = set()
    for j, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - j):
            break
        rejected.add(i)
    return rejected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_is_holms_procedure_at_every_level(pvalues):
    adjusted = holm(pvalues)
    for raw, adj in zip(pvalues, adjusted):
        assert raw <= adj <= 1.0
    ranked = sorted(zip(pvalues, adjusted))
    assert all(x[1] <= y[1] for x, y in itertools.pairwise(ranked))  # same order as the raw
    for alpha in (0.001, 0.01, 0.05, 0.1, 0.5):
        # With exact ties between an adjusted p and alpha the comparison may go either way.
        if any(math.isclose(a, alpha) for a in adjusted):
            continue
        assert {i for i, a in enumerate(adjusted) if a <= alpha} == holm_rejects(pvalues, alpha)


def test_holm_known_answer_and_untested_entries():
    # m = 4: 0.005 * 4, then 0.01 * 3, 0.03 * 2, and 0.04 * 1 lifted to the 0.06 before it.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.02, None]) == [None, 0.02, None]  # a family of one
    assert holm([]) == []
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([1.5])


def test_mean_interval_is_students_t():
    # n = 3: t(0.975, 2) = 4.302653 (from the tables); sd = 1.
    half = 4.302653 / math.sqrt(3)
    assert mean_interval([1.0, 2.0, 3.0]) == pytest.approx((2 - half, 2 + half), rel=1e-6)
    assert mean_interval([0.5] * 4) == (0.5, 0.5)
    assert mean_interval([0.5]) is None


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-10, 10), min_size=2, max_size=8),
    st.lists(st.floats(-10, 10), min_size=2, max_size=8),
)
@example([0.0, 0.0], [0.0, 2.2e-154])  # the squares of the variances underflow
def test_difference_interval_is_scipys_welch_interval(a, b):
    interval = difference_interval(a, b)
    d = sum(a) / len(a) - sum(b) / len(b)
    assert interval[0] <= d + 1e-9 and d - 1e-9 <= interval[1]
    if interval[1] - interval[0] < 1e-6:  # (nearly) constant groups: no spread to compare
        return
    expected = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert interval == pytest.approx((expected.low, expected.high), rel=1e-6, abs=1e-9)


def test_difference_interval_of_constant_groups_and_single_values():
    assert difference_interval([1.0] * 3, [0.0] * 3) == (1.0, 1.0)
    assert difference_interval([1.0], [0.0, 1.0]) is None


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (7, 20), (1, 1)])
def test_wilson_interval_holds_the_shares_the_score_test_keeps(k, n):
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    z2 = 1.959964**2
    # An endpoint inside (0, 1) is where the score statistic (k - n p)^2 / (n p (1 - p)) is z^2.
    for p in (low, high):
        if 0.0 < p < 1.0:
            assert (k - n * p) ** 2 == pytest.approx(z2 * n * p * (1 - p), rel=1e-5)
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)


@settings(max_examples=100, deadline=None)
@given(TABLES)
def test_share_difference_interval_holds_the_difference_inside_its_bounds(table):
    k_a, n_a, k_b, n_b = table
    low, high = share_difference_interval(k_a, n_a, k_b, n_b)
    assert -1.0 <= low <= k_a / n_a - k_b / n_b <= high <= 1.0
    assert share_difference_interval(k_b, n_b, k_a, n_a) == pytest.approx((-high, -low))


def test_share_difference_interval_known_answer():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80, method 10.
    assert share_difference_interval(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


@pytest.mark.parametrize(
    ("interval", "p", "margin", "difference", "higher", "expected"),
    [
        ((-0.004, 0.006), 0.9, 0.01, 0.001, True, "tie"),
        ((-0.004, 0.006), 0.001, 0.01, 0.001, True, "tie"),  # negligible, however sure
        ((0.0, 0.0), 1.0, 0.5, 0.0, False, "tie"),  # two equal constant groups
        ((0.0, 0.0), 1.0, 0.0, 0.0, False, "not told apart"),  # no margin: never a tie
        ((0.2, 0.4), 0.01, 0.01, 0.3, True, "better"),
        ((0.2, 0.4), 0.01, 0.01, 0.3, False, "worse"),  # an error 0.3 px larger
        ((-0.4, -0.2), 0.01, 0.01, -0.3, False, "better"),
        ((-0.4, 0.2), 0.01, 0.01, -0.1, True, "worse"),
        ((0.2, 0.4), 0.05, 0.01, 0.3, True, "not told apart"),  # alpha is not reached
        ((-0.009, 0.012), 0.5, 0.01, 0.001, True, "not told apart"),  # reaches past the margin
        (None, None, 0.01, 1.0, True, "not told apart"),
    ],
)
def test_verdict_rules(interval, p, margin, difference, higher, expected):
    got = verdict(interval, p, margin, difference=difference, higher_is_better=higher)
    assert got == expected
