"""The one check of a numeric setting: its type, finiteness, sign and range (stdlib only).

Every number a user gives (a ``TrainConfig`` field, a study's ``--set``, a benchmark's option)
goes through :func:`check_number`, so that ``inf``, ``nan``, a negative count or a fraction where
a count is expected is refused before any work starts, with one message that names the setting,
the value and what is accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

from coordbias._util.errors import UserTypeError, UserValueError

__all__ = ["Limits", "accepted_range", "check_number"]


@dataclass(frozen=True)
class Limits:
    """What a numeric setting accepts.

    Attributes:
        minimum, maximum: inclusive bounds (``None``: none).
        above, below: exclusive bounds (``None``: none).
        integer: only integers (an ``int``, or a float with an integral value such as ``2.0``).
        finite: refuse ``inf`` and ``nan`` (``nan`` is always refused: it fits no range).
    """

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    below: float | None = None
    integer: bool = False
    finite: bool = True

    def words(self) -> str:
        """What these limits accept, in words (see :func:`accepted_range`)."""
        kind = "an integer" if self.integer else ("a finite number" if self.finite else "a number")
        low = (self.minimum, "[", ">=") if self.minimum is not None else (self.above, "(", ">")
        high = (self.maximum, "]", "<=") if self.maximum is not None else (self.below, ")", "<")
        if low[0] is not None and high[0] is not None:
            return f"{kind} in {low[1]}{low[0]:g}, {high[0]:g}{high[1]}"
        if low[0] is not None:
            return f"{kind} {low[2]} {low[0]:g}"
        if high[0] is not None:
            return f"{kind} {high[2]} {high[0]:g}"
        return kind

    def accepts(self, number: float) -> bool:
        """Whether the real ``number`` is within these limits."""
        if math.isnan(number) or (self.finite and math.isinf(number)):
            return False
        if self.integer and (not math.isfinite(number) or number != int(number)):
            return False
        return not (
            (self.minimum is not None and number < self.minimum)
            or (self.maximum is not None and number > self.maximum)
            or (self.above is not None and number <= self.above)
            or (self.below is not None and number >= self.below)
        )


def accepted_range(**limits: Any) -> str:
    """What :func:`check_number` accepts, in words: ``'an integer >= 1'``, ``'a finite number
    in [0, 1)'``.

    Args:
        **limits: the fields of :class:`Limits`.

    Example:
        >>> accepted_range(minimum=0, below=1)
        'a finite number in [0, 1)'
        >>> accepted_range(integer=True, minimum=1)
        'an integer >= 1'
    """
    return Limits(**limits).words()


def check_number(name: str, value: object, **limits: Any) -> float | int:
    """Return ``value`` when it is a number that the setting ``name`` can hold, else raise.

    Args:
        name: how the user named the setting (``lr``, ``--threads``), for the message.
        value: the value; ``bool`` is not a number here.
        **limits: the fields of :class:`Limits`: ``minimum``, ``maximum`` (inclusive bounds),
            ``above``, ``below`` (exclusive bounds), ``integer`` (only integers: an ``int``, or a
            float with an integral value such as ``2.0``, returned as ``int``), ``finite``
            (refuse ``inf`` and ``nan``; ``nan`` is always refused: it fits no range).

    Raises:
        UserTypeError: ``value`` is not a number (a string, a list, a bool, ``None``).
        UserValueError: naming ``name``, the value and what is accepted.

    Example:
        >>> check_number("lr", 0.1, above=0)
        0.1
        >>> check_number("lr", float("inf"), above=0)
        Traceback (most recent call last):
        ...
        coordbias._util.errors.UserValueError: lr=inf is not accepted; accepted: a finite number > 0
    """
    bounds = Limits(**limits)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise UserTypeError(
            f"{name}={value!r} is a {type(value).__name__}, not a number; "
            f"accepted: {bounds.words()}"
        )
    number = float(value)
    if not bounds.accepts(number):
        raise UserValueError(f"{name}={value!r} is not accepted; accepted: {bounds.words()}")
    if bounds.integer and not isinstance(value, int):
        return int(number)
    return value
