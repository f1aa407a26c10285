"""The one check of a numeric setting: type, finiteness, sign, range, integrality."""

import math

import pytest

from coordbias._util.errors import UserTypeError, UserValueError
from coordbias._util.numbers import check_number

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize(
    ("value", "limits", "error", "words"),
    [
        (INF, {"above": 0}, UserValueError, "lr=inf is not accepted; accepted: a finite number >"),
        (-INF, {}, UserValueError, "lr=-inf is not accepted; accepted: a finite number"),
        (NAN, {"finite": False}, UserValueError, "lr=nan is not accepted; accepted: a number"),
        (0.0, {"above": 0}, UserValueError, "accepted: a finite number > 0"),
        (1.0, {"minimum": 0, "below": 1}, UserValueError, "accepted: a finite number in [0, 1)"),
        (-1, {"integer": True, "minimum": 0}, UserValueError, "accepted: an integer >= 0"),
        (2.5, {"integer": True}, UserValueError, "lr=2.5 is not accepted; accepted: an integer"),
        (INF, {"integer": True, "finite": False}, UserValueError, "accepted: an integer"),
        (11, {"maximum": 10}, UserValueError, "accepted: a finite number <= 10"),
        ("1e-3", {}, UserTypeError, "lr='1e-3' is a str, not a number"),
        (True, {}, UserTypeError, "lr=True is a bool, not a number"),
        (None, {}, UserTypeError, "lr=None is a NoneType, not a number"),
    ],
)
def test_a_value_the_setting_cannot_hold_is_named_with_what_is_accepted(
    value, limits, error, words
):
    with pytest.raises(error) as info:
        check_number("lr", value, **limits)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("value", "limits", "expected"),
    [
        (0.1, {"above": 0}, 0.1),
        (0, {"minimum": 0, "below": 1}, 0),
        (3.0, {"integer": True}, 3),
        (INF, {"finite": False, "above": 0}, INF),
        (10, {"maximum": 10}, 10),
    ],
)
def test_a_value_it_can_hold_is_returned(value, limits, expected):
    result = check_number("x", value, **limits)
    assert result == expected and type(result) is type(expected)
