"""Reading query parameters and form fields typed or edited by hand: every bad value becomes a
message for the page, never an exception."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from engine.calendar import CST
from web.i18n import gettext as _

DAY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
MOMENT = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


class Params:
    """Values of ``source`` (request.args or request.form); problems collect in ``errors``."""

    def __init__(self, source: Mapping[str, str]):
        self.source = source
        self.errors: list[str] = []

    def raw(self, name: str) -> str:
        value = self.source.get(name)
        return value.strip() if isinstance(value, str) else ""

    def text(self, name: str, limit: int = 100) -> str | None:
        value = self.raw(name)
        if len(value) > limit:
            self.errors.append(_("「{name}」太长了", name=name))
            return None
        return value or None

    def choice(self, name: str, choices: Iterable[str], label: str) -> str | None:
        value = self.raw(name)
        if not value:
            return None
        if value not in set(choices):
            self.errors.append(_("{label}的选项不对", label=label))
            return None
        return value

    def integer(self, name: str, label: str, default: int | None = None, low: int = 0, high: int = 10**9) -> int | None:
        value = self.raw(name)
        if not value:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self.errors.append(_("{label}应当是 {low} 到 {high} 之间的整数", label=label, low=low, high=high))
            return default
        return int(value)

    def day(self, name: str, label: str, end: bool = False) -> datetime | None:
        """A date (China time) as the start of that day, or of the next one with ``end``."""
        value = self.raw(name)
        if not value:
            return None
        parsed = _date(value) if DAY.fullmatch(value) else None
        if parsed is None:
            self.errors.append(_("{label}不是有效的日期（例如 2026-03-01）", label=label))
            return None
        moment = datetime(parsed.year, parsed.month, parsed.day, tzinfo=CST)
        return moment + timedelta(days=1) if end else moment

    def moment(self, name: str, label: str) -> datetime | None:
        """A date and time (China time); a date alone means the end of that day."""
        value = self.raw(name)
        if not value:
            return None
        match = MOMENT.fullmatch(value)
        parsed = _date(match.group(1)) if match else None
        if match is None or parsed is None:
            self.errors.append(_("{label}不是有效的时间（例如 2026-03-01 09:30）", label=label))
            return None
        hour, minute, second = (int(match.group(i) or 0) for i in (2, 3, 4))
        if match.group(2) is None:
            return datetime(parsed.year, parsed.month, parsed.day, 23, 59, 59, tzinfo=CST)
        if hour > 23 or minute > 59 or second > 59:
            self.errors.append(_("{label}不是有效的时间（例如 2026-03-01 09:30）", label=label))
            return None
        return datetime(parsed.year, parsed.month, parsed.day, hour, minute, second, tzinfo=CST)

    def period(self) -> tuple[datetime | None, datetime | None]:
        since = self.day("since", _("开始日期"))
        until = self.day("until", _("结束日期"), end=True)
        if since and until and since >= until:
            self.errors.append(_("开始日期不能晚于结束日期"))
            return None, None
        return since, until


def _date(text: str) -> date | None:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        if year < 1900 or year > 2999:
            return None
        return date(year, month, day)
    except ValueError:
        return None
