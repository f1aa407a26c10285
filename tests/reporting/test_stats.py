"""Summary statistics and the Welch test against hand-computed values."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordbias.reporting.stats import describe_power, detectable_effect, mean_std, welch_test


def test_welch_against_a_hand_computed_case():
    # a = [1, 2, 3]: mean 2, var 1; b = [0, 0, 3]: mean 1, var 3.
    # se^2 = 1/3 + 3/3 = 4/3, t = 1 / sqrt(4/3); df = (4/3)^2 / ((1/3)^2/2 + 1^2/2) = 3.2;
    # pooled sd = sqrt((2*1 + 2*3) / 4) = sqrt(2), d = 1 / sqrt(2), g = d * (1 - 3/(4*6 - 9)).
    r = welch_test([1.0, 2.0, 3.0], [0.0, 0.0, 3.0])
    assert r["t"] == pytest.approx(1 / math.sqrt(4 / 3))
    assert r["df"] == pytest.approx(3.2)
    assert r["cohen_d"] == pytest.approx(1 / math.sqrt(2))
    assert r["hedges_g"] == pytest.approx(1 / math.sqrt(2) * (1 - 3 / 15))
    assert r["mean_diff"] == pytest.approx(1.0)
    assert 0.4 < r["p"] < 0.5  # t = 0.866 on 3.2 df, two-sided


def test_welch_undefined_cases_are_none():
    single = welch_test([1.0], [0.0, 1.0])
    assert single["t"] is None and single["p"] is None and single["mean_diff"] == 0.5
    flat = welch_test([1.0, 1.0], [1.0, 1.0])
    assert flat["t"] is None and flat["hedges_g"] is None
    with pytest.raises(ValueError, match="non-empty 1-D"):
        welch_test([], [1.0])


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-10, 10), min_size=2, max_size=6),
    st.lists(st.floats(-10, 10), min_size=2, max_size=6),
)
def test_welch_is_antisymmetric(a, b):
    ab, ba = welch_test(a, b), welch_test(b, a)
    assert ab["mean_diff"] == pytest.approx(-ba["mean_diff"], abs=1e-9)
    if ab["t"] is not None:
        assert ab["t"] == pytest.approx(-ba["t"], rel=1e-9, abs=1e-9)
        assert ab["p"] == pytest.approx(ba["p"], rel=1e-9)


def test_mean_std_per_column():
    r = mean_std([[0.0, 1.0, 2.0], [2.0, 1.0, 4.0]])
    assert r["mean"] == [1.0, 1.0, 3.0]
    assert r["std"] == pytest.approx([math.sqrt(2), 0.0, math.sqrt(2)])
    assert mean_std([5.0]) == {"mean": 5.0, "std": 0.0}
    with pytest.raises(ValueError, match="at least one"):
        mean_std([])


def test_detectable_effect_shrinks_with_more_seeds():
    d2, d3, d10 = (detectable_effect(n, n) for n in (2, 3, 10))
    assert d2 > d3 > d10 > 1.0
    assert "no test is possible" in describe_power(1, 3)
    assert f"{d3:.1f}" in describe_power(3, 3)
