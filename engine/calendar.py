"""Due times: calendar durations and working days (工作日) in China Standard Time.

Working days skip weekends and public holidays and count the adjusted working weekends (调休),
from the holiday calendar kept as data under ``rules/calendar/``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

CST = timezone(timedelta(hours=8), "CST")

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_time_limit(text: str) -> timedelta:
    """ISO 8601 durations in weeks, days, hours, minutes and seconds (months and years are ambiguous)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 duration of weeks/days/hours/minutes/seconds: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


@dataclass
class WorkCalendar:
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)  # weekend days that are working days (调休)

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th working day after the local day of ``start``."""
        day = start.astimezone(CST).date()
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working(day):
                remaining -= 1
        return datetime.combine(day, time(23, 59, 59), CST).astimezone(UTC)

    @classmethod
    def load(cls, folder: Path) -> WorkCalendar:
        import yaml

        calendar = cls()
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            calendar.holidays.update(date.fromisoformat(str(d)) for d in data.get("holidays", []))
            calendar.workdays.update(date.fromisoformat(str(d)) for d in data.get("workdays", []))
        return calendar


@lru_cache(maxsize=1)
def load_work_calendar() -> WorkCalendar:
    """Holidays of ``rules/calendar/`` plus a county's own under ``POWERLIST_RULES_DIR/calendar/``."""
    root = Path(__file__).resolve().parent.parent / "rules" / "calendar"
    calendar = WorkCalendar.load(root)
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / "calendar").is_dir():
        extra = WorkCalendar.load(Path(folder) / "calendar")
        calendar.holidays |= extra.holidays
        calendar.workdays |= extra.workdays
        calendar.holidays -= extra.workdays
    return calendar


def due_at(opened: datetime, time_limit: str | None, calendar: str, work_calendar: WorkCalendar) -> datetime | None:
    if not time_limit:
        return None
    delta = parse_time_limit(time_limit)
    if calendar == "working" and delta.seconds == 0 and delta.microseconds == 0:
        return work_calendar.add_working_days(opened, delta.days)
    return opened + delta
