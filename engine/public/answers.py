"""The answer to a 码上举报, as its receipt code shows it (流程到哪了).

A report's matter is confidential: whom it concerns, the triage, the handlers' names, the
investigation and the case numbers stay with those who may read it. The reporter sees only what the
reply step says is told to them, once it is done: the reply (``reply_content``, masked), its date and
how it was made; the outcome of the last level that handled the report (核查结论, and the measures,
masked); and that level as an office (村务监督委员会, 镇纪委, 县纪委), never a person. While the report
is being handled: which office has it now and by when the reporter is to be answered
(``complaint.reply_days`` from the day it was received).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.history.events import EventKind
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import HistoryEvent, Matter, OpenTask
from engine.public import complaints
from engine.public.masking import mask_personal
from engine.ruleset import UnknownRule, rule

HANDLE_LEVELS = {"handle_village": Level.VILLAGE, "handle_town": Level.TOWN, "handle_county": Level.COUNTY}
FINDINGS = ("substantiated", "partly_substantiated", "unfounded")
REPLY_METHODS = ("in_person", "phone", "written", "platform", "public_notice")
ROLE_LEVELS = {"supervisory_member": Level.VILLAGE, "town_discipline": Level.TOWN, "county_discipline": Level.COUNTY}
REPLY_DAYS = 30  # when the rule set names none
TEXT_LIMIT = 1000


def _reply_days() -> int:
    try:
        days = rule("complaint.reply_days")
    except UnknownRule:
        return REPLY_DAYS
    return days if isinstance(days, int) and days > 0 else REPLY_DAYS


def _forms(session: Session, instance_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(step, form) of each completed step of the matter, in the order they were done."""
    done = []
    for step_id, raw in session.execute(
        select(HistoryEvent.step_id, HistoryEvent.data)
        .where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == EventKind.TASK_COMPLETED)
        .order_by(HistoryEvent.seq)
    ):
        try:
            form = json.loads(raw).get("form")
        except (TypeError, ValueError, AttributeError):
            form = None
        if step_id and isinstance(form, dict):
            done.append((step_id, form))
    return done


def _text(value: Any) -> str:
    return mask_personal(value, TEXT_LIMIT) if isinstance(value, str) else ""


def answer(session: Session, instance: Matter, key: str) -> dict[str, Any] | None:
    """What the reporter of a complaint is told by its receipt code; None for a matter of another flow.

    ``state``: ``answered`` (with ``reply`` and ``outcome``), ``handling`` (with ``office`` and
    ``reply_by``) or ``ended`` (ended without a reply). Codes, not words: the page words them.
    """
    if key != complaints.FLOW:
        return None
    forms = _forms(session, instance.id)
    reply = next((form for step, form in reversed(forms) if step in complaints.REPLY_STEPS), None)
    handled = next(((step, form) for step, form in reversed(forms) if step in HANDLE_LEVELS), None)
    if reply is not None:
        outcome = None
        if handled is not None:
            step, form = handled
            finding = form.get("finding")
            outcome = {
                "level": HANDLE_LEVELS[step],
                "finding": finding if finding in FINDINGS else None,
                "measures": _text(form.get("measures")),
            }
        method = reply.get("reply_method")
        replied_on = reply.get("replied_on")
        return {
            "state": "answered",
            "reply": {
                "content": _text(reply.get("reply_content")),
                "method": method if method in REPLY_METHODS else None,
                "on": replied_on if isinstance(replied_on, str) else None,
            },
            "outcome": outcome,
        }
    if instance.status != MatterStatus.RUNNING:
        return {"state": "ended"}
    roles = session.scalars(select(OpenTask.role).where(OpenTask.instance_id == instance.id)).all()
    office = next((ROLE_LEVELS[role] for role in roles if role in ROLE_LEVELS), None)
    started: datetime = as_utc(instance.started_at)
    return {"state": "handling", "office": office, "reply_by": started + timedelta(days=_reply_days())}
