"""Summary statistics, tests and intervals of the study and the benchmark (numpy, scipy).

The study's comparison: :func:`mean_std`, :func:`welch_test` (Welch's t-test and Hedges' g),
:func:`detectable_effect`, :func:`describe_power`.

The benchmark's (few seeds, outcomes that may be constant or bimodal, many comparisons at once):

- :func:`permutation_test`: the two-sample permutation test of the difference of means, exact
  (every split of the pooled values enumerated) when the splits are few, else a seeded
  Monte-Carlo estimate. It needs no variance, so two constant groups are tested too: different
  constants give the smallest p the sample sizes allow, equal ones p = 1.
- :func:`fisher_test`: Fisher's exact test of two success counts.
- :func:`holm`: Holm's step-down adjustment of a family of p-values.
- :func:`mean_interval` (Student's t), :func:`difference_interval` (Welch's t),
  :func:`wilson_interval` (a share of successes), :func:`share_difference_interval` (Newcombe's
  hybrid score interval of a difference of shares): 95 % intervals.
- :func:`verdict`: what a comparison says, from the difference's interval, the adjusted p and
  the task's equivalence margin: ``"tie"``, ``"better"``, ``"worse"`` or ``"not told apart"``.

scipy is imported where a function needs it (the ``study`` extra).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "ALPHA",
    "DRAWS",
    "MAX_SPLITS",
    "VERDICTS",
    "describe_power",
    "detectable_effect",
    "difference_interval",
    "fisher_test",
    "holm",
    "mean_interval",
    "mean_std",
    "permutation_test",
    "share_difference_interval",
    "verdict",
    "welch_test",
    "wilson_interval",
]

#: The level of every test of the benchmark (on Holm-adjusted p-values).
ALPHA = 0.05

#: :func:`permutation_test` enumerates every split up to this many, else draws at random.
MAX_SPLITS = 200_000

#: Random splits a Monte-Carlo :func:`permutation_test` draws (its smallest p is 1 / (DRAWS + 1)).
DRAWS = 100_000

#: The verdicts of a comparison (:func:`verdict`).
VERDICTS = ("better", "worse", "tie", "not told apart")


def mean_std(values: Sequence[float] | Sequence[Sequence[float]]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value) over the first axis.

    Args:
        values: ``(n,)`` numbers, or ``(n, k)`` lists of equal length (e.g. recall per class).

    Returns:
        ``{"mean": m, "std": s}``: floats for ``(n,)``, lists of ``k`` floats for ``(n, k)``.

    Example:
        >>> mean_std([1.0, 2.0, 3.0])
        {'mean': 2.0, 'std': 1.0}
        >>> mean_std([[0.0, 1.0], [2.0, 1.0]])
        {'mean': [1.0, 1.0], 'std': [1.4142135623730951, 0.0]}
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or arr.shape[0] == 0:
        raise ValueError("values must hold at least one entry; got an empty sequence")
    mean = arr.mean(axis=0)
    std = arr.std(axis=0, ddof=1) if arr.shape[0] > 1 else np.zeros_like(mean)
    if arr.ndim == 1:
        return {"mean": float(mean), "std": float(std)}
    return {"mean": mean.tolist(), "std": std.tolist()}


def welch_test(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Welch's t-test of ``mean(a) != mean(b)`` and Hedges' g effect size.

    Args:
        a: a metric over the seeds of one variant (e.g. coordbias mIoU), ``(n_a,)``.
        b: the same metric over the seeds of the reference (e.g. vanilla), ``(n_b,)``.

    Returns:
        ``n_a``, ``n_b``, ``mean_diff`` (a - b), ``t``, ``df`` (Welch-Satterthwaite), ``p``
        (two-sided), ``cohen_d`` (difference over the pooled standard deviation), ``hedges_g``
        (``cohen_d`` corrected for small samples). Statistics that n or zero variance leave
        undefined are ``None``.

    Example:
        >>> r = welch_test([1.0, 2.0, 3.0], [0.0, 0.0, 3.0])
        >>> round(r["t"], 4), round(r["df"], 4), round(r["cohen_d"], 4)
        (0.866, 3.2, 0.7071)
    """
    from scipy import stats

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.size == 0 or y.size == 0:
        raise ValueError(
            f"a and b must be non-empty 1-D sequences; got shapes {x.shape} and {y.shape}"
        )
    out: dict[str, Any] = {
        "n_a": int(x.size),
        "n_b": int(y.size),
        "mean_diff": float(x.mean() - y.mean()),
        "t": None,
        "df": None,
        "p": None,
        "cohen_d": None,
        "hedges_g": None,
    }
    if x.size < 2 or y.size < 2:
        return out
    va, vb = x.var(ddof=1), y.var(ddof=1)
    pooled = math.sqrt(((x.size - 1) * va + (y.size - 1) * vb) / (x.size + y.size - 2))
    if pooled > 0:
        d = out["mean_diff"] / pooled
        correction = 1.0 - 3.0 / (4.0 * (x.size + y.size) - 9.0)
        out["cohen_d"] = float(d)
        out["hedges_g"] = float(d * correction)
    se2 = va / x.size + vb / y.size
    if se2 > 0:
        result = stats.ttest_ind(x, y, equal_var=False)
        out["t"] = float(result.statistic)
        out["p"] = float(result.pvalue)
        df_den = (va / x.size) ** 2 / (x.size - 1) + (vb / y.size) ** 2 / (y.size - 1)
        out["df"] = float(se2**2 / df_den) if df_den > 0 else None
    return out


def detectable_effect(n_a: int, n_b: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest |Cohen's d| a two-sided two-sample t-test detects with the given power.

    Computed from the noncentral t distribution (equal variances, ``n_a + n_b - 2`` degrees of
    freedom); Welch's test has slightly less power.

    Example:
        >>> round(detectable_effect(3, 3), 2)
        3.07
    """
    from scipy import optimize, stats

    if min(n_a, n_b) < 2:
        raise ValueError(f"n_a and n_b must be at least 2; got {n_a} and {n_b}")
    df = n_a + n_b - 2
    scale = math.sqrt(n_a * n_b / (n_a + n_b))
    crit = stats.t.ppf(1 - alpha / 2, df)

    def gap(d: float) -> float:
        nc = d * scale
        return stats.nct.sf(crit, df, nc) - power  # the far tail adds nothing here

    return float(optimize.brentq(gap, 1e-6, 20.0))


def describe_power(n_a: int, n_b: int) -> str:
    """One honest sentence on what ``n_a`` and ``n_b`` seeds allow a t-test to show.

    Example:
        >>> describe_power(3, 3).startswith("With 3 and 3 seeds")
        True
    """
    if min(n_a, n_b) < 2:
        return (
            f"With {n_a} and {n_b} seeds there is no variance estimate: no test is possible, "
            "the numbers are single runs."
        )
    d = detectable_effect(n_a, n_b)
    return (
        f"With {n_a} and {n_b} seeds a t-test has {n_a + n_b - 2} degrees of freedom: it "
        f"detects (80% power, alpha 0.05) only effects with |d| above about {d:.1f} standard "
        "deviations, a non-significant result does not show that two variants are equal, and "
        "the p-values over several metrics are not corrected for multiple comparisons."
    )


# --------------------------------------------------------------------------- the benchmark's


def _sample(values: Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of numbers; got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers; got {arr.tolist()}")
    return arr


@functools.lru_cache(maxsize=4)
def _subsets(n: int, k: int) -> np.ndarray:
    """Every ``k``-subset of ``range(n)``, ``(comb(n, k), k)``, read-only (kept for reuse: a
    table tests many pairs of the same sizes)."""
    dtype = np.uint8 if n <= 256 else np.int64
    flat = itertools.chain.from_iterable(itertools.combinations(range(n), k))
    out = np.fromiter(flat, dtype=dtype, count=math.comb(n, k) * k).reshape(-1, k)
    out.flags.writeable = False
    return out


def permutation_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    max_splits: int = MAX_SPLITS,
    draws: int = DRAWS,
    seed: int = 0,
) -> dict[str, Any]:
    """Two-sided two-sample permutation test of ``mean(a) != mean(b)``.

    Under the null hypothesis every split of the pooled values into groups of ``len(a)`` and
    ``len(b)`` is equally likely; p is the share of splits whose difference of means is at least
    as far from zero as the observed one. When there are at most ``max_splits`` splits all are
    enumerated (an exact p, a multiple of ``1 / splits``); otherwise ``draws`` random splits
    (seeded by ``seed``) give ``p = (1 + hits) / (1 + draws)``, a valid p-value whose smallest
    value is ``1 / (1 + draws)``. No variance is estimated, so constant groups are no special
    case: two different constants give the smallest p attainable at these sizes (``2 / splits``
    for equal sizes, ``1 / splits`` otherwise; 0.1 for 3 against 3 seeds), two equal constants
    p = 1. The result does not depend on the order of the values, and swapping ``a`` and ``b``
    gives the same p.

    Args:
        a: one group's values, ``(n_a,)``.
        b: the other's, ``(n_b,)``.
        max_splits: enumerate every split up to this many (``comb(n_a + n_b, n_a)``).
        draws: random splits of the Monte-Carlo estimate beyond that.
        seed: seed of those draws.

    Returns:
        ``p``; ``difference``: ``mean(a) - mean(b)``; ``method``: ``"exact"`` or
        ``"monte carlo"``; ``splits``: how many splits there are; ``draws``: how many were drawn
        (``None`` when exact).

    Example:
        >>> permutation_test([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])["p"]  # 2 of 20 splits
        0.1
        >>> permutation_test([0.5, 0.5], [0.5, 0.5, 0.5])["p"]
        1.0
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    if max_splits < 1 or draws < 1:
        raise ValueError(f"max_splits and draws must be positive; got {max_splits} and {draws}")
    pool = np.sort(np.concatenate([x, y]))  # canonical order: p depends on the values alone
    n, k = pool.size, min(x.size, y.size)
    total = pool.sum()
    # A split is fixed by the k values of the smaller group, and its difference of means is an
    # increasing affine function of their sum s with its zero at s = k * total / n: the
    # difference is as extreme as the observed one iff |s * n - k * total| is as large. With
    # equal sizes either group gives the same |.|, so the p is symmetric in a and b.
    smaller = np.sort(x if x.size <= y.size else y)
    observed = abs(smaller.sum() * n - k * total)
    tolerance = 1e-9 * n * float(np.abs(pool).sum())  # sums in another order round differently
    splits = math.comb(n, k)

    def hits(sums: np.ndarray) -> int:
        return int(np.count_nonzero(np.abs(sums * n - k * total) >= observed - tolerance))

    out: dict[str, Any] = {"difference": float(x.mean() - y.mean()), "splits": splits}
    if splits <= max_splits:
        count = hits(pool[_subsets(n, k)].sum(axis=1))
        return {"p": min(1.0, count / splits), **out, "method": "exact", "draws": None}
    rng = np.random.default_rng(seed)
    count, left = 0, draws
    rows = max(1, 2_000_000 // n)
    while left:
        m = min(rows, left)
        chosen = np.argpartition(rng.random((m, n)), k - 1, axis=1)[:, :k]  # uniform k-subsets
        count += hits(pool[chosen].sum(axis=1))
        left -= m
    return {"p": (1 + count) / (1 + draws), **out, "method": "monte carlo", "draws": draws}


def fisher_test(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    """Two-sided Fisher's exact test of two success counts (``k_a`` of ``n_a`` against ``k_b``
    of ``n_b``).

    Given the margins, the count of the first group is hypergeometric under the null
    hypothesis; p sums the probabilities of every table no more likely than the observed one,
    computed with integers (so ties are exact).

    Example:
        >>> round(fisher_test(4, 4, 0, 4), 4)  # 2 of the 70 ways of choosing 4 of 8
        0.0286
        >>> fisher_test(10, 10, 10, 10)
        1.0
    """
    for name, value in (("k_a", k_a), ("n_a", n_a), ("k_b", k_b), ("n_b", n_b)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer; got {value!r}")
    if n_a < 1 or n_b < 1 or not 0 <= k_a <= n_a or not 0 <= k_b <= n_b:
        raise ValueError(
            f"need 0 <= k <= n and n >= 1 for both groups; got {k_a}/{n_a} and {k_b}/{n_b}"
        )
    n, k = int(n_a + n_b), int(k_a + k_b)

    def ways(x: int) -> int:  # tables with x successes in the first group
        return math.comb(k, x) * math.comb(n - k, int(n_a) - x)

    observed = ways(int(k_a))
    low, high = max(0, int(n_a) - (n - k)), min(int(n_a), k)
    extreme = sum(w for w in map(ways, range(low, high + 1)) if w <= observed)
    return float(min(Fraction(extreme, math.comb(n, int(n_a))), Fraction(1)))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment: each p-value made comparable with the level of the family.

    The ``m`` p-values (``None``: no test; left out of the family and kept ``None``) are
    sorted; the i-th smallest (from 0) becomes ``max over j <= i of min(1, (m - j) * p_(j))``.
    Rejecting where the adjusted p is at most alpha is Holm's procedure: the chance of any
    false rejection in the family stays at most alpha, whatever the dependence between tests.

    Returns:
        The adjusted p-values in the input's order (each at least its raw value, at most 1).

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005, None])
        [0.03, 0.06, 0.06, 0.02, None]
    """
    tested = [i for i, p in enumerate(pvalues) if p is not None]
    for i in tested:
        if not 0.0 <= pvalues[i] <= 1.0:  # type: ignore[operator]
            raise ValueError(f"p-values must lie in [0, 1]; got {pvalues[i]!r}")
    order = sorted(tested, key=lambda i: pvalues[i])  # type: ignore[arg-type,return-value]
    out: list[float | None] = [None] * len(pvalues)
    running, m = 0.0, len(order)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))  # type: ignore[arg-type]
        out[i] = running
    return out


def _quantile(level: float, df: float | None = None) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` degrees (normal: None)."""
    from scipy import stats

    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    q = 0.5 + level / 2.0
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """Student's t interval of the mean: ``mean ± t(n - 1) * sd / sqrt(n)``.

    Returns:
        ``(low, high)``; ``None`` from a single value (no spread to estimate); ``(m, m)`` when
        every value is ``m``.

    Example:
        >>> [round(v, 3) for v in mean_interval([1.0, 2.0, 3.0])]  # 2 ± 4.303 / sqrt(3)
        [-0.484, 4.484]
    """
    x = _sample(values, "values")
    if x.size < 2:
        return None
    half = _quantile(level, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    m = float(x.mean())
    return (m - half, m + half)


def difference_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[float, float] | None:
    """Welch's t interval of ``mean(a) - mean(b)`` (unequal variances, Welch-Satterthwaite df).

    Returns:
        ``(low, high)``; ``None`` when a group has a single value; the difference itself,
        ``(d, d)``, when both groups are constant (no spread to estimate: the permutation test
        says whether such a difference could be chance).

    Example:
        >>> [round(v, 3) for v in difference_interval([1.0, 2.0, 3.5], [0.0, 0.0, 3.0])]
        [-2.398, 4.732]
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.size < 2 or y.size < 2:
        return None
    d = float(x.mean() - y.mean())
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se2 = va + vb
    if se2 == 0:
        return (d, d)
    wa, wb = va / se2, vb / se2  # shares of the variance: no underflow of tiny squares
    df = 1.0 / (wa**2 / (x.size - 1) + wb**2 / (y.size - 1))
    half = _quantile(level, df) * math.sqrt(se2)
    return (d - half, d + half)


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a share of successes ``k / n``: the shares that a score
    test at ``level`` does not reject (never outside [0, 1], not empty at 0 or n of n).

    Example:
        >>> [round(v, 4) for v in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    if isinstance(k, bool) or isinstance(n, bool) or not 0 <= k <= n or n < 1:
        raise ValueError(f"need integers 0 <= k <= n, n >= 1; got k={k!r}, n={n!r}")
    z = _quantile(level)
    z2 = z * z
    centre = (k + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4.0)
    return (max(0.0, centre - half), min(1.0, centre + half))


def share_difference_interval(
    k_a: int, n_a: int, k_b: int, n_b: int, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``k_a / n_a - k_b / n_b`` (his method 10: each
    share's distance to its own :func:`wilson_interval` combined in quadrature).

    Example:
        >>> [round(v, 4) for v in share_difference_interval(56, 70, 48, 80)]  # Newcombe's
        [0.0524, 0.3339]
    """
    p_a, p_b = k_a / n_a, k_b / n_b
    low_a, high_a = wilson_interval(k_a, n_a, level)
    low_b, high_b = wilson_interval(k_b, n_b, level)
    d = p_a - p_b
    return (
        d - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
        d + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2),
    )


def verdict(
    interval: tuple[float, float] | None,
    p_adjusted: float | None,
    margin: float,
    *,
    difference: float,
    higher_is_better: bool,
    alpha: float = ALPHA,
) -> str:
    """What a comparison of a method with a reference says, one of :data:`VERDICTS`.

    - ``"tie"``: the difference's interval lies inside ``(-margin, margin)`` (the task's
      equivalence margin): whatever the test, the difference is negligible (with a zero margin
      nothing is a tie);
    - ``"better"`` / ``"worse"``: the adjusted p is below ``alpha``; the direction is the sign
      of ``difference`` (method minus reference) read with ``higher_is_better``;
    - ``"not told apart"``: neither; the data do not show a difference, nor that there is none.

    Args:
        interval: the difference's interval, ``None`` if there is none.
        p_adjusted: the test's p-value after the family's correction (:func:`holm`), ``None``
            when there is no test.
        margin: the equivalence margin, in the units of ``interval``.
        difference: the estimate that gives the direction (method minus reference).
        higher_is_better: the direction of ``difference``'s units.
        alpha: the level.

    Example:
        >>> verdict((0.01, 0.03), 0.2, 0.05, difference=0.02, higher_is_better=True)
        'tie'
        >>> verdict((0.2, 0.4), 0.001, 0.05, difference=0.3, higher_is_better=False)
        'worse'
    """
    if margin < 0:
        raise ValueError(f"margin must be at least 0; got {margin!r}")
    if interval is not None and -margin < interval[0] and interval[1] < margin:
        return "tie"
    if p_adjusted is not None and p_adjusted < alpha and difference != 0:
        return "better" if (difference > 0) == higher_is_better else "worse"
    return "not told apart"
