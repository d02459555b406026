"""Rosters fed by the subsidy flows: an approved household added once to its period's roster."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, hooks
from engine.calendar import CST
from engine.persistence.models import AuditLog, OrgUnit
from engine.public.subsidies.households import digest, household_for, masked_id
from engine.public.subsidies.importing import published_roster
from engine.public.subsidies.kinds import Kind, period_of, rules
from engine.public.subsidies.rosters import FLOW, PUBLISHED
from engine.public.subsidies.rows import Row, parse_day, plain
from engine.public.subsidy_models import SubsidyEntry, SubsidyRoster


def _field(steps: dict[str, dict[str, Any]], path: str | None) -> Any:
    if not path:
        return None
    step, _, name = path.partition(".")
    return (steps.get(step) or {}).get(name)


def _from_flow(context: hooks.StepContext) -> None:
    """A subsidy flow whose result step is done with the county's approval adds the household to its
    village's roster of that kind for the period of the approval."""
    from engine.history.events import EventKind
    from engine.supervision.facts import matter_facts

    key = context.definition.key
    done = [e for e in context.events if e.kind == EventKind.TASK_COMPLETED and e.step_id]
    if not done:
        return
    sources = [s for s in rules().flows if s.flow == key and any(e.step_id == s.step for e in done)]
    for source in sources:
        session, instance = context.session, context.instance
        facts = matter_facts(session, instance, key)
        if _field(facts.steps, source.approved) is not True:
            continue
        kind_code = source.kinds.get(str(_field(facts.steps, source.kind)))
        name = str(_field(facts.steps, source.name) or "").strip()[:50]
        number = plain(str(_field(facts.steps, source.id_number) or "")).upper()
        money = _field(facts.steps, source.amount_fen)
        # the flow's form checked the ID's form; its check character is the county's business there
        well_formed = re.fullmatch(r"\d{17}[\dX]", number) is not None
        if not kind_code or not name or not well_formed or not isinstance(money, int) or money < 0:
            continue
        if session.scalar(select(SubsidyEntry.id).where(SubsidyEntry.instance_id == instance.id)) is not None:
            continue
        paid = _field(facts.steps, source.paid_on)
        day = parse_day(paid) if isinstance(paid, str) else None
        if not isinstance(day, date):
            day = clock.as_utc(context.now).astimezone(CST).date()
        people = _field(facts.steps, source.people)
        people = people if isinstance(people, int) and not isinstance(people, bool) and people > 0 else None
        village = session.get(OrgUnit, instance.village_id)
        assert village is not None
        kind = rules().kinds[kind_code]
        add_entry(
            session,
            village,
            kind,
            period_of(kind, day),
            Row(0, name, number, "", people, money, day.isoformat(), None),
            actor=context.actor,
            now=context.now,
            instance_id=instance.id,
        )


def add_entry(
    session: Session,
    village: OrgUnit,
    kind: Kind,
    period: str,
    row: Row,
    *,
    actor: str | None,
    now: datetime,
    instance_id: int | None = None,
) -> SubsidyEntry | None:
    """One household added to the period's published roster of the kind (made when there is none).

    A household already on that roster (the same household code, or the same head's name and ID
    check as an earlier entry of the village) is not added twice: None, and the skip is in the
    audit log (``subsidy.entry_skipped``) for the keepers to look at."""
    roster = published_roster(session, village, kind.code, period)
    if roster is None:
        roster = SubsidyRoster(
            village_id=village.id,
            kind=kind.code,
            period=period,
            status=PUBLISHED,
            source=FLOW,
            households=0,
            people=0,
            total_fen=0,
            imported_by=actor,
            imported_at=now,
        )
        session.add(roster)
        session.flush()
    household = household_for(session, village, row.household, row.name, row.last4, now, {})
    there = session.scalar(
        select(SubsidyEntry.id).where(SubsidyEntry.roster_id == roster.id, SubsidyEntry.household_id == household.id)
    )
    if there is not None:
        detail = {
            "roster": roster.id,
            "household": household.code,
            "entry": there,
            "instance": instance_id,
            "amount_fen": row.amount_fen,
        }
        session.add(
            AuditLog(at=now, actor=actor, action="subsidy.entry_skipped", subject=f"roster #{roster.id}", detail=detail)
        )
        session.flush()
        return None
    entry = SubsidyEntry(
        roster_id=roster.id,
        household_id=household.id,
        line=None,
        recipient_name=row.name,
        id_masked=masked_id(row.id_number),
        people=row.people,
        amount_fen=row.amount_fen,
        paid_on=row.paid_on,
        group_name=row.group,
        check_digest=digest(household.salt, household.code, row.last4),
        instance_id=instance_id,
    )
    session.add(entry)
    roster.households += 1
    roster.people += row.people or 1
    roster.total_fen += row.amount_fen
    session.flush()
    return entry


def install() -> None:
    """Record the rosters the subsidy flows produce (the engine's bootstrap calls this)."""
    hooks.after_step(_from_flow)
