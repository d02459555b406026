"""Checking a year's holiday calendar file (rules/calendar/<year>.yaml) before an administrator installs it.

Keys: ``year``, ``holidays``, ``workdays`` and the optional ``provisional`` (true while the State
Council's adjusted working days of the year are not confirmed; false in a county's file confirms them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml


def check_calendar(text: str) -> tuple[list[str], str]:
    """Problems of a calendar file, and a one-line summary of what it holds."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"], ""
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        return ["a calendar file is a mapping with 'year' (a number), 'holidays' and 'workdays' (lists of dates)"], ""
    year = data["year"]
    problems: list[str] = []
    days: dict[str, set[date]] = {}
    for name in ("holidays", "workdays"):
        values: Any = data.get(name) or []
        if not isinstance(values, list):
            problems.append(f"{name}: a list of dates")
            values = []
        parsed = set()
        for value in values:
            try:
                day = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                problems.append(f"{name}: not a date: {value!r}")
                continue
            if day.year != year:
                problems.append(f"{name}: {day} is not in {year}")
            parsed.add(day)
        days[name] = parsed
    for day in sorted(days["holidays"] & days["workdays"]):
        problems.append(f"{day} is both a holiday and a worked day")
    for day in sorted(days["workdays"]):
        if day.weekday() < 5:
            problems.append(f"workdays: {day} is a weekday; list only weekend days worked in lieu of a holiday")
    provisional = data.get("provisional")
    if provisional is not None and not isinstance(provisional, bool):
        problems.append("provisional: true or false")
    unknown = set(data) - {"year", "holidays", "workdays", "provisional"}
    if unknown:
        problems.append(f"unknown key(s): {', '.join(sorted(unknown))}")
    summary = f"{year}: {len(days['holidays'])} holidays, {len(days['workdays'])} worked weekend days"
    if provisional is True:
        summary += " (provisional: adjusted working days not confirmed)"
    return problems, summary
