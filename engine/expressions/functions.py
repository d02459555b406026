"""The functions every expression may call, and the size limits all values obey."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from engine.expressions.errors import ExpressionError
from engine.expressions.limits import (
    MAX_INT_BITS,
    MAX_SEQUENCE_LENGTH,
    OBJECT_BYTES,
    POINTER_BYTES,
    charge,
    text_of,
)

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


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SHOWN_CHARS = 40  # of a bad value named in an error
MONTH_TEXT_BYTES = OBJECT_BYTES + len("YYYY-MM")


def _iso_date(value: Any, function: str) -> date:
    """A form's date, ``YYYY-MM-DD`` exactly (a time or a compact ``20260331`` is not one)."""
    if type(value) is date:
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        shown = repr(value[:SHOWN_CHARS]) if isinstance(value, str) else type(value).__name__
        raise ExpressionError(f"{function}() takes ISO dates (YYYY-MM-DD), not {shown}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ExpressionError(f"{function}() takes ISO dates (YYYY-MM-DD), not {value!r}") from None


def _month_span(start: Any, end: Any) -> int:
    """How many calendar months are started from ``start`` to ``end``, both days included.

    ``month_span("2026-03-31", "2026-04-01")`` is 2 (March and April), a span inside one month is
    1 and an ``end`` before ``start`` is 0: the months a monthly duty (an inspection) covers.
    """
    first, last = _iso_date(start, "month_span"), _iso_date(end, "month_span")
    if last < first:
        return 0
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _months(dates: Any) -> list[str]:
    """The distinct months (``"YYYY-MM"``) of a list of ISO dates, earliest first.

    ``len(months(inspection_dates)) >= month_span(started_on, completed_on)``, with every date
    inside the span, says that no month of it went without one.
    """
    if not isinstance(dates, list | tuple):
        raise ExpressionError("months() takes a list of ISO dates")
    if len(dates) > MAX_SEQUENCE_LENGTH:
        raise ExpressionError(f"months() takes at most {MAX_SEQUENCE_LENGTH} dates")
    found = sorted({_iso_date(value, "months").isoformat()[:7] for value in dates})
    charge(OBJECT_BYTES + len(found) * (POINTER_BYTES + MONTH_TEXT_BYTES))
    return found


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
    "month_span": _month_span,
    "months": _months,
}

# Python builtins other than the ones above can never be called, whatever a caller supplies.
FORBIDDEN_FUNCTIONS = frozenset(dir(builtins)) - frozenset(BUILTIN_FUNCTIONS)

__all__ = ["BUILTIN_FUNCTIONS", "FORBIDDEN_FUNCTIONS", "MAX_INT_BITS", "MAX_ROUND_DIGITS", "MAX_SEQUENCE_LENGTH"]
