"""Input checks shared by every config and command: check once at the boundary, name the bad value.

Each helper returns the checked value (converted where that is lossless) or raises :class:`ValueError` with a
message naming the option, the value and what is allowed — the scikit-learn ``check_scalar`` style. Non-finite
numbers fail every check: ``nan <= 0`` is False, so a plain comparison would let them through.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = ["check_int", "check_float", "check_probability", "check_choice"]


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]`` (booleans and non-integral numbers refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """``value`` as a finite float within the given bounds (open or closed at each end)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value < minimum or (not include_minimum and value == minimum)):
        raise ValueError(f"{name} must be {'>=' if include_minimum else '>'} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (not include_maximum and value == maximum)):
        raise ValueError(f"{name} must be {'<=' if include_maximum else '<'} {maximum}, got {value}")
    return value


def check_probability(name: str, value: Any, *, include_one: bool = False) -> float:
    """A finite float in ``[0, 1)`` (or ``[0, 1]`` with ``include_one``): dropout rates, pruning fractions."""
    return check_float(name, value, 0.0, 1.0, include_maximum=include_one)


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """``value`` if it is one of ``choices``; the error lists them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value
