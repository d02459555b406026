"""Scores per unit (village, town, county) and person per quarter, their grades (A–D, thresholds as
rule data), and the warning and rectification notices (预警通知 / 整改通知) that low grades call for.

A violation counts against the unit and the person that held its step (``scoring.charge_to``):
a town agency's late audit lowers the town's score and is listed under the town, not the village.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import PowerlistError
from engine.org.roles import ROLES
from engine.org.service import get_unit
from engine.org.units import UnitInfo, unit_chain
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog, OrgUnit, RoleAssignment, User
from engine.supervision.models import Severity, SupervisionNotice, Violation, ViolationOutcome
from engine.supervision.rules import rules_for
from engine.supervision.violations import SYSTEM, period_of

_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")
_OWN_UNITS = "powerlist.supervision.own_units"


def check_period(period: str) -> str:
    if not _PERIOD.match(period):
        raise PowerlistError(f"a period is a year and quarter like 2026Q4, not {period!r}")
    return period


def current_period(now: datetime | None = None) -> str:
    return period_of(now or clock.now())


def _units(session: Session, code: str | None, levels: list[str]) -> list[OrgUnit]:
    """Units of the scored levels within ``code`` (the unit itself and what lies under it), by code."""
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.level.in_(levels)).order_by(OrgUnit.code)))
    if code is None:
        return units
    scope = get_unit(session, code)
    return [u for u in units if scope.id in {c.id for c in unit_chain(session, u.id)}]


def charged_unit(session: Session, violation: Violation, charge_to: str = "step") -> UnitInfo:
    """The unit a violation counts against: the unit of the role that held the step, else the village."""
    chain = unit_chain(session, violation.village_id)
    if charge_to == "step" and violation.responsible_role in ROLES:
        level = ROLES[violation.responsible_role].level
        return next((u for u in chain if u.level == level), chain[0])
    return chain[0]


def own_unit(session: Session, username: str, charged: UnitInfo, village_id: int) -> UnitInfo:
    """Where a person belongs: the charged unit when they hold a role there, else the nearest unit of
    the matter's chain where they hold one (a town official forcing a village step: the town)."""
    cache = session.info.setdefault(_OWN_UNITS, {})
    if username not in cache:
        cache[username] = set(
            session.scalars(
                select(RoleAssignment.org_unit_id)
                .join(User, User.id == RoleAssignment.user_id)
                .where(User.username == username)
            )
        )
    held = cache[username]
    if charged.id in held:
        return charged
    return next((u for u in unit_chain(session, village_id) if u.id in held), charged)


def _row(book, unit, found: list[Violation]) -> dict[str, Any]:
    deducted = sum(v.points for v in found)
    score = book.base_score - deducted
    grade, notice = book.grade(score)
    return {
        "unit": unit.code,
        "level": unit.level,
        "name": unit.name,
        "deducted": deducted,
        "score": score,
        "grade": grade,
        "notice": notice,
        "violations": len(found),
        "red": sum(1 for v in found if v.severity == Severity.RED),
        "yellow": sum(1 for v in found if v.severity == Severity.YELLOW),
        "blue": sum(1 for v in found if v.severity == Severity.BLUE),
    }


def scores(session: Session, period: str, unit_code: str | None = None) -> dict[str, Any]:
    """Deductions of every unit (and person) under ``unit_code`` in ``period``; dismissed ones do not count.

    A violation counts against the unit that held its step (``scoring.charge_to`` in the rule set):
    a town step's delay lowers the town's score, not the village's. People are listed once per
    unit they belong to. ``villages`` and ``towns`` are the rows of ``units`` at those levels.
    """
    check_period(period)
    session.info.pop(_OWN_UNITS, None)  # role assignments as they are now
    default = rules_for(session, None).rules["scoring"]
    levels = list(default.get("levels") or [Level.VILLAGE])
    in_scope = _units(session, unit_code, [Level.VILLAGE, Level.TOWN, Level.COUNTY])
    units = [u for u in in_scope if u.level in levels]
    village_ids = [u.id for u in in_scope if u.level == Level.VILLAGE]
    rows = (
        session.scalars(
            select(Violation).where(Violation.period == period, Violation.village_id.in_(village_ids))
        ).all()
        if village_ids
        else []
    )
    per_unit: dict[int, list[Violation]] = defaultdict(list)
    per_person: dict[tuple[str, int], list[Violation]] = defaultdict(list)
    unit_info: dict[int, UnitInfo] = {}
    for violation in rows:
        if violation.outcome == ViolationOutcome.DISMISSED:
            continue
        book = _book(session, violation.village_id)
        charged = charged_unit(session, violation, book.rules["scoring"].get("charge_to", "step"))
        per_unit[charged.id].append(violation)
        if violation.responsible_user and violation.responsible_user != SYSTEM:
            mine = own_unit(session, violation.responsible_user, charged, violation.village_id)
            unit_info[mine.id] = mine
            per_person[(violation.responsible_user, mine.id)].append(violation)
    scope_ids = {u.id for u in in_scope}
    result_units = [_row(_book(session, unit.id), unit, per_unit.get(unit.id, [])) for unit in units]
    for row in result_units:
        if row["level"] == Level.VILLAGE:
            row["village"] = row["unit"]  # the name these rows have always had
    result_people = []
    for (username, unit_id), found in sorted(per_person.items(), key=lambda kv: (kv[0][0], unit_info[kv[0][1]].code)):
        unit = unit_info[unit_id]
        if unit_id not in scope_ids:
            continue
        row = _row(_book(session, unit_id), unit, found)
        result_people.append(
            {
                "user": username,
                "unit": unit.code,
                "level": unit.level,
                "village": unit.code if unit.level == Level.VILLAGE else None,
                "deducted": row["deducted"],
                "score": row["score"],
                "grade": row["grade"],
                "violations": row["violations"],
            }
        )
    return {
        "period": period,
        "units": result_units,
        "villages": [r for r in result_units if r["level"] == Level.VILLAGE],
        "towns": [r for r in result_units if r["level"] == Level.TOWN],
        "cadres": result_people,
    }


def _book(session: Session, unit_id: int):
    return rules_for(session, unit_chain(session, unit_id)[-1].code)


def issue_notices(session: Session, period: str, actor: str | None, unit_code: str | None = None) -> list[dict]:
    """Issue the notices the grades call for, once per village and period."""
    begin_write(session)
    result = scores(session, period, unit_code)
    now = clock.now()
    issued = []
    for row in result["villages"]:
        if not row["notice"]:
            continue
        village = get_unit(session, row["village"])
        exists = session.scalar(
            select(SupervisionNotice.id).where(
                SupervisionNotice.period == period, SupervisionNotice.village_id == village.id
            )
        )
        if exists is not None:
            continue
        record_notice(session, period, village, row, actor, now)
        issued.append({"village": row["village"], "grade": row["grade"], "kind": row["notice"], "score": row["score"]})
    return issued


def record_notice(
    session: Session, period: str, village: OrgUnit, row: dict[str, Any], actor: str | None, now: datetime
) -> SupervisionNotice:
    """Record the notice a village's grade calls for (its scores ``row``); the numbered document that
    puts it on paper is :func:`engine.supervision.notices.issue`'s."""
    notice = SupervisionNotice(
        period=period,
        village_id=village.id,
        grade=row["grade"],
        kind=row["notice"],
        score=row["score"],
        deducted=row["deducted"],
        issued_at=now,
        issued_by=actor,
    )
    session.add(notice)
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="supervision.notice",
            subject=f"{village.code} {period}",
            detail={"grade": row["grade"], "kind": row["notice"], "score": row["score"]},
        )
    )
    return notice
