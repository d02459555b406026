"""The supervision rule set: YAML an auditor can read, merged per county, validated, versioned.

The effective rule set of a county is ``rules/defaults/supervision.yaml``, then ``supervision.yaml``
in ``POWERLIST_RULES_DIR`` if there is one, then the active versions activated in the database for
all counties (scope ``*``) and for that county. Overrides hold only what they change.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import caches, clock
from engine.calendar import parse_time_limit
from engine.errors import PowerlistError
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog
from engine.ruleset import DEFAULTS, parse_rule_text
from engine.supervision.models import RuleSetVersion
from engine.supervision.semantics import BUILTIN_CODES as BUILTIN_CODES
from engine.supervision.semantics import COMPLEXITIES, LEVEL_ORDER, check_duty_rules, check_semantics
from engine.supervision.semantics import SEVERITIES as SEVERITIES
from engine.supervision.semantics import role_is_village as role_is_village

RULES_ROOT = DEFAULTS.parent
DEFAULT_FILE = DEFAULTS / "supervision.yaml"
SCHEMA_FILE = RULES_ROOT / "ruleset.schema.json"
OVERRIDE_NAME = "supervision.yaml"
ALL_COUNTIES = "*"
ANY = "*"


# The complaint rules of a rule set written before they existed: the flow's own three levels.
_COMPLAINTS = {
    "flow": "complaint",
    "step": "triage",
    "levels": {c: level.value for c, level in zip(COMPLEXITIES, LEVEL_ORDER, strict=True)},  # plain text, as read
    "categories": {},
}

# Lists of records that a county's override merges record by record, by these fields.
_RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "deadlines": ("item", "step"),
    "postings": ("item", "step"),
    "meetings": ("item", "steps"),
    "checks": ("id",),
    "incompatible_roles": ("id",),
    "incompatible_steps": ("id",),
    "watch": ("item", "step", "amount"),  # hugging
    "decisions": ("item", "step"),  # register
    "uses": ("item", "step"),  # register
}


class RulesInvalid(PowerlistError):
    """A rule file that cannot be activated; ``problems`` lists every reason."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the rule set is invalid:\n" + "\n".join(f"  {p}" for p in problems))


def parse_text(text: str, name: str = "rule file") -> dict[str, Any]:
    return parse_rule_text(text, name, "supervision", "a rule file", RulesInvalid)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings deeply, record lists record by record, other values replaced."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        elif key in _RECORD_KEYS and isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_records(result[key], value, _RECORD_KEYS[key])
        else:
            result[key] = copy.deepcopy(value)
    return result


def _record_id(record: Any, fields: tuple[str, ...]) -> Any:
    if not isinstance(record, dict):
        return id(record)
    return tuple(json.dumps(record.get(f), sort_keys=True) for f in fields)


def _merge_records(base: list[Any], override: list[Any], fields: tuple[str, ...]) -> list[Any]:
    merged = {_record_id(r, fields): r for r in base}
    for record in override:
        key = _record_id(record, fields)
        merged[key] = merge(merged[key], record) if isinstance(merged.get(key), dict) else copy.deepcopy(record)
    return list(merged.values())


@lru_cache(maxsize=1)
def base_data() -> dict[str, Any]:
    """The defaults, with the deployment's override folder (``POWERLIST_RULES_DIR``) applied."""
    data = parse_text(DEFAULT_FILE.read_text(encoding="utf-8"), str(DEFAULT_FILE))
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / OVERRIDE_NAME).is_file():
        path = Path(folder) / OVERRIDE_NAME
        data = merge(data, parse_text(path.read_text(encoding="utf-8"), str(path)))
    return data


def reset() -> None:
    """Forget loaded rule sets (after the files or POWERLIST_RULES_DIR changed)."""
    base_data.cache_clear()
    _books.clear()
    _active.clear()


caches.register(reset)


@dataclass(frozen=True)
class Deadline:
    limit: str | None
    calendar: str
    red_after: timedelta | None


@dataclass
class RuleBook:
    """One effective rule set, with the look-ups the detectors need."""

    data: dict[str, Any]
    label: str

    @property
    def rules(self) -> dict[str, Any]:
        return self.data["supervision"]

    def violation(self, code: str) -> dict[str, Any]:
        try:
            return self.rules["violations"][code]
        except KeyError:
            raise PowerlistError(f"rule set {self.label} has no violation '{code}'") from None

    def points(self, code: str, severity: str) -> int:
        points = self.violation(code)["points"]
        if isinstance(points, dict):
            return int(points.get(severity, max(points.values())))
        return int(points)

    def deadline(self, item: str, step: str) -> Deadline:
        """The most specific rows win field by field: item+step, item, step, then the default row."""
        merged: dict[str, Any] = {}
        for candidate in ((ANY, ANY), (ANY, step), (item, ANY), (item, step)):
            merged.update(self._deadline_rows.get(candidate, {}))
        red_after = merged.get("red_after")
        return Deadline(merged.get("limit"), merged.get("calendar", "calendar"), _duration(red_after))

    @cached_property
    def _deadline_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["item"], r["step"]): r for r in self.rules["deadlines"]}

    def checks_for(self, item: str, step: str) -> list[dict[str, Any]]:
        return [c for c in self.rules["checks"] if _applies(c, item, step)]

    def meetings_for(self, item: str, step: str) -> list[dict[str, Any]]:
        return [m for m in self.rules["meetings"] if _applies(m, item, step)]

    def postings_for(self, item: str, step: str) -> list[dict[str, Any]]:
        return [p for p in self.rules["postings"] if p["item"] == item and p["step"] == step and p.get("enabled", True)]

    def waived_code(self, field_name: str) -> str:
        table = self.rules["waived_checks"]
        return table.get(field_name, table[ANY])

    @property
    def waived_fallback(self) -> str:
        return self.rules["waived_checks"][ANY]

    def approved_expression(self, item: str) -> str:
        table = self.rules["payments"]["approved"]
        return table.get(item, table[ANY])

    @property
    def split(self) -> dict[str, Any]:
        return self.rules["payments"]["split"]

    @property
    def reminder_percent(self) -> int:
        return int(self.rules["reminder_at_percent"])

    @property
    def chain(self) -> list[dict[str, str]]:
        return self.rules["escalation"]["chain"]

    def supervisor_role(self, level: str) -> str | None:
        return next((c["role"] for c in self.chain if c["level"] == level), None)

    def level_title(self, level: str) -> str:
        return next((c["title"] for c in self.chain if c["level"] == level), level)

    def next_level(self, level: str) -> str | None:
        levels = [c["level"] for c in self.chain]
        if level not in levels:
            return levels[0]
        index = levels.index(level)
        return levels[index + 1] if index + 1 < len(levels) else None

    def starts_at(self, severity: str) -> str:
        """The level a new warning of ``severity`` starts at (``escalation.starts_at``; else the chain's first)."""
        levels = [c["level"] for c in self.chain]
        level = (self.rules["escalation"].get("starts_at") or {}).get(severity)
        return level if level in levels else levels[0]

    def unhandled_after(self, severity: str, level: str | None = None) -> timedelta | None:
        """How long an unhandled warning of ``severity`` stays at ``level`` before it moves up (None: it stays)."""
        value = self.rules["escalation"]["unhandled_after"].get(severity)
        if isinstance(value, dict):
            value = value.get(level) if level is not None else None
        return _duration(value)

    @property
    def escalation_calendar(self) -> str:
        """``working``, ``calendar`` or ``step``: how the escalation delays are counted."""
        return self.rules["escalation"].get("calendar", "step")

    @property
    def complaints(self) -> dict[str, Any]:
        return self.rules.get("complaints") or _COMPLAINTS

    def complaint_complexity(self, complexity: str | None, category: str | None) -> str:
        """The complexity a report is handled as: the one given at triage, raised to its category's least."""
        ranks = [
            COMPLEXITIES.index(c)
            for c in (complexity, (self.complaints.get("categories") or {}).get(category))
            if c in COMPLEXITIES
        ]
        return COMPLEXITIES[max(ranks, default=0)]

    def complaint_level(self, complexity: str) -> str:
        """The level that handles a report of ``complexity`` (三级联动)."""
        return self.complaints["levels"].get(complexity) or self.chain[0]["level"]

    @property
    def rectification(self) -> dict[str, Any]:
        return self.rules["rectification"]

    def rectify_within(self, code: str) -> timedelta:
        return _duration(self.violation(code).get("rectify_within") or self.rectification["within"]) or timedelta(0)

    def starts_rectification(self, code: str, severity: str) -> bool:
        explicit = self.violation(code).get("rectification")
        if explicit is not None:
            return bool(explicit)
        return severity in self.rectification["severities"]

    def grade(self, score: int) -> tuple[str, str | None]:
        grades = self.rules["scoring"]["grades"]
        for row in grades:
            if "min" not in row or score >= row["min"]:
                return row["grade"], row.get("notice")
        return grades[-1]["grade"], grades[-1].get("notice")

    @property
    def base_score(self) -> int:
        return int(self.rules["scoring"]["base"])


def _applies(record: dict[str, Any], item: str, step: str) -> bool:
    return record.get("enabled", True) and record["item"] == item and step in record["steps"]


def _duration(value: str | None) -> timedelta | None:
    return parse_time_limit(value) if value else None


# Per database: rule set versions (their ids and which are active) belong to their database.
_books = caches.PerDatabase()
_SESSION_KEY = "powerlist.supervision.rules"


def rules_for(session: Session, county_code: str | None) -> RuleBook:
    """The effective rule set of a county, as activated now; cached per session."""
    per_session = session.info.setdefault(_SESSION_KEY, {})
    if county_code in per_session:
        return per_session[county_code]
    rows = _active_versions(session, county_code)
    books = _books.of(session)
    key = tuple(r.id for r in rows)
    book = books.get(key)
    if book is None:
        data = base_data()
        parts = []
        for row in rows:
            content = session.scalar(select(RuleSetVersion.content).where(RuleSetVersion.id == row.id))
            data = merge(data, parse_text(content or "", f"rule set {row.scope}#{row.version}"))
            parts.append(f"{row.scope}#{row.version}")
        label = str(data["supervision"]["version"]) + (f"@{'+'.join(parts)}" if parts else "")
        book = RuleBook(data, label[:64])
        books[key] = book
    per_session[county_code] = book
    return book


_active = caches.PerDatabase()
ACTIVE_TTL_S = 2.0  # how soon another process's activation takes effect here


def _active_versions(session: Session, county_code: str | None) -> list[Any]:
    """The active versions for a county, re-read at most every ``ACTIVE_TTL_S`` seconds per database."""
    active = _active.of(session)
    cached = active.get(county_code)
    if cached is not None and time.monotonic() - cached[0] < ACTIVE_TTL_S:
        return cached[1]
    scopes = [ALL_COUNTIES] + ([county_code] if county_code else [])
    with session.no_autoflush:
        rows = session.execute(
            select(RuleSetVersion.id, RuleSetVersion.scope, RuleSetVersion.version).where(
                RuleSetVersion.active.is_(True), RuleSetVersion.scope.in_(scopes)
            )
        ).all()
    rows = sorted(rows, key=lambda r: r.scope != ALL_COUNTIES)
    active[county_code] = (time.monotonic(), rows)
    return rows


def activate(
    session: Session, text: str, actor: str | None, scope: str = ALL_COUNTIES, name: str = "rule file"
) -> RuleSetVersion:
    """Validate an override (or a whole rule set) and make it the active version of ``scope``."""
    from engine.org.service import get_unit

    begin_write(session)
    if scope != ALL_COUNTIES and get_unit(session, scope).level != Level.COUNTY:
        raise PowerlistError(f"'{scope}' is not a county: rule sets are activated for a county or for all ('*')")
    override = parse_text(text, name)
    base = base_data()
    if scope != ALL_COUNTIES:
        base = rules_for(session, None).data
    problems = validate(merge(base, override))
    if problems:
        raise RulesInvalid(problems)
    digest = hashlib.sha256(text.encode()).hexdigest()
    latest = session.scalar(select(func.max(RuleSetVersion.version)).where(RuleSetVersion.scope == scope)) or 0
    session.execute(update(RuleSetVersion).where(RuleSetVersion.scope == scope).values(active=False))
    now = clock.now()
    row = RuleSetVersion(
        scope=scope,
        version=latest + 1,
        label=str(override["supervision"].get("version", base["supervision"]["version"]))[:64],
        content=text,
        content_hash=digest,
        active=True,
        activated_at=now,
        activated_by=actor,
    )
    session.add(row)
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="rules.activate",
            subject=f"supervision rules {scope}#{row.version}",
            detail={"scope": scope, "version": row.version, "label": row.label, "sha256": digest, "source": name},
        )
    )
    session.flush()
    session.info.pop(_SESSION_KEY, None)
    _active.clear()
    return row


def versions(session: Session) -> list[RuleSetVersion]:
    return list(session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.scope, RuleSetVersion.version)))


@lru_cache(maxsize=1)
def _schema_validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def validate(data: dict[str, Any]) -> list[str]:
    """Every problem of a whole rule set: its shape (JSON Schema), then its meaning."""
    errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]
    return check_semantics(data["supervision"]) + check_duty_rules(data["supervision"])
