"""The kinds of subsidy and the flows that feed rosters: ``rules/defaults/subsidies.yaml`` checked; periods."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from engine import caches
from engine.errors import PowerlistError
from engine.ruleset import AreaRulesInvalid, area_rules
from engine.texts import data, text, texts

RULE_FILE = "subsidies.yaml"
PERIOD_STYLES = ("month", "quarter", "year")
COLUMNS = ("name", "id_number", "group", "people", "amount", "paid_on")


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    period: str
    published: tuple[str, ...]


@dataclass(frozen=True)
class FlowSource:
    flow: str
    step: str
    approved: str
    kind: str
    kinds: dict[str, str]
    name: str
    id_number: str
    people: str | None
    amount_fen: str
    paid_on: str | None


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, Kind]
    flows: tuple[FlowSource, ...]
    tries_per_hour: int
    wrong_per_code_per_day: int


def rules() -> Rules:
    """``rules/defaults/subsidies.yaml`` with the county's file merged over it, checked (read again
    when either file or the rule folder changes: every completed step asks for the flows)."""
    import os
    from pathlib import Path

    from engine.ruleset import DEFAULTS

    folder = os.environ.get("POWERLIST_RULES_DIR")
    files = [DEFAULTS / RULE_FILE, *([Path(folder) / RULE_FILE] if folder else [])]
    key = (folder, *(path.stat().st_mtime_ns if path.is_file() else None for path in files))
    return _rules_of(key)


@lru_cache(maxsize=1)
def _rules_of(key: tuple[Any, ...]) -> Rules:
    """The rules read once per ``key``: safe to keep, since the key names the rule folder and the
    files' modification times, so a changed file is read again."""
    return _read_rules()


caches.register(_rules_of.cache_clear)


def _read_rules() -> Rules:
    data = area_rules(RULE_FILE, "subsidies", "the subsidy rosters' rule file")
    problems: list[str] = []
    kinds: dict[str, Kind] = {}
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, dict) or not raw_kinds:
        problems.append(f"{RULE_FILE}: subsidies.kinds is a mapping of kind code to its name, period and columns")
        raw_kinds = {}
    for code, spec in raw_kinds.items():
        where = f"{RULE_FILE}: subsidies.kinds.{code}"
        if not isinstance(spec, dict):
            problems.append(f"{where} is a mapping with name, period and published")
            continue
        name, period, published = spec.get("name"), spec.get("period"), spec.get("published")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name is the kind's Chinese name")
        if period not in PERIOD_STYLES:
            problems.append(f"{where}.period is one of {', '.join(PERIOD_STYLES)}, not {period!r}")
        if not isinstance(published, list) or any(column not in COLUMNS for column in published):
            problems.append(f"{where}.published lists columns among {', '.join(COLUMNS)}")
            published = []
        if "amount" not in (published or []):
            problems.append(f"{where}.published must include amount: where the money went is the point")
        kinds[str(code)] = Kind(str(code), str(name), str(period), tuple(published or ()))
    flows: list[FlowSource] = []
    for index, spec in enumerate(data.get("flows") or []):
        where = f"{RULE_FILE}: subsidies.flows[{index}]"
        keys = ("flow", "step", "approved", "kind", "name", "id_number", "amount_fen")
        if not isinstance(spec, dict) or any(not isinstance(spec.get(key), str) for key in keys):
            problems.append(f"{where} names flow, step, approved, kind, name, id_number and amount_fen")
            continue
        mapping = spec.get("kinds") or {}
        if not isinstance(mapping, dict) or any(value not in kinds for value in mapping.values()):
            problems.append(f"{where}.kinds maps the form's values to kinds of subsidies.kinds")
            continue
        flows.append(
            FlowSource(
                flow=spec["flow"],
                step=spec["step"],
                approved=spec["approved"],
                kind=spec["kind"],
                kinds={str(k): str(v) for k, v in mapping.items()},
                name=spec["name"],
                id_number=spec["id_number"],
                people=spec.get("people"),
                amount_fen=spec["amount_fen"],
                paid_on=spec.get("paid_on"),
            )
        )
    limits = {}
    for key, default in (("tries_per_hour", 10), ("wrong_per_code_per_day", 20)):
        value = (data.get("lookup") or {}).get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            problems.append(f"{RULE_FILE}: subsidies.lookup.{key} is a whole number 1 to 1000")
        limits[key] = value
    if problems:
        raise AreaRulesInvalid(problems)
    return Rules(kinds, tuple(flows), limits["tries_per_hour"], limits["wrong_per_code_per_day"])


def kind_of(code: str) -> Kind:
    kinds = rules().kinds
    if code not in kinds:
        choices = text("public.list.separator").join(
            text("public.list.choice", code=k, name=v.name) for k, v in kinds.items()
        )
        raise PowerlistError(
            code="subsidy.unknown_kind",
            params={"kind": code, "kinds": ", ".join(kinds), "choices": choices},
            field="kind",
        )
    return kinds[code]


_PERIODS = {
    "month": (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "2026-11"),
    "quarter": (re.compile(r"^(\d{4})Q([1-4])$"), "2026Q4"),
    "year": (re.compile(r"^(\d{4})$"), "2026"),
}


def check_period(kind: Kind, period: str) -> str:
    text = (period or "").strip().upper()
    pattern, example = _PERIODS[kind.period]
    if not pattern.match(text) or not 2000 <= int(text[:4]) <= 2100:
        raise PowerlistError(
            code="subsidy.bad_period",
            params={
                "kind": kind.code,
                "period": period,
                "example": example,
                "kind_name": kind.name,
                "style": texts("subsidies.period.styles")[kind.period],
            },
            field="period",
        )
    return text


def period_label(period: str) -> str:
    """A period as people write it: 2026年第四季度, 2026年11月, 2026年度."""
    if "Q" in period:
        quarter = data("subsidies.period.quarter_numerals")[int(period[-1]) - 1]
        return text("subsidies.period.quarter", year=period[:4], quarter=quarter)
    if "-" in period:
        return text("subsidies.period.month", year=period[:4], month=int(period[5:]))
    return text("subsidies.period.year", year=period)


def period_of(kind: Kind, day: date) -> str:
    if kind.period == "month":
        return f"{day.year}-{day.month:02d}"
    if kind.period == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return str(day.year)
