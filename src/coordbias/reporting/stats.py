"""Summary statistics and the significance test of the study (scipy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


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
