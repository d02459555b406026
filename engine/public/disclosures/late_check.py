"""On time: ``disclosure_late`` for each village, kind and period not posted by its due day."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar import as_local_day
from engine.errors import FormInvalid
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit
from engine.public.disclosure_models import Disclosure
from engine.public.disclosures.periods import Calendar, bounds, calendar_rules, periods_ended
from engine.public.disclosures.workflow import POSTED
from engine.supervision import sweep
from engine.texts import text

log = logging.getLogger(__name__)

LATE_CODE = "disclosure_late"


def _county_of(unit: OrgUnit | None) -> int | None:
    """The id of the county above a unit (the unit itself when it is a county; the top unit otherwise)."""
    top = None
    while unit is not None:
        top = unit.id
        if unit.level == Level.COUNTY:
            return unit.id
        unit = unit.parent
    return top


def _checked(session: Session, rules: Calendar) -> dict[tuple[int, str], date | None]:
    """(village id, kind) -> the first day from which that kind is checked in that village.

    When the county set ``checks_from``: None for every kind of every active village (checked for the
    periods due from that day). Otherwise a kind goes live in a county with the first period any village
    of the county prepared, and from there every active village of the county is checked, whether it
    prepared anything or not: a village cannot dodge the check by never preparing or by starting late."""
    villages = list(session.scalars(select(OrgUnit).where(OrgUnit.level == Level.VILLAGE, OrgUnit.active.is_(True))))
    if rules.checks_from is not None:
        return {(v.id, kind): None for v in villages for kind in rules.kinds}
    county = {v.id: _county_of(v) for v in villages}
    live: dict[tuple[int | None, str], date] = {}
    prepared = session.execute(select(Disclosure.village_id, Disclosure.kind, Disclosure.period).distinct()).all()
    for vid, kind, key in prepared:
        if kind not in rules.kinds:
            continue
        try:
            first, _ = bounds(rules.kinds[kind].every, key)
        except FormInvalid:  # a period of a calendar since changed (month to quarter): not a start
            continue
        where = (county[vid] if vid in county else _county_of(session.get(OrgUnit, vid)), kind)
        if where not in live or first < live[where]:
            live[where] = first
    return {
        (v.id, kind): live[(county[v.id], kind)]
        for v in villages
        for kind in rules.kinds
        if (county[v.id], kind) in live
    }


def late_findings(session: Session, now: datetime) -> list[Any]:
    """The ``disclosure_late`` findings not raised yet: each village, kind and period past its due day and
    not posted by it (a read, no lock: the sweep asks this first and locks only when there is one)."""
    from engine.supervision.models import Violation
    from engine.supervision.violations import Finding

    rules = calendar_rules()
    today = as_local_day(now)
    starts = _checked(session, rules)
    if not starts:
        return []
    posted = {
        (r.village_id, r.kind, r.period): r.posted_on
        for r in session.execute(
            select(Disclosure.village_id, Disclosure.kind, Disclosure.period, Disclosure.posted_on).where(
                Disclosure.status == POSTED
            )
        ).all()
    }
    raised_keys = set(session.scalars(select(Violation.dedup_key).where(Violation.code == LATE_CODE)))
    findings = []
    for (vid, kind), start in sorted(starts.items()):
        rule = rules.kinds[kind]
        for found in periods_ended(rules, kind, today, 13 if rule.every == "month" else 5):
            if found.due >= today:
                continue  # not late before its due day has ended
            if start is not None and found.first < start:
                continue
            if start is None and rules.checks_from is not None and found.due < rules.checks_from:
                continue
            on = posted.get((vid, kind, found.key))
            if on is not None and on <= found.due.isoformat():
                continue
            dedup = f"{LATE_CODE}:{vid}:{kind}:{found.key}"
            if dedup in raised_keys:
                continue
            late = text("disclosures.late.posted_on", day=on) if on else text("disclosures.late.not_posted")
            findings.append(
                Finding(
                    code=LATE_CODE,
                    village_id=vid,
                    dedup_key=dedup,
                    message=text(
                        "disclosures.late.message",
                        period=found.title,
                        kind=rule.title,
                        due=found.due.isoformat(),
                        late=late,
                    ),
                    evidence=[
                        {
                            "kind": kind,
                            "period": found.key,
                            "due_on": found.due.isoformat(),
                            "posted_on": on,
                            "legal_basis": rule.legal_basis,
                        }
                    ],
                    responsible_role="party_secretary" if kind == "party_affairs" else "committee_chair",
                )
            )
    return findings


def detect_late(session: Session, now: datetime) -> list[Any]:
    """Raise ``disclosure_late`` for each village, kind and period not posted by its due day (once each);
    the caller holds the write lock."""
    from engine.supervision.violations import book_for_village, raise_violation

    raised = []
    for finding in late_findings(session, now):
        violation = raise_violation(session, book_for_village(session, finding.village_id), finding, now)
        if violation is not None:
            raised.append(violation)
    return raised


def check_on_time(sessions: sessionmaker, now: datetime) -> None:
    """三务公开 not posted by its due day; once per village, kind and period. Run by every sweep."""
    try:
        with sessions() as session:
            with session.begin():
                if not late_findings(session, now):
                    return
            with session.begin():
                begin_write(session)
                detect_late(session, now)
    except Exception:  # a broken calendar file must not hold back the timers
        log.exception("the on-time check of the disclosures failed")


def install() -> None:
    """Let every sweep check the disclosures are on time (the engine's bootstrap calls this)."""
    sweep.before_each_sweep(check_on_time)
