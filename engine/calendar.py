"""Due times: calendar durations and working days (工作日) in China Standard Time.

Working days skip weekends and public holidays and count the adjusted working weekends (调休).
The national holidays come from the ``chinesecalendar`` package for the years it covers and from
``rules/calendar/<year>.yaml`` (a year's file replaces the package's data for that year); a county
adds its own under ``POWERLIST_RULES_DIR/calendar/``. A year with no data at all is counted by
weekends only, and :meth:`WorkCalendar.missing_years` names it so the caller can warn loudly.

A year's file may say ``provisional: true``: its statutory holidays are known (《全国年节及纪念日放假办法》)
but the State Council's adjusted working days (调休) are not yet. Such a year is counted as listed and
warned about once, until the package or the file is updated or a county confirms the year in its own
file with ``provisional: false``. A provisional file never replaces a year the package covers.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from engine.texts import text

CST = timezone(timedelta(hours=8), "CST")
WORKDAY_START = time(9, 0)  # a reminder moved off a day off arrives at this time of the next working day

log = logging.getLogger(__name__)


def local_iso(at: datetime | str | None) -> str | None:
    """A time as ISO 8601 in China time (``2026-11-05T09:00:00+08:00``), for people to read."""
    if at is None or at == "":
        return None
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CST).replace(microsecond=0).isoformat()


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
    years: set[int] = field(default_factory=set)  # years whose holidays are known
    provisional: set[int] = field(default_factory=set)  # years whose 调休 are not confirmed yet
    confirmed: set[int] = field(default_factory=set)  # years a file declares confirmed (provisional: false)
    warned: set[int] = field(default_factory=set, repr=False)  # provisional years already warned about

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def missing_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between the local days of ``start`` and ``end`` that have no holiday data."""
        first, last = sorted((as_local_day(start), as_local_day(end)))
        return [year for year in range(first.year, last.year + 1) if year not in self.years]

    def provisional_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between the local days of ``start`` and ``end`` whose adjusted working days are provisional."""
        first, last = sorted((as_local_day(start), as_local_day(end)))
        return [year for year in range(first.year, last.year + 1) if year in self.provisional]

    def warn_provisional(self, years: list[int]) -> list[int]:
        """Log the provisional years not warned about yet (once per year and calendar); returns them."""
        new = [year for year in years if year in self.provisional and year not in self.warned]
        if new:
            self.warned.update(new)
            log.warning("%s", text("calendar.provisional_warning", years=", ".join(map(str, new))))
        return new

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
        missing = self.missing_years(start, datetime.combine(day, time(12), CST))
        if missing:
            log.warning(
                "no holiday calendar for %s: working days up to %s counted by weekends only "
                "(add rules/calendar/<year>.yaml or upgrade chinesecalendar)",
                ", ".join(map(str, missing)),
                day,
            )
        self.warn_provisional(self.provisional_years(start, datetime.combine(day, time(12), CST)))
        return datetime.combine(day, time(23, 59, 59), CST).astimezone(UTC)

    def next_working_start(self, at: datetime) -> datetime:
        """``at`` itself on a working day, else the start of the next working day (China time)."""
        day = as_local_day(at)
        if self.is_working(day):
            return at
        while not self.is_working(day):
            day += timedelta(days=1)
        return datetime.combine(day, WORKDAY_START, CST).astimezone(UTC)

    def working_point(self, start: datetime, end: datetime, share: float) -> datetime:
        """The instant when ``share`` (0–1) of the working time between ``start`` and ``end`` is used.

        Only the hours of working days count, so a share of a working-day limit never lands on a
        weekend or holiday (when the limit has any working time at all).
        """
        start, end = start.astimezone(CST), end.astimezone(CST)
        spans: list[tuple[datetime, datetime]] = []
        day = start.date()
        while day <= end.date():
            if self.is_working(day):
                lo = max(start, datetime.combine(day, time(0), CST))
                hi = min(end, datetime.combine(day + timedelta(days=1), time(0), CST))
                if hi > lo:
                    spans.append((lo, hi))
            day += timedelta(days=1)
        total = sum(((hi - lo) for lo, hi in spans), timedelta(0))
        if not spans:
            return self.next_working_start(start + (end - start) * share).astimezone(UTC)
        wanted = total * share
        for lo, hi in spans:
            if hi - lo >= wanted:
                return (lo + wanted).astimezone(UTC)
            wanted -= hi - lo
        return spans[-1][1].astimezone(UTC)

    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        """``start`` plus whole days counted as working days (the rest of ``delta`` as is)."""
        if delta.days <= 0:
            return start + delta
        return self.add_working_days(start, delta.days) + timedelta(seconds=delta.seconds)

    @classmethod
    def load(cls, folder: Path) -> WorkCalendar:
        import yaml

        calendar = cls()
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            calendar.holidays.update(date.fromisoformat(str(d)) for d in data.get("holidays", []))
            calendar.workdays.update(date.fromisoformat(str(d)) for d in data.get("workdays", []))
            year = data.get("year")
            if isinstance(year, int):
                calendar.years.add(year)
                if data.get("provisional") is True:
                    calendar.provisional.add(year)
                elif data.get("provisional") is False:
                    calendar.confirmed.add(year)
        return calendar

    @classmethod
    def national(cls) -> WorkCalendar:
        """The State Council's holidays and adjusted working days from ``chinesecalendar`` (empty without it)."""
        try:
            from chinese_calendar import constants
        except ImportError:  # pragma: no cover - a declared dependency
            log.warning("the chinesecalendar package is not installed: only rules/calendar/*.yaml is used")
            return cls()
        holidays = set(constants.holidays)
        workdays = set(constants.workdays)
        return cls(holidays, workdays, {d.year for d in holidays})

    def replace_years(self, other: WorkCalendar) -> None:
        """Take ``other``'s data for the years it declares, dropping ours for those years.

        A provisional year of ``other`` is skipped when we already have that year: confirmed data
        (the State Council's arrangement in the package) is never replaced by a provisional file.
        """
        skipped = other.provisional & self.years
        taken = other.years - skipped
        self.holidays = {d for d in self.holidays if d.year not in taken} | {
            d for d in other.holidays if d.year in taken
        }
        self.workdays = {d for d in self.workdays if d.year not in taken} | {
            d for d in other.workdays if d.year in taken
        }
        self.provisional = (self.provisional - taken) | (other.provisional & taken)
        self.years |= taken

    def override(self, other: WorkCalendar) -> None:
        """A county's own days off and worked days, on top of the national ones; ``provisional: false``
        in the county's file confirms a provisional year, ``provisional: true`` marks one."""
        self.holidays = (self.holidays | other.holidays) - other.workdays
        self.workdays = (self.workdays | other.workdays) - other.holidays
        self.years |= other.years
        self.provisional = (self.provisional | other.provisional) - other.confirmed


def as_local_day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CST).date()


RULES_CALENDAR = Path(__file__).resolve().parent.parent / "rules" / "calendar"


@lru_cache(maxsize=1)
def load_work_calendar() -> WorkCalendar:
    """National holidays (``chinesecalendar``, then ``rules/calendar/`` per year) and a county's own
    under ``POWERLIST_RULES_DIR/calendar/``."""
    calendar = WorkCalendar.national()
    calendar.replace_years(WorkCalendar.load(RULES_CALENDAR))
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / "calendar").is_dir():
        calendar.override(WorkCalendar.load(Path(folder) / "calendar"))
    return calendar


def due_at(opened: datetime, time_limit: str | None, calendar: str, work_calendar: WorkCalendar) -> datetime | None:
    if not time_limit:
        return None
    delta = parse_time_limit(time_limit)
    if calendar == "working" and delta.seconds == 0 and delta.microseconds == 0:
        return work_calendar.add_working_days(opened, delta.days)
    return opened + delta
