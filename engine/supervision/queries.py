"""Read-only views of violations and their events, as typed results for the CLI and the matter's warnings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import format_time
from engine.errors import NotFound
from engine.org.roles import ROLES
from engine.org.service import get_unit, get_user, holds
from engine.org.units import unit_chain
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit
from engine.supervision.models import Severity, Violation, ViolationEvent, ViolationStatus
from engine.supervision.violations import book_for_village, handles_now

SEVERITY_ORDER = {severity: i for i, severity in enumerate(Severity)}


@dataclass(frozen=True, slots=True)
class ViolationRecord:
    """A violation as the command line and the matter's warnings read it; ``dataclasses.asdict`` is its JSON."""

    id: int
    code: str
    title: str
    severity: str
    severity_name: str
    points: int
    status: str
    outcome: str | None
    level: str
    supervisor: str
    message: str
    legal_basis: str | None
    rule_version: str
    village: str | None
    village_name: str | None
    instance: int | None
    step: str | None
    task: str | None
    responsible_role: str | None
    responsible_user: str | None
    owner_role: str | None
    owner_role_name: str | None
    owner_user: str | None
    detected_at: str | None
    rectify_by: str | None
    closed_at: str | None
    period: str | None
    rectification_instance: int | None
    evidence: Any
    events: int


@dataclass(frozen=True, slots=True)
class ViolationEventRecord:
    """One event of a violation's chain."""

    seq: int
    kind: str
    at: str | None
    actor: str | None
    data: dict[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class ViolationDetail(ViolationRecord):
    """A violation with every event of its chain."""

    history: list[ViolationEventRecord]


def _facts(session: Session, violation: Violation) -> dict[str, Any]:
    village = session.get(OrgUnit, violation.village_id)
    book = book_for_village(session, violation.village_id)
    return {
        "id": violation.id,
        "code": violation.code,
        "title": violation.title,
        "severity": violation.severity,
        "severity_name": book.rules["severities"].get(violation.severity, violation.severity),
        "points": violation.points,
        "status": violation.status,
        "outcome": violation.outcome,
        "level": violation.level,
        "supervisor": book.level_title(violation.level),
        "message": violation.message,
        "legal_basis": violation.legal_basis,
        "rule_version": violation.rule_version,
        "village": village.code if village else None,
        "village_name": village.name if village else None,
        "instance": violation.instance_id,
        "step": violation.step_id,
        "task": violation.task_id,
        "responsible_role": violation.responsible_role,
        "responsible_user": violation.responsible_user,
        "owner_role": violation.owner_role,
        "owner_role_name": ROLES[violation.owner_role].name_zh if violation.owner_role in ROLES else None,
        "owner_user": violation.owner_user,
        "detected_at": format_time(violation.detected_at),
        "rectify_by": format_time(violation.rectify_by),
        "closed_at": format_time(violation.closed_at),
        "period": violation.period,
        "rectification_instance": violation.rectification_instance_id,
        "evidence": violation.evidence,
        "events": violation.event_seq,
    }


def violation_dict(session: Session, violation: Violation) -> ViolationRecord:
    return ViolationRecord(**_facts(session, violation))


def list_violations(
    session: Session,
    unit_code: str | None = None,
    status: str | None = None,
    username: str | None = None,
    period: str | None = None,
    instance_id: int | None = None,
) -> list[ViolationRecord]:
    """Violations, worst first; ``username`` keeps those the user must handle now or must rectify."""
    query = select(Violation)
    if unit_code:
        unit = get_unit(session, unit_code)
        villages = [
            v
            for v in session.scalars(select(OrgUnit.id).where(OrgUnit.level == Level.VILLAGE))
            if unit.id in {u.id for u in unit_chain(session, v)}
        ]
        query = query.where(Violation.village_id.in_(villages))
    if status:
        query = query.where(Violation.status == status)
    if period:
        query = query.where(Violation.period == period)
    if instance_id is not None:
        query = query.where(Violation.instance_id == instance_id)
    rows = list(session.scalars(query.order_by(Violation.id)))
    if username:
        user = get_user(session, username)
        rows = [
            v
            for v in rows
            if v.owner_user == username
            or (v.owner_role and holds(user, v.owner_role, v.village_id))
            or handles_now(session, book_for_village(session, v.village_id), user, v)
        ]
    rows.sort(key=lambda v: (v.status == ViolationStatus.CLOSED, SEVERITY_ORDER.get(v.severity, 9), v.id))
    return [violation_dict(session, v) for v in rows]


def violation_detail(session: Session, violation_id: int) -> ViolationDetail:
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise NotFound(f"no violation {violation_id}")
    history = [
        ViolationEventRecord(
            seq=e.seq, kind=e.kind, at=format_time(e.at), actor=e.actor, data=json.loads(e.data), hash=e.hash.hex()
        )
        for e in session.scalars(
            select(ViolationEvent).where(ViolationEvent.violation_id == violation_id).order_by(ViolationEvent.seq)
        )
    ]
    return ViolationDetail(**_facts(session, violation), history=history)
