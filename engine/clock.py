"""The engine's notion of "now", settable by tests and demos so time-dependent behaviour is tested
without sleeping.

SpiffWorkflow reads the wall clock inside its timer module; :func:`install` points that module at
this clock too, so BPMN timers and the engine agree on the time.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import overload


class Clock:
    """System time unless set; ``set``/``advance`` move it for simulations."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        fixed = self._fixed
        return fixed if fixed is not None else datetime.now(UTC)

    def set(self, when: datetime | None) -> None:
        if when is not None and when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            self._fixed = when.astimezone(UTC) if when is not None else None

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._fixed = (self._fixed or datetime.now(UTC)) + delta
            return self._fixed

    @property
    def simulated(self) -> bool:
        return self._fixed is not None


clock = Clock()


def now() -> datetime:
    return clock.now()


def simulated_time_allowed() -> bool:
    """Simulated time (``--as-of``, ``POWERLIST_NOW``) is for tests and demos only."""
    return os.environ.get("POWERLIST_ALLOW_SIMULATED_TIME", "") in ("1", "true", "yes")


def configure_from_environment() -> None:
    value = os.environ.get("POWERLIST_NOW")
    if value and simulated_time_allowed():
        clock.set(datetime.fromisoformat(value))


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = clock.now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers read :data:`clock`."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _EngineDatetime


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; databases without time zones (SQLite) return naive UTC datetimes. None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@overload
def format_time(at: datetime) -> str: ...
@overload
def format_time(at: None) -> None: ...
def format_time(at: datetime | None) -> str | None:
    """The one spelling of a time in history hashes, records and exports: UTC to the microsecond with
    a ``Z`` (``2026-01-01T08:00:00.000000Z``). None stays None."""
    if at is None:
        return None
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
