"""The functions every expression may call, and the size limits all values obey."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from engine.expressions.errors import ExpressionError
from engine.expressions.limits import MAX_INT_BITS, MAX_SEQUENCE_LENGTH, text_of

MAX_ROUND_DIGITS = 20


def _round(number: Any, ndigits: Any = None) -> Any:
    # round(7, -10**6) would build 10**(10**6) before answering.
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS):
        raise ExpressionError(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    return round(number) if ndigits is None else round(number, ndigits)


def _sum(values: Any, start: Any = 0) -> Any:
    # A list or string start value would make sum() a quadratic concatenation.
    if not isinstance(start, int | float):
        raise ExpressionError("sum() only adds numbers")
    return sum(values, start)


def _str(value: Any = "") -> str:
    # str() of a list that holds one long list many times would be far larger than the list.
    return text_of(value)


def _distinct(values: Any) -> list[Any]:
    """The values of a list without repeats, in order; names count once however they are spaced
    (``len(distinct(reviewers))``: how many different people signed)."""
    if not isinstance(values, list | tuple):
        raise ExpressionError("distinct() takes a list")
    seen: set[Any] = set()
    result: list[Any] = []
    for value in values:
        key = " ".join(value.split()) if isinstance(value, str) else value
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:
            raise ExpressionError("distinct() takes a list of names, numbers or other plain values") from None
        result.append(value)
    return result


BUILTIN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _round,
    "sum": _sum,
    "any": any,
    "all": all,
    "int": int,
    "str": _str,
    "bool": bool,
    "float": float,
    "distinct": _distinct,
}

# Python builtins other than the ones above can never be called, whatever a caller supplies.
FORBIDDEN_FUNCTIONS = frozenset(dir(builtins)) - frozenset(BUILTIN_FUNCTIONS)

__all__ = ["BUILTIN_FUNCTIONS", "FORBIDDEN_FUNCTIONS", "MAX_INT_BITS", "MAX_ROUND_DIGITS", "MAX_SEQUENCE_LENGTH"]
