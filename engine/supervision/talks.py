"""Talks supervisors hold: 约谈 (interview) and 提醒谈话 (reminder talk), after a violation or a low grade.

A talk is recorded with its day, place, the people present (name and office), the person talked
to, what was said, the outcome and a follow-up day; about a violation (then it is an event of the
violation's chain) and/or with a village. Who may record which kind is rule data
(``talks`` in ``rules/defaults/notices.yaml``), applied through :func:`engine.policy.require`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.clock import format_time
from engine.errors import NotFound
from engine.inputs import InputInvalid
from engine.org.service import get_unit
from engine.org.units import unit_chain
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog, OrgUnit
from engine.supervision.models import SupervisionTalk
from engine.supervision.notice_rules import Target, talk_name
from engine.supervision.notices import (
    holdings_of,
    local_day,
    parse_day,
    require_lister,
    rules_for,
    text_input,
    villages_asked,
)
from engine.texts import data, text

KINDS = ("interview", "reminder")
MAX_PRESENT = 30
MAX_TEXT = 4000


def _kind(kind: Any) -> str:
    if kind not in KINDS:
        raise InputInvalid(
            f"kind: one of {', '.join(KINDS)}", code="talk.kind_unknown", params={"kind": str(kind)[:40]}, field="kind"
        )
    return kind


def _present(value: Any) -> list[dict[str, str]]:
    """The people present: a list of {"name", "office"}; or lines of text "name，office" / "name office"."""
    if isinstance(value, str):
        rows = []
        for line in value.splitlines():
            line = line.strip()
            if not line:
                continue
            for sep in data("supervision.talks.name_separators"):
                if sep in line:
                    name, office = line.split(sep, 1)
                    break
            else:
                name, office = line, ""
            rows.append({"name": name.strip(), "office": office.strip()})
        value = rows
    if not isinstance(value, list) or not value or len(value) > MAX_PRESENT:
        raise InputInvalid(
            code="talk.present_invalid",
            params={"field": "present", "max": MAX_PRESENT},
            field="present",
        )
    people = []
    for index, person in enumerate(value):
        if not isinstance(person, dict):
            raise InputInvalid(
                text("supervision.refusals.present_person", field="present"),
                code="talk.present_invalid",
                params={"field": f"present[{index}]", "max": MAX_PRESENT},
                field=f"present[{index}]",
            )
        name = text_input(person.get("name"), f"present[{index}].name", required=True, most=100)
        office = text_input(person.get("office"), f"present[{index}].office", required=True, most=100)
        people.append({"name": name, "office": office})
    return people


def record(
    session: Session,
    actor: str,
    kind: str,
    *,
    violation_id: int | None = None,
    village: str | None = None,
    held_on: Any = None,
    place: Any = None,
    present: Any = None,
    subject_name: Any = None,
    subject_office: Any = None,
    summary: Any = None,
    outcome: Any = None,
    follow_up_on: Any = None,
    now: datetime | None = None,
) -> Talk:
    """Record a talk about a violation and/or with a village (the violation's village when both)."""
    kind = _kind(kind)
    now = now or clock.now()
    day = parse_day(held_on, "held_on")
    if day is None:
        raise InputInvalid(
            text("supervision.refusals.held_on_required", field="held_on"),
            code="notice.text_required",
            params={"field": "held_on"},
            field="held_on",
        )
    if day > local_day(now):
        raise InputInvalid(code="talk.date_future", params={"field": "held_on"}, field="held_on")
    follow_up = parse_day(follow_up_on, "follow_up_on")
    if follow_up is not None and follow_up < day:
        raise InputInvalid(
            code="talk.follow_up_before",
            params={"field": "follow_up_on"},
            field="follow_up_on",
        )
    values = {
        "place": text_input(place, "place", required=True, most=200),
        "subject_name": text_input(subject_name, "subject_name", required=True, most=100),
        "subject_office": text_input(subject_office, "subject_office", required=False, most=100),
        "summary": text_input(summary, "summary", required=True, most=MAX_TEXT),
        "outcome": text_input(outcome, "outcome", required=True, most=MAX_TEXT),
    }
    people = _present(present)
    if violation_id is None and not village:
        raise InputInvalid("give a violation or a village", code="talk.target_missing", field="violation")
    violation = None
    if violation_id is not None:
        from engine.supervision.violations import lock

        violation = lock(session, violation_id)
        unit = session.get(OrgUnit, violation.village_id)
    else:
        begin_write(session)
        unit = get_unit(session, village)
        if unit.level != Level.VILLAGE:
            raise InputInvalid(code="unit.not_a_village", params={"unit": village}, field="village")
    policy.require(session, actor, "talk.record", Target(kind, unit.id))
    roles = set(rules_for(unit_chain(session, unit.id)[-1].code)["talks"][kind]["roles"])
    holdings = holdings_of(session, actor)
    held_by = next(u for u in unit_chain(session, unit.id) if any(r in roles and h == u.id for r, h in holdings))
    talk = SupervisionTalk(
        kind=kind,
        village_id=unit.id,
        violation_id=violation.id if violation is not None else None,
        unit_id=held_by.id,
        held_on=day.isoformat(),
        present=people,
        follow_up_on=follow_up.isoformat() if follow_up else None,
        recorded_by=actor,
        recorded_at=now,
        **values,
    )
    session.add(talk)
    session.flush()
    data = {
        "talk": talk.id,
        "kind": kind,
        "held_on": talk.held_on,
        "place": talk.place,
        "present": people,
        "subject": {"name": talk.subject_name, "office": talk.subject_office},
        "summary": talk.summary,
        "outcome": talk.outcome,
        "follow_up_on": talk.follow_up_on,
        "unit": held_by.code,
    }
    if violation is not None:
        from engine.supervision.violations import note_event

        note_event(session, violation, "talk_recorded", actor=actor, now=now, data=data)
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="supervision.talk",
            subject=text("supervision.talks.subject", kind=talk_name(kind), village=unit.code, day=talk.held_on),
            detail={**data, "village": unit.code, "violation": violation_id},
        )
    )
    return talk_dict(session, talk)


def may_record(session: Session, actor: str, kind: str, village_id: int) -> bool:
    """Whether the user may record a talk of ``kind`` in the village (for the page's form)."""
    return policy.may(session, actor, "talk.record", Target(kind, village_id))


@dataclass(frozen=True, slots=True)
class Talk:
    """A recorded talk as its readers see it; ``dataclasses.asdict`` gives the API's and CLI's JSON."""

    id: int
    kind: str
    kind_name: str
    village: str
    village_name: str
    violation: int | None
    unit: str
    unit_name: str
    held_on: date
    place: str
    present: list[dict[str, str]]
    subject_name: str
    subject_office: str | None
    summary: str
    outcome: str
    follow_up_on: date | None
    recorded_by: str
    recorded_at: str


def talk_dict(session: Session, talk: SupervisionTalk) -> Talk:
    village = session.get(OrgUnit, talk.village_id)
    unit = session.get(OrgUnit, talk.unit_id)
    return Talk(
        id=talk.id,
        kind=talk.kind,
        kind_name=talk_name(talk.kind),
        village=village.code,
        village_name=village.name,
        violation=talk.violation_id,
        unit=unit.code,
        unit_name=unit.name,
        held_on=talk.held_on,
        place=talk.place,
        present=talk.present,
        subject_name=talk.subject_name,
        subject_office=talk.subject_office,
        summary=talk.summary,
        outcome=talk.outcome,
        follow_up_on=talk.follow_up_on,
        recorded_by=talk.recorded_by,
        recorded_at=format_time(talk.recorded_at),
    )


def talks(
    session: Session, actor: str, *, violation_id: int | None = None, village: str | None = None, limit: int = 200
) -> list[Talk]:
    """The talks the user may read, newest first: about a violation, with a village (or the villages
    of a town, county), or all in scope; who may ask, as for documents (:func:`notices.require_lister`)."""
    require_lister(session, actor, violation_id)
    query = select(SupervisionTalk).order_by(SupervisionTalk.held_on.desc(), SupervisionTalk.id.desc())
    if violation_id is not None:
        query = query.where(SupervisionTalk.violation_id == violation_id)
    if village:
        query = query.where(SupervisionTalk.village_id.in_(villages_asked(session, actor, "talk.read", village)))
    found = []
    for talk in session.scalars(query):
        if policy.may(session, actor, "talk.read", Target(talk.kind, talk.village_id)):
            found.append(talk_dict(session, talk))
            if len(found) >= limit:
                break
    return found


def get_talk(session: Session, actor: str, talk_id: int) -> Talk:
    talk = session.get(SupervisionTalk, talk_id)
    if talk is None or not policy.may(session, actor, "talk.read", Target(talk.kind, talk.village_id)):
        raise NotFound(f"no talk {talk_id}", code="not_found")
    return talk_dict(session, talk)
