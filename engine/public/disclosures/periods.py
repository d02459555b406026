"""The 三务公开 calendar as rule data (``rules/defaults/disclosures.yaml``, checked) and its periods."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from engine.calendar import CST, load_work_calendar
from engine.errors import FieldError, FormInvalid
from engine.ruleset import DEFAULTS, AreaRulesInvalid, area_rules
from engine.texts import text

FILE, TOP = "disclosures.yaml", "disclosures"
KINDS = ("finance", "village_affairs", "party_affairs")
EVERY = ("month", "quarter")


@dataclass(frozen=True)
class KindRule:
    kind: str
    title: str
    every: str
    month_after: int
    day: int
    next_working_day: bool
    contains: tuple[str, ...]
    legal_basis: str


@dataclass(frozen=True)
class Calendar:
    kinds: dict[str, KindRule]
    checks_from: date | None
    places: tuple[str, ...]
    note_chars: int
    report: dict[str, Any]


def calendar_rules() -> Calendar:
    """The calendar as this deployment's rule files say, checked: every problem names file and key.
    Read again whenever the default or the county's file changes (by path and modification time)."""
    folder = os.environ.get("POWERLIST_RULES_DIR")
    files = [DEFAULTS / FILE, *([Path(folder) / FILE] if folder else [])]
    stamp = tuple((str(f), f.stat().st_mtime_ns if f.is_file() else None) for f in files)
    if _CACHE.get("stamp") != stamp:
        _CACHE.clear()
        _CACHE.update(stamp=stamp, rules=_read_rules())
    return _CACHE["rules"]


_CACHE: dict[str, Any] = {}


def _read_rules() -> Calendar:
    data = area_rules(FILE, TOP, text("disclosures.rules_description"))
    problems: list[str] = []
    where = f"{FILE}: {TOP}"
    kinds: dict[str, KindRule] = {}
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, dict) or not raw_kinds:
        problems.append(f"{where}.kinds: a mapping of kind: rule")
        raw_kinds = {}
    for kind, spec in raw_kinds.items():
        key = f"{where}.kinds.{kind}"
        if kind not in KINDS:
            problems.append(f"{key}: unknown kind (one of {', '.join(KINDS)})")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{key}: a mapping")
            continue
        due = spec.get("due") if isinstance(spec.get("due"), dict) else {}
        every, month_after, day = spec.get("every"), due.get("month_after", 1), due.get("day")
        on_day_off = due.get("on_day_off", "next_working_day")
        if every not in EVERY:
            problems.append(f"{key}.every: month or quarter")
        if not isinstance(month_after, int) or not 1 <= month_after <= 3:
            problems.append(f"{key}.due.month_after: a whole number from 1 to 3")
        if not isinstance(day, int) or not 1 <= day <= 28:
            problems.append(f"{key}.due.day: a day of the month from 1 to 28")
        if on_day_off not in ("next_working_day", "keep"):
            problems.append(f"{key}.due.on_day_off: next_working_day or keep")
        if not isinstance(spec.get("title"), str) or not spec.get("title"):
            problems.append(f"{key}.title: the kind's Chinese title")
        if problems:
            continue
        kinds[kind] = KindRule(
            kind,
            spec["title"],
            every,
            month_after,
            day,
            on_day_off == "next_working_day",
            tuple(str(c) for c in spec.get("contains") or ()),
            str(spec.get("legal_basis") or ""),
        )
    checks_from = data.get("checks_from")
    if checks_from is not None and not isinstance(checks_from, date):
        try:
            checks_from = date.fromisoformat(str(checks_from))
        except ValueError:
            problems.append(f"{where}.checks_from: a date (YYYY-MM-DD) or null")
    places = data.get("places") or []
    if not isinstance(places, list) or not all(isinstance(p, str) and p for p in places):
        problems.append(f"{where}.places: a list of place names")
        places = []
    note_chars = data.get("note_chars", 300)
    if not isinstance(note_chars, int) or note_chars < 1:
        problems.append(f"{where}.note_chars: a positive whole number")
    report = data.get("semiannual_report") or {}
    if not isinstance(report, dict):
        problems.append(f"{where}.semiannual_report: a mapping")
        report = {}
    if problems:
        raise AreaRulesInvalid(problems)
    return Calendar(kinds, checks_from, tuple(places), note_chars, report)


# -------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    kind: str
    key: str  # 2026-11 | 2026Q3
    first: date
    last: date
    due: date

    @property
    def title(self) -> str:
        if "Q" in self.key:
            year, quarter = self.key.split("Q")
            return text("disclosures.period.quarter", year=year, quarter=quarter)
        year, month = self.key.split("-")
        return text("disclosures.period.month", year=year, month=int(month))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bounds(every: str, key: str) -> tuple[date, date]:
    try:
        if every == "quarter":
            year, quarter = key.split("Q")
            first = date(int(year), (int(quarter) - 1) * 3 + 1, 1)
            if not 1 <= int(quarter) <= 4:
                raise ValueError
            months = 3
        else:
            year, month = key.split("-")
            first = date(int(year), int(month), 1)
            months = 1
    except ValueError:
        shape = "2026Q3" if every == "quarter" else "2026-11"
        problem = FieldError.coded("period", "disclosure.bad_period", period=key, shape=shape)
        raise FormInvalid(text("disclosures.forms.disclosure"), [problem]) from None
    return first, _add_months(first, months) - timedelta(days=1)


def _key_of(every: str, day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}" if every == "quarter" else f"{day.year}-{day.month:02d}"


def due_day(rule: KindRule, last: date) -> date:
    """The last day to post a period ending ``last``: the rule's day of the month ``month_after`` months
    later, moved to the next working day when it is a day off and the rule says so."""
    due = _add_months(last.replace(day=1), rule.month_after).replace(day=rule.day)
    if rule.next_working_day:
        work = load_work_calendar()
        while not work.is_working(due):
            due += timedelta(days=1)
    return due


def period(rules: Calendar, kind: str, key: str) -> Period:
    rule = _kind_rule(rules, kind)
    first, last = bounds(rule.every, key)
    return Period(kind, _key_of(rule.every, first), first, last, due_day(rule, last))


def periods_ended(rules: Calendar, kind: str, today: date, count: int) -> list[Period]:
    """The ``count`` latest periods of ``kind`` that ended before ``today``, newest first."""
    rule = _kind_rule(rules, kind)
    step = 3 if rule.every == "quarter" else 1
    first, _ = bounds(rule.every, _key_of(rule.every, today))
    found = []
    for n in range(1, count + 1):
        found.append(period(rules, kind, _key_of(rule.every, _add_months(first, -step * n))))
    return found


def _kind_rule(rules: Calendar, kind: str) -> KindRule:
    if kind not in rules.kinds:
        choices = text("public.list.separator").join(
            text("public.list.choice", code=k, name=r.title) for k, r in rules.kinds.items()
        )
        problem = FieldError.coded("kind", "disclosure.unknown_kind", kind=kind, choices=choices)
        raise FormInvalid(text("disclosures.forms.disclosure"), [problem])
    return rules.kinds[kind]


def moment(day: date) -> datetime:
    return datetime.combine(day, time(0), CST).astimezone(UTC)


def places() -> list[str]:
    return list(calendar_rules().places)
