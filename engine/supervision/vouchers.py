"""Vouchers left unpaid (挂账): a voucher must be reimbursed within the rule's days of its date.

When a voucher step is done, a timer is set for the end of the last day allowed (China time); when
it fires and the matter still runs without its payment, ``voucher_without_payment`` is raised. A
matter that ended (paid, refused or withdrawn) leaves nothing to warn about.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.clock import as_utc
from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.persistence.enums import MatterStatus
from engine.persistence.models import HistoryEvent, Matter
from engine.ruleset import UnknownRule, rule
from engine.supervision import timers
from engine.supervision.facts import Names, evaluate
from engine.supervision.models import SupervisionTimer
from engine.supervision.rules import RuleBook
from engine.supervision.violations import Finding, raise_violation
from engine.texts import text

VOUCHER_UNPAID = "voucher_unpaid"


def _spec(book: RuleBook, item: str) -> dict | None:
    return ((book.rules.get("register") or {}).get("unpaid_vouchers") or {}).get(item)


def on_step(context: StepContext, book: RuleBook) -> None:
    """Set the timer of each voucher this step submitted."""
    spec = _spec(book, context.definition.key)
    if spec is None:
        return
    for event in context.events:
        if event.kind != EventKind.TASK_COMPLETED or event.step_id != spec["step"]:
            continue
        due = _due(spec, json.loads(event.data).get("form") or {})
        if due is None:
            continue
        timers.schedule(
            context.session,
            key=f"{VOUCHER_UNPAID}:{context.instance.id}:{event.seq}",
            kind=VOUCHER_UNPAID,
            due_at=due,
            instance_id=context.instance.id,
            payload={"seq": event.seq, "step": event.step_id},
        )


def _due(spec: dict, form: dict) -> datetime | None:
    try:
        spent = date.fromisoformat(str(form.get(spec["date"]) or ""))
        days = int(rule(spec["within"]))
    except (ValueError, TypeError, UnknownRule):
        return None
    return as_utc(datetime.combine(spent + timedelta(days=days + 1), time(0), CST))


def fire(session: Session, book: RuleBook, timer: SupervisionTimer, instance: Matter, now: datetime) -> str:
    item = instance.definition.key
    spec = _spec(book, item)
    if spec is None or instance.status != MatterStatus.RUNNING:
        return "obsolete"
    if evaluate(spec["paid"], Names(session, instance, item)) is True:
        return "obsolete"
    event = session.scalar(
        select(HistoryEvent).where(
            HistoryEvent.instance_id == instance.id, HistoryEvent.seq == timer.payload.get("seq")
        )
    )
    form = (json.loads(event.data).get("form") or {}) if event is not None else {}
    raise_violation(
        session,
        book,
        Finding(
            code="voucher_without_payment",
            village_id=instance.village_id,
            dedup_key=f"voucher_without_payment:{instance.id}:{timer.payload.get('seq')}",
            message=text(
                "supervision.vouchers.unpaid",
                matter=instance.title,
                day=form.get(spec["date"]),
                days=rule(spec["within"]),
            ),
            instance_id=instance.id,
            step_id=timer.payload.get("step"),
            responsible_user=event.actor if event is not None else None,
        ),
        now,
    )
    return "fired"
