"""Scores per village and cadre per quarter, their grades (A–D, thresholds as rule data), and the
warning and rectification notices (预警通知 / 整改通知) that low grades call for.
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
from engine.org.service import get_unit
from engine.org.units import unit_chain
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, OrgUnit
from engine.supervision.models import SupervisionNotice, Violation
from engine.supervision.rules import rules_for
from engine.supervision.violations import SYSTEM, period_of

_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")


def check_period(period: str) -> str:
    if not _PERIOD.match(period):
        raise PowerlistError(f"a period is a year and quarter like 2026Q4, not {period!r}")
    return period


def current_period(now: datetime | None = None) -> str:
    return period_of(now or clock.now())


def _villages(session: Session, code: str | None) -> list[OrgUnit]:
    villages = list(session.scalars(select(OrgUnit).where(OrgUnit.level == "village").order_by(OrgUnit.code)))
    if code is None:
        return villages
    unit = get_unit(session, code)
    return [v for v in villages if unit.id in {u.id for u in unit_chain(session, v.id)}]


def scores(session: Session, period: str, unit_code: str | None = None) -> dict[str, Any]:
    """Deductions of every village (and cadre) under ``unit_code`` in ``period``; dismissed ones do not count."""
    check_period(period)
    villages = _villages(session, unit_code)
    ids = [v.id for v in villages]
    rows = (
        session.scalars(select(Violation).where(Violation.period == period, Violation.village_id.in_(ids))).all()
        if ids
        else []
    )
    per_village: dict[int, list[Violation]] = defaultdict(list)
    per_cadre: dict[tuple[str, int], list[Violation]] = defaultdict(list)
    for violation in rows:
        if violation.outcome == "dismissed":
            continue
        per_village[violation.village_id].append(violation)
        if violation.responsible_user and violation.responsible_user != SYSTEM:
            per_cadre[(violation.responsible_user, violation.village_id)].append(violation)
    by_id = {v.id: v for v in villages}
    result_villages, result_cadres = [], []
    for village in villages:
        book = rules_for(session, unit_chain(session, village.id)[-1].code)
        found = per_village.get(village.id, [])
        deducted = sum(v.points for v in found)
        score = book.base_score - deducted
        grade, notice = book.grade(score)
        result_villages.append(
            {
                "village": village.code,
                "name": village.name,
                "deducted": deducted,
                "score": score,
                "grade": grade,
                "notice": notice,
                "violations": len(found),
                "red": sum(1 for v in found if v.severity == "red"),
                "yellow": sum(1 for v in found if v.severity == "yellow"),
                "blue": sum(1 for v in found if v.severity == "blue"),
            }
        )
    for (username, village_id), found in sorted(per_cadre.items()):
        village = by_id[village_id]
        book = rules_for(session, unit_chain(session, village.id)[-1].code)
        deducted = sum(v.points for v in found)
        grade, _notice = book.grade(book.base_score - deducted)
        result_cadres.append(
            {
                "user": username,
                "village": village.code,
                "deducted": deducted,
                "score": book.base_score - deducted,
                "grade": grade,
                "violations": len(found),
            }
        )
    return {"period": period, "villages": result_villages, "cadres": result_cadres}


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
        session.add(
            SupervisionNotice(
                period=period,
                village_id=village.id,
                grade=row["grade"],
                kind=row["notice"],
                score=row["score"],
                deducted=row["deducted"],
                issued_at=now,
                issued_by=actor,
            )
        )
        session.add(
            AuditLog(
                at=now,
                actor=actor,
                action="supervision.notice",
                subject=f"{row['village']} {period}",
                detail={"grade": row["grade"], "kind": row["notice"], "score": row["score"]},
            )
        )
        issued.append({"village": row["village"], "grade": row["grade"], "kind": row["notice"], "score": row["score"]})
    return issued
