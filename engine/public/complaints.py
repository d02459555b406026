"""码上举报 kept confidential: whom a report concerns, and the reporter's contact outside the history.

A report's start data says whom it concerns (``about``). One about the village's own cadres is
hidden from them by the access policy (the conflict check registered here); one about the
supervisory committee goes straight to the town discipline commission, which also replies.

三级联动: at 登记分流 (the rule set's ``complaints.step``) the committee judges a report general, complex
or special (一般 / 复杂 / 重大, the form's ``complexity``); the rule set's ``complaints.levels`` names the
level that handles each (village, town, county) and ``complaints.categories`` the least complexity
of a category. The level chosen (``handling_level``, which the flow routes on) may be higher, never
lower: :func:`check_triage` refuses the step naming the field, so a complex report is the town's at once.

The contact a reporter leaves is kept in :class:`ComplaintContact`, never in the history. The start
event holds ``HMAC-SHA256(salt, contact)`` instead, with a random salt per report kept beside the
contact: the record proves which contact was given, and the digest alone cannot be searched for a
phone number. Only the holders of the reply step read the contact, and every read is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from engine import clock, hooks, policy
from engine.errors import FieldError, FormInvalid, NotFound, PermissionDenied
from engine.history.events import EventKind
from engine.org.units import unit_chain
from engine.persistence.db import WRITE_OPTION, begin_write
from engine.persistence.models import (
    AuditLog,
    DefinitionVersion,
    HistoryEvent,
    Matter,
    OpenTask,
    RoleAssignment,
    User,
)
from engine.public.models import ComplaintContact
from engine.texts import text, texts
from engine.workspace import matter_detail

FLOW = "complaint"
ABOUT = ("cadres", "supervisors", "other")  # the village's cadres, its supervisory committee, anyone or anything else
ABOUT_SUPERVISORS = "supervisors"
REPLY_STEPS = frozenset({"reply_reporter", "reply_reporter_town"})
VILLAGE_READER = "supervisory_member"  # in the matter's own village, unless the report is about the committee
DISCIPLINE_READERS = frozenset({"town_discipline", "county_discipline"})  # within reach of the village
DIGEST_PREFIX = "hmac-sha256:"
SALT_BYTES = 32
READ = "reporter_contact_read"
REFUSED = "reporter_contact_refused"


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def digest(contact: str, salt: bytes) -> str:
    """What the history keeps of a contact: ``hmac-sha256:<hex>`` keyed by the report's own salt."""
    return DIGEST_PREFIX + hmac.new(salt, contact.encode("utf-8"), hashlib.sha256).hexdigest()


def keep_contact(session: Session, instance_id: int, contact: str, salt: bytes) -> None:
    """Store the contact of the report that started ``instance_id`` (in the caller's transaction)."""
    session.add(ComplaintContact(instance_id=instance_id, contact=contact, salt=salt, created_at=clock.now()))
    session.flush()


def start_data(session: Session, instance_id: int) -> dict[str, Any]:
    """The start data the matter's history recorded."""
    raw = session.scalar(
        select(HistoryEvent.data)
        .where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == EventKind.INSTANCE_STARTED)
        .order_by(HistoryEvent.seq)
        .limit(1)
    )
    data = json.loads(raw).get("data") if raw else None
    return data if isinstance(data, dict) else {}


def about(session: Session, instance_id: int) -> str | None:
    value = start_data(session, instance_id).get("about")
    return value if value in ABOUT else None


def concern(session: Session, instance: Matter) -> str:
    """Whom a report concerns, for the access policy: the village's cadres unless it says it is
    about the supervisory committee or about someone or something else."""
    return about(session, instance.id) or "cadres"



# --- 三级联动: the level a report's complexity sends it to ------------------------------------------

def required_level(book: Any, form: dict[str, Any]) -> tuple[str, str]:
    """(complexity, level) of a triage form under the rule set: the complexity given, raised to its
    category's least (``complaints.categories``), and the level that handles it (``complaints.levels``)."""
    complexity = book.complaint_complexity(form.get("complexity"), form.get("category"))
    return complexity, book.complaint_level(complexity)


def check_triage(book: Any, step: str, form: dict[str, Any]) -> None:
    """Refuse a triage whose ``handling_level`` is below the level its complexity goes to."""
    from engine.supervision.rules import LEVEL_ORDER

    chosen = form.get("handling_level")
    complexity, level = required_level(book, form)
    if chosen not in LEVEL_ORDER or LEVEL_ORDER.index(chosen) >= LEVEL_ORDER.index(level):
        return
    title = book.level_title(level)
    category = text("public.complaints.by_category") if form.get("complexity") != complexity else ""
    complexity_name = texts("public.complaints.complexity")[complexity]
    message = text("public.complaints.below_level", complexity=complexity_name, title=title, category=category)
    raise FormInvalid(step, [FieldError("handling_level", message)])


def _triage_routing(context: hooks.StepContext) -> None:
    """A completed 登记分流 of a complaint must send the report at least as high as its complexity says."""
    from engine.supervision.violations import book_for_village

    if not any(event.kind == EventKind.TASK_COMPLETED for event in context.events):
        return
    book = book_for_village(context.session, context.instance.village_id)
    rules = book.complaints
    if context.definition.key != rules["flow"]:
        return
    for event in context.events:
        if event.kind == EventKind.TASK_COMPLETED and event.step_id == rules["step"]:
            form = json.loads(event.data).get("form") or {}
            check_triage(book, event.step_id, form)


# --- 匿名: an anonymous report leaves no contact -------------------------------------------------

ANONYMOUS_CONTACT = "complaint.anonymous_contact"


def check_start(data: dict[str, Any]) -> None:
    """Refuse start data that is anonymous yet holds a contact (or its digest), naming the field.

    The start form's check refuses ``has_contact`` with ``anonymous``; this refuses the digest too,
    so a contact is never kept, nor silently dropped, for a report that says it is anonymous.
    """
    if data.get("anonymous") is not True:
        return
    for name in ("has_contact", "reporter_contact"):
        if data.get(name):
            error = FormInvalid("start", [FieldError(name, text("public.complaints.anonymous_contact"))])
            error.code = ANONYMOUS_CONTACT
            error.params = {"step": "start", "field": name}
            raise error


def _start_contact(context: hooks.StepContext) -> None:
    """A complaint started anonymously keeps no contact, whoever starts it."""
    if context.definition.key != FLOW:
        return
    for event in context.events:
        if event.kind == EventKind.INSTANCE_STARTED:
            data = json.loads(event.data).get("data")
            check_start(data if isinstance(data, dict) else {})


def install() -> None:
    """Say whom a complaint concerns, watch complaint steps and show the reporter's contact on the
    reply step (the engine's bootstrap calls this)."""
    policy.register_concern(FLOW, concern)
    hooks.after_step(_triage_routing)
    hooks.after_step(_start_contact)
    matter_detail.set_contact_source(contact_for_task)


def _instance(session: Session, instance_id: int) -> Matter:
    instance = session.get(Matter, instance_id)
    if instance is None:
        raise NotFound(code="matter.not_found")
    return instance


def _is_complaint(session: Session, instance: Matter) -> bool:
    key = session.scalar(select(DefinitionVersion.key).where(DefinitionVersion.id == instance.definition_version_id))
    return key == FLOW


def _holds_reader_role(session: Session, username: str, instance: Matter) -> bool:
    holdings = session.execute(
        select(RoleAssignment.role, RoleAssignment.org_unit_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.username == username, User.active.is_(True))
    ).all()
    reach = {unit.id for unit in unit_chain(session, instance.village_id)}
    village_reader = about(session, instance.id) != ABOUT_SUPERVISORS
    return any(
        (role in DISCIPLINE_READERS and unit in reach)
        or (village_reader and role == VILLAGE_READER and unit == instance.village_id)
        for role, unit in holdings
    )


def may_read_contact(session: Session, username: str, instance: Matter) -> bool:
    """Whether ``username`` holds the reply step's role for this complaint (nothing is logged)."""
    return (
        _is_complaint(session, instance)
        and policy.may(session, username, "matter.read", instance)
        and _holds_reader_role(session, username, instance)
    )


def reporter_contact(session: Session, username: str, instance_id: int) -> str | None:
    """The contact the reporter of a complaint left (None when they left none), for a holder of the
    reply step's role: the supervisory committee member in the village (not for a report about the
    committee), or the town or county discipline commission within reach.

    Someone who may not see the matter gets NotFound; someone who sees it but does not reply,
    PermissionDenied. Every read and every refused read by someone who sees the matter is logged
    (see :func:`_log`): call it from a transaction that only reads, or from one that declared its
    writing with :func:`~engine.persistence.db.begin_write` before its first statement.
    """
    instance = _instance(session, instance_id)
    policy.require(session, username, "matter.read", instance)
    if not _is_complaint(session, instance) or not _holds_reader_role(session, username, instance):
        _log(session, username, REFUSED, instance_id)
        raise PermissionDenied(code="complaint.contact_denied", params={"user": username})
    row = session.get(ComplaintContact, instance_id)
    if row is None:
        return None
    _log(session, username, READ, instance_id)
    return row.contact


def contact_for_task(session: Session, username: str, task: OpenTask) -> str | None:
    """The reporter's contact to show on the reply step's form, for a holder of that step; else None."""
    if task.step_id not in REPLY_STEPS:
        return None
    instance = _instance(session, task.instance_id)
    if not may_read_contact(session, username, instance):
        return None
    return reporter_contact(session, username, instance.id)


def contact_matches_record(session: Session, instance_id: int) -> bool | None:
    """Whether the kept contact is the one the history's start event recorded (None: none was kept).

    Reveals nothing of the contact; for auditors checking that the protected row was not changed.
    """
    row = session.get(ComplaintContact, instance_id)
    if row is None:
        return None
    recorded = start_data(session, instance_id).get("reporter_contact")
    return isinstance(recorded, str) and hmac.compare_digest(recorded, digest(row.contact, row.salt))


def _writing(session: Session) -> bool:
    if not session.in_transaction():
        return False
    return bool(session.connection().get_execution_options().get(WRITE_OPTION))


def _log(session: Session, actor: str, action: str, instance_id: int) -> None:
    """Record a read of a contact. Reads happen in transactions that only read (a page, an API call)
    and are never committed, so the entry is committed at once in a transaction of its own. A caller
    that declared a write gets the entry in its own transaction instead: SQLite has one writer."""
    entry = AuditLog(
        at=clock.now(), actor=actor, action=action, subject=f"matter {instance_id}", detail={"instance": instance_id}
    )
    bind = session.get_bind()
    if _writing(session) or not isinstance(bind, Engine):
        session.add(entry)
        session.flush()
        return
    with Session(bind) as log:
        begin_write(log)
        log.add(entry)
        log.commit()
