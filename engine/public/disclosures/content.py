"""A disclosure's content generated from the record (canonical JSON and its digest), and the half-yearly summary."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import policy
from engine.calendar import as_local_day
from engine.errors import FieldError, FormInvalid
from engine.history.events import EventKind
from engine.org.service import get_village
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OrgUnit
from engine.policy.rules import access_rules
from engine.public.disclosures.periods import Calendar, moment, period
from engine.public.masking import mask_personal
from engine.supervision.models import DecisionStatus
from engine.texts import text, texts

PARTY_FLOW = "four_deliberations"
TEXT_CHARS = 120


def canonical(content: dict[str, Any]) -> bytes:
    """The one byte form of a disclosure's content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _finance(session: Session, village: OrgUnit, first: date, last: date) -> dict[str, Any]:
    """The period's accounts as 我们的钱包 shows them: balances, income, spending, categories, payments."""
    from engine.public import wallet

    return {"source": "accounts", **_jsonable(wallet.period_summary(session, village.id, first, last))}


def _matters(session: Session, village: OrgUnit, first: date, last: date) -> list[dict[str, Any]]:
    """Per power-list item: matters started and ended in the period (confidential flows left out)."""
    start, end = moment(first), moment(last + timedelta(days=1))
    hidden = set(access_rules().confidential)
    rows = session.execute(
        select(DefinitionVersion.key, DefinitionVersion.name, Matter.started_at, Matter.ended_at,
               Matter.status)
        .join(Matter, Matter.definition_version_id == DefinitionVersion.id)
        .where(Matter.village_id == village.id, Matter.started_at < end)
    ).all()  # fmt: skip
    started: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    names: dict[str, str] = {}
    for key, name, started_at, ended_at, status in rows:
        if key in hidden:
            continue
        names.setdefault(key, name)
        if start <= _utc(started_at) < end:
            started[key] += 1
        if ended_at is not None and status == MatterStatus.COMPLETED and start <= _utc(ended_at) < end:
            completed[key] += 1
    keys = sorted(set(started) | set(completed))
    return [{"item": k, "name": names[k], "started": started[k], "completed": completed[k]} for k in keys]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _decisions(session: Session, village: OrgUnit, first: date, last: date) -> list[dict[str, Any]]:
    from engine.supervision.decisions import kind_title
    from engine.supervision.models import Decision
    from engine.supervision.violations import book_for_village

    book = book_for_village(session, village.id)
    rows = session.scalars(
        select(Decision)
        .where(
            Decision.village_id == village.id,
            Decision.passed_on >= first.isoformat(),
            Decision.passed_on <= last.isoformat(),
            Decision.status != DecisionStatus.REVOKED,
        )
        .order_by(Decision.passed_on, Decision.number)
    )
    return [
        {
            "number": d.number,
            "kind": kind_title(book, d.kind),
            "purpose": mask_personal(d.purpose, TEXT_CHARS),
            "amount_fen": d.amount_fen,
            "passed_on": d.passed_on,
        }
        for d in rows
    ]


def _power_list(session: Session) -> list[dict[str, Any]]:
    """The power-list items villagers see that have a version in service (the quarterly check item)."""
    from engine.definitions.listing import listed

    shown = listed(session)
    names = dict(
        session.execute(
            select(DefinitionVersion.key, DefinitionVersion.name)
            .where(DefinitionVersion.key.in_(list(shown)), DefinitionVersion.retired.is_(False))
            .order_by(DefinitionVersion.version)
        ).all()
    )  # the newest version's name last
    items = [{"number": shown[key][1], "name": names[key]} for key in shown if key in names]
    return sorted(items, key=lambda item: (item["number"], item["name"]))


def _party(session: Session, village: OrgUnit, first: date, last: date) -> dict[str, Any]:
    """What the record knows of the party branch: the 四议两公开 proposals and party-member reviews."""
    party_steps = texts("disclosures.party_steps")  # the steps of PARTY_FLOW counted, by their names
    start, end = moment(first), moment(last + timedelta(days=1))
    rows = session.execute(
        select(HistoryEvent.step_id, HistoryEvent.at, Matter.title, Matter.id)
        .join(Matter, Matter.id == HistoryEvent.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(
            DefinitionVersion.key == PARTY_FLOW,
            Matter.village_id == village.id,
            HistoryEvent.kind == EventKind.TASK_COMPLETED,
            HistoryEvent.step_id.in_(list(party_steps)),
            HistoryEvent.at >= start,
            HistoryEvent.at < end,
        )
        .order_by(HistoryEvent.at, HistoryEvent.id)
    ).all()
    meetings = [
        {
            "step": party_steps[step],
            "date": as_local_day(at).isoformat(),
            "matter": mask_personal(title or "", TEXT_CHARS),
        }
        for step, at, title, _id in rows
    ]
    counts = Counter(m["step"] for m in meetings)
    return {"meetings": meetings, "counts": [{"step": s, "count": counts[s]} for s in party_steps.values()]}


def generate(session: Session, village: OrgUnit, rules: Calendar, kind: str, key: str) -> dict[str, Any]:
    """A disclosure's content, from the record only: the same record gives the same content and digest."""
    found = period(rules, kind, key)
    content: dict[str, Any] = {
        "village": village.code,
        "kind": kind,
        "title": rules.kinds[kind].title,
        "period": found.key,
        "first": found.first.isoformat(),
        "last": found.last.isoformat(),
        "contains": list(rules.kinds[kind].contains),
    }
    if kind == "finance":
        content["finance"] = _finance(session, village, found.first, found.last)
    elif kind == "village_affairs":
        content["matters"] = _matters(session, village, found.first, found.last)
        content["decisions"] = _decisions(session, village, found.first, found.last)
        content["power_list"] = _power_list(session)
    else:
        content["party"] = _party(session, village, found.first, found.last)
    return content


@dataclass(frozen=True, slots=True)
class HalfYearSummary:
    """The generated summary a half-yearly report attaches, and the SHA-256 digest of its canonical form."""

    content: dict[str, Any]
    digest: str


def summary_for(session: Session, actor: str, village_code: str, half: str) -> HalfYearSummary:
    """:func:`half_year_summary` for the village's staff and auditors; ``half`` like ``2026H1``."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    typed = (half or "").strip().upper()
    if len(typed) != 6 or not typed[:4].isdigit() or typed[4] != "H" or typed[5] not in "12":
        problem = FieldError.coded("half", "disclosure.bad_half", half=half)
        raise FormInvalid(text("disclosures.forms.half_year_report"), [problem])
    return half_year_summary(session, village, int(typed[:4]), int(typed[5]))


def half_year_summary(session: Session, village: OrgUnit, year: int, half: int) -> HalfYearSummary:
    """The generated summary a half-yearly report attaches: all matters and decisions of the half year,
    with its digest."""
    first = date(year, 1 if half == 1 else 7, 1)
    last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
    content = {
        "village": village.code,
        "half": f"{year}H{half}",
        "first": first.isoformat(),
        "last": last.isoformat(),
        "matters": _matters(session, village, first, last),
        "decisions": _decisions(session, village, first, last),
    }
    return HalfYearSummary(content, digest_of(content))
