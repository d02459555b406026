"""Rectification as a flow: a violation starts the rectification process, assigned to its owner.

The engine starts it itself (actor ``system``), so no person's name stands on a matter nobody
started. Steps of that flow move the violation along: the owner's report marks it rectified, a
failed check sends it back, the town discipline commission's step escalates it, the end closes it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.org.roles import ROLES
from engine.persistence.enums import Level
from engine.persistence.models import Matter, OpenTask
from engine.supervision.models import Violation
from engine.supervision.rules import LEVEL_ORDER, RuleBook
from engine.supervision.violations import (
    ACKNOWLEDGED,
    CLOSED,
    ESCALATED,
    OPEN,
    RECTIFIED,
    SYSTEM,
    escalate,
    note_event,
    transition,
)
from engine.texts import text


def _linked(session: Session, instance_id: int) -> Violation | None:
    """The violation a rectification matter works on, locked; the caller holds the matter's lock.

    The lock order (matters in ascending id, then the violation) holds: the violation's own matter is
    older than its rectification matter and is not needed here, since the rows this step adds point
    at it only through foreign keys (``FOR KEY SHARE``), which a matter's ``FOR NO KEY UPDATE`` lets by.
    """
    return session.scalar(
        select(Violation).where(Violation.rectification_instance_id == instance_id).with_for_update(key_share=True)
    )


def on_step(context: StepContext, book: RuleBook) -> None:
    """Move the linked violation along with its rectification flow."""
    if context.definition.key != book.rectification["flow"]:
        return
    violation = _linked(context.session, context.instance.id)
    if violation is None or violation.status == CLOSED:
        return
    session, now = context.session, context.now
    for event in context.events:
        if event.kind == EventKind.TASK_COMPLETED and event.step_id:
            role = context.definition.step(event.step_id).role
            form = json.loads(event.data).get("form") or {}
            if role == book.chain[0]["role"]:
                if violation.status == RECTIFIED and _rejected(form):
                    transition(
                        session,
                        book,
                        violation,
                        ACKNOWLEDGED,
                        actor=event.actor or SYSTEM,
                        note=str(form.get("opinion") or text("supervision.rectification.rejected")),
                        now=now,
                        kind="rectification_rejected",
                    )
            elif ROLES.get(role) is not None and ROLES[role].level == Level.VILLAGE:
                if violation.status in (OPEN, ACKNOWLEDGED, ESCALATED):
                    transition(
                        session,
                        book,
                        violation,
                        RECTIFIED,
                        actor=event.actor or SYSTEM,
                        note=str(form.get("measures") or text("supervision.rectification.submitted")),
                        now=now,
                        kind="rectification_submitted",
                    )
        elif event.kind == EventKind.INSTANCE_ENDED:
            end = json.loads(event.data).get("end")
            outcome = book.rectification["ends"].get(end)
            if outcome is not None:
                actor = next((e.actor for e in reversed(context.events) if e.actor), None) or context.actor
                transition(
                    session,
                    book,
                    violation,
                    CLOSED,
                    actor=actor or SYSTEM,
                    note=text("supervision.rectification.ended", end=end),
                    now=now,
                    outcome=outcome,
                )
                return
    for opened in context.opened:
        level = ROLES[opened.role].level if opened.role in ROLES else None
        if level in LEVEL_ORDER and LEVEL_ORDER.index(level) > LEVEL_ORDER.index(violation.level):
            transition(
                session,
                book,
                violation,
                ESCALATED,
                actor=SYSTEM,
                note=text("supervision.rectification.handed_up", role=ROLES[opened.role].name_zh),
                now=now,
                level=level,
            )


def _rejected(form: dict) -> bool:
    result = form.get("check_result")
    return result is not None and result != "accepted"


def ignored(session: Session, book: RuleBook, instance: Matter, task: OpenTask, now: datetime) -> bool:
    """A rectification step passed its deadline: the violation moves up the chain."""
    violation = _linked(session, instance.id)
    if violation is None or violation.status == CLOSED:
        return False
    note = text("supervision.rectification.step_ignored", step=task.step_name)
    if not escalate(session, book, violation, actor=SYSTEM, note=note, now=now):
        note_event(session, violation, "rectification_overdue", actor=SYSTEM, now=now, data={"note": note})
    return True
