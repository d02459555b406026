"""ISO 8601 timer values: durations (P3D), date-times (2026-01-01T00:00:00+08:00), cycles (R3/PT1H)."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from engine.expressions.errors import ExpressionError

_NUMBER = r"\d+(?:[.,]\d+)?"
DURATION_RE = re.compile(
    rf"P(?!$)(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?"
)
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?P<offset>Z|[+-]\d{2}:?\d{2})?")
ISO_TIMER_RE = re.compile(rf"(?:{DURATION_RE.pattern})|(?:{DATETIME_RE.pattern})|R\d*/[-+:.,\dA-Z/]+")

MAX_NUMBER_CHARS = 20  # no duration part is longer; a far longer one would only overflow

_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


def duration_parts(text: str) -> dict[str, float]:
    """Components of an ISO 8601 duration, e.g. ``{"days": 3}``; ExpressionError if invalid.

    Mirrors what SpiffWorkflow's timers accept: weeks may not be combined with years, months or
    days, and only the last component may have a fraction.
    """
    match = DURATION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ExpressionError(f"not an ISO 8601 duration (like P3D or PT48H): {text!r}")
    given = [(unit, value) for unit, value in match.groupdict().items() if value is not None]
    if not given:
        raise ExpressionError(f"ISO 8601 duration without any value: {text!r}")
    if "weeks" in dict(given) and any(unit in ("years", "months", "days") for unit, _ in given):
        raise ExpressionError(f"weeks cannot be combined with years, months or days: {text!r}")
    parts: dict[str, float] = {}
    for index, (unit, value) in enumerate(given):
        if len(value) > MAX_NUMBER_CHARS:
            raise ExpressionError(f"duration out of range: {text[:40]!r}")
        if not value.isdigit() and index != len(given) - 1:
            raise ExpressionError(f"only the last part of a duration may have a fraction: {text!r}")
        parts[unit] = int(value) if value.isdigit() else float(value.replace(",", "."))
    return parts


def is_iso8601_duration(text: str) -> bool:
    try:
        duration_parts(text)
    except ExpressionError:
        return False
    return True


def is_iso8601_datetime(text: str, require_offset: bool = False) -> bool:
    if not isinstance(text, str):
        return False
    match = DATETIME_RE.fullmatch(text.strip())
    if match is None or (require_offset and match.group("offset") is None):
        return False
    try:
        datetime.fromisoformat(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


def is_iso8601_cycle(text: str) -> bool:
    """``R[n]/duration``, ``R[n]/start/duration`` or ``R[n]/duration/end``."""
    if not isinstance(text, str):
        return False
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0]):
        return False
    durations = [is_iso8601_duration(p) for p in parts[1:]]
    datetimes = [is_iso8601_datetime(p) for p in parts[1:]]
    if not all(d or t for d, t in zip(durations, datetimes, strict=True)):
        return False
    if len(parts) == 2:
        return durations[0]
    return durations.count(True) == 1 and datetimes.count(True) >= 1


def is_iso8601_timer(text: str) -> bool:
    """True for a bare ISO 8601 duration, date-time or cycle (not for a quoted one)."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if not text or ISO_TIMER_RE.fullmatch(text) is None:
        return False
    return is_iso8601_duration(text) or is_iso8601_datetime(text) or is_iso8601_cycle(text)


def parse_duration(text: str) -> timedelta:
    """A duration as a timedelta; years and months have no fixed length and are rejected
    (use :func:`add_duration` for them)."""
    parts = duration_parts(text)
    if "years" in parts or "months" in parts:
        raise ExpressionError(f"years and months have no fixed length; write days instead: {text!r}")
    return _timedelta(parts, text)


def add_duration(start: datetime, text: str) -> datetime:
    """``start`` plus a duration; years and months move along the calendar (Jan 31 + P1M = Feb 28/29)."""
    parts = duration_parts(text)
    months = parts.pop("years", 0) * 12 + parts.pop("months", 0)
    if months != int(months):
        raise ExpressionError(f"fractions of years or months are not supported: {text!r}")
    try:
        result = _add_months(start, int(months)) if months else start
        return result + _timedelta(parts, text)
    except (OverflowError, ValueError):
        raise ExpressionError(f"duration out of range: {text!r}") from None


def _timedelta(parts: dict[str, float], text: str) -> timedelta:
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ExpressionError(f"duration out of range: {text!r}") from None


def _add_months(start: datetime, months: int) -> datetime:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


__all__ = [
    "DATETIME_RE",
    "DURATION_RE",
    "ISO_TIMER_RE",
    "add_duration",
    "duration_parts",
    "is_iso8601_cycle",
    "is_iso8601_datetime",
    "is_iso8601_duration",
    "is_iso8601_timer",
    "parse_duration",
]
