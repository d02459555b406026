"""Ids that come from outside (a URL, a command line, a JSON body), checked against the database's range.

Id columns declared ``BigId`` are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite: they hold
1 to 2**63-1. Plain ``Integer`` columns (most configuration tables, flow version numbers) are
INTEGER on PostgreSQL: 1 to 2**31-1. A number outside its column's range names no row; sent to the
database it would fail the query instead, so lookups answer "not found" before asking.
"""

from __future__ import annotations

from engine.errors import NotFound

MAX_ID = 2**31 - 1  # Integer columns on PostgreSQL
MAX_BIG_ID = 2**63 - 1  # BigId columns (PostgreSQL BIGINT, SQLite INTEGER)
MAX_ID_DIGITS = len(str(MAX_BIG_ID))


def max_id(big: bool = True) -> int:
    """The largest id a ``BigId`` column (``big``) or an ``Integer`` column holds."""
    return MAX_BIG_ID if big else MAX_ID


def valid_id(value: object, big: bool = True) -> bool:
    """True for an int (not a bool) from 1 to :func:`max_id`."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= max_id(big)


def parse_id(value: object, big: bool = True) -> int | None:
    """An id given as an int or as ASCII decimal digits, or None when it cannot name a row.

    Digits are counted before they are converted, so a text of any length costs nothing.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if valid_id(value, big) else None
    if not isinstance(value, str):
        return None
    digits = value.strip()
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    digits = digits.lstrip("0")
    if not digits or len(digits) > MAX_ID_DIGITS:
        return None
    number = int(digits)
    return number if valid_id(number, big) else None


def require_id(value: object, what: str = "id", big: bool = True) -> int:
    """The id, or :class:`NotFound` naming ``what`` when no row can have it."""
    number = parse_id(value, big)
    if number is None:
        raise NotFound(f"no {what} {str(value)[:40]}", field=what)
    return number
