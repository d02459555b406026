"""Handling a violation warning: the one command behind the supervisors' pages, the API and the CLI.

``handle(session, violation_id, action, actor, …)`` authorises with the access policy, locks in the
lock order (the violation's matters, then the violation: :func:`violations.lock`), validates the
input and the state, acts and records the change in the violation's own chain with its actor, all
in the caller's transaction. Every refusal is a coded error, so each adapter refuses alike.

Actions (``ACTIONS``), the states they start from and the state they lead to:

=============  ===============================  ===============  ==================================
action         from                             to               chain event
=============  ===============================  ===============  ==================================
``ack``        open, escalated                  acknowledged     ``acknowledged``
``assign``     open, acknowledged, escalated    (unchanged)      ``assigned`` (owner, deadline)
``rectify``    open, acknowledged, escalated    rectified        ``rectified``
``accept``     rectified                        closed/rectified ``rectification_accepted``
``reject``     rectified                        acknowledged     ``rectification_rejected``
``escalate``   any but closed                   escalated        ``escalated`` (one level up)
``dismiss``    any but closed                   closed/dismissed ``closed`` (who may: see
                                                                 ``reach.require_dismiss_level``)
``close``      any but closed                   closed           ``closed``
=============  ===============================  ===============  ==================================

``rectify`` is the owner's report (policy ``violation.rectify``); every other action is the
supervisors' (``violation.handle``): those at the warning's level or above. Auditors read, never act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST
from engine.clock import as_utc, format_time
from engine.errors import InvalidState, NotFound
from engine.inputs import InputInvalid
from engine.org.roles import ROLES
from engine.org.units import holds_role
from engine.persistence.enums import Level
from engine.supervision import timers, violation_chain
from engine.supervision import violations as v
from engine.supervision.models import SupervisionTimer, Violation, ViolationOutcome
from engine.supervision.reach import require_dismiss_level
from engine.texts import text

ACTIONS = ("ack", "assign", "rectify", "accept", "reject", "escalate", "dismiss", "close")
NOT_CLOSED = (v.OPEN, v.ACKNOWLEDGED, v.ESCALATED, v.RECTIFIED)
FROM: dict[str, tuple[str, ...]] = {
    "ack": (v.OPEN, v.ESCALATED),
    "assign": (v.OPEN, v.ACKNOWLEDGED, v.ESCALATED),
    "rectify": (v.OPEN, v.ACKNOWLEDGED, v.ESCALATED),
    "accept": (v.RECTIFIED,),
    "reject": (v.RECTIFIED,),
    "escalate": NOT_CLOSED,
    "dismiss": NOT_CLOSED,
    "close": NOT_CLOSED,
}
POLICY = {action: "violation.rectify" if action == "rectify" else "violation.handle" for action in ACTIONS}
NOTE_OPTIONAL = frozenset({"assign"})
MAX_NOTE = 2000
MAX_DEADLINE_DAYS = 366


@dataclass(frozen=True)
class Handled:
    """What an action did: the violation's state after it and the chain event that records it."""

    violation_id: int
    action: str
    status: str
    level: str
    outcome: str | None
    owner_role: str | None
    owner_user: str | None
    rectify_by: datetime | None
    event_seq: int
    event_kind: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "violation": self.violation_id,
            "action": self.action,
            "status": self.status,
            "level": self.level,
            "outcome": self.outcome,
            "owner_role": self.owner_role,
            "owner_user": self.owner_user,
            "rectify_by": format_time(self.rectify_by),
            "event_seq": self.event_seq,
            "event_kind": self.event_kind,
        }


# --- input ------------------------------------------------------------------------------------------


def check_action(action: Any) -> str:
    if not isinstance(action, str) or action not in ACTIONS:
        raise InputInvalid(
            code="violation.unknown_action",
            params={
                "action": str(action)[:40],
                "actions": ", ".join(ACTIONS),
                "shown": repr(action),
                "choices": text("supervision.separator").join(ACTIONS),
            },
            field="action",
        )
    return action


def check_note(action: str, note: Any) -> str:
    text = note.strip() if isinstance(note, str) else ""
    if not text and action in NOTE_OPTIONAL and note in (None, ""):
        return ""
    if len(text) < v.MIN_NOTE:
        raise InputInvalid(
            code="violation.note_required",
            params={"min": v.MIN_NOTE},
            field="note",
        )
    if len(text) > MAX_NOTE:
        raise InputInvalid(
            code="violation.note_too_long",
            params={"max": MAX_NOTE},
            field="note",
        )
    return text


def parse_deadline(value: Any, now: datetime) -> datetime:
    """A date (YYYY-MM-DD) from today to a year on, as the end of that day in China time (UTC)."""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    today = as_utc(now).astimezone(CST).date()
    if day is None or day < today or day > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise InputInvalid(
            code="violation.deadline",
            params={"today": today.isoformat(), "days": MAX_DEADLINE_DAYS},
            field="deadline",
        )
    return datetime.combine(day, time(23, 59, 59), CST).astimezone(as_utc(now).tzinfo)


def check_owner(session: Session, violation: Violation, owner_role: Any, owner_user: Any) -> tuple[str, str | None]:
    """A role held in the violation's village, and optionally an active person holding it there."""
    if not isinstance(owner_role, str) or owner_role not in ROLES or ROLES[owner_role].level != Level.VILLAGE:
        raise InputInvalid(
            code="violation.owner_role",
            params={"role": str(owner_role)[:40], "shown": repr(str(owner_role)[:40])},
            field="owner_role",
        )
    if owner_user in (None, ""):
        return owner_role, None
    if (
        not isinstance(owner_user, str)
        or len(owner_user) > 64
        or not holds_role(session, owner_user, owner_role, violation.village_id)
    ):
        raise InputInvalid(
            code="violation.owner_user",
            params={"user": str(owner_user)[:64], "role": owner_role, "role_name": ROLES[owner_role].name_zh},
            field="owner_user",
        )
    return owner_role, owner_user


# --- the command ------------------------------------------------------------------------------------


def handle(
    session: Session,
    violation_id: int,
    action: str,
    actor: str,
    *,
    note: str | None = None,
    owner_role: str | None = None,
    owner_user: str | None = None,
    deadline: str | None = None,
    now: datetime | None = None,
) -> Handled:
    """Do ``action`` on the violation as ``actor``; see the module's table."""
    action = check_action(action)
    if not isinstance(violation_id, int) or isinstance(violation_id, bool) or violation_id <= 0:
        raise NotFound(code="violation.not_found", params={"violation": violation_id})
    now = now or clock.now()
    if session.scalar(select(Violation.id).where(Violation.id == violation_id)) is None:
        raise NotFound(code="violation.not_found", params={"violation": violation_id})
    violation = v.lock(session, violation_id)
    policy.require(session, actor, "violation.read", violation)
    policy.require(session, actor, POLICY[action], violation)
    text = check_note(action, note)
    if action == "assign":
        role, person = check_owner(session, violation, owner_role, owner_user)
        due = parse_deadline(deadline, now)
    if violation.status not in FROM[action]:
        raise InvalidState(
            code="violation.wrong_state",
            params={"violation": violation.id, "status": violation.status, "action": action},
        )
    if action == "assign":
        kind = _assign(session, violation, actor, role, person, due, text, now)
    elif action == "accept":
        book = v.book_for_village(session, violation.village_id)
        v.transition(
            session,
            book,
            violation,
            v.CLOSED,
            actor=actor,
            note=text,
            now=now,
            kind="rectification_accepted",
            outcome=ViolationOutcome.RECTIFIED,
        )
        kind = "rectification_accepted"
    elif action == "reject":
        kind = _reject(session, violation, actor, text, now)
    elif action == "escalate":
        book = v.book_for_village(session, violation.village_id)
        if book.next_level(violation.level) is None:
            raise InvalidState(
                code="violation.at_top",
                params={
                    "violation": violation.id,
                    "level": violation.level,
                    "level_title": book.level_title(violation.level),
                },
            )
        v.act(session, violation.id, "escalate", actor, text, now=now)
        kind = "escalated"
    else:
        name = "close" if action == "dismiss" else action
        v.act(session, violation.id, name, actor, text, dismiss=action == "dismiss", now=now)
        kind = {"ack": "acknowledged", "rectify": "rectified", "close": "closed", "dismiss": "closed"}[action]
    return Handled(
        violation.id,
        action,
        violation.status,
        violation.level,
        violation.outcome,
        violation.owner_role,
        violation.owner_user,
        violation.rectify_by,
        violation.event_seq,
        kind,
    )


def _assign(
    session: Session,
    violation: Violation,
    actor: str,
    role: str,
    person: str | None,
    due: datetime,
    note: str,
    now: datetime,
) -> str:
    """Name the rectification owner and deadline; the deadline's timer moves with it."""
    violation.owner_role, violation.owner_user, violation.rectify_by = role, person, due
    data: dict[str, Any] = {
        "set": {"owner_role": role, "owner_user": person, "rectify_by": format_time(due)},
        "owner": {"role": role, "user": person, "unit": violation.village_id},
        "deadline": as_utc(due).astimezone(CST).date().isoformat(),
    }
    if note:
        data["note"] = note
    violation_chain.append(session, violation, "assigned", at=now, actor=actor, data=data)
    # The deadline is now this one: the earlier deadline timer of this violation is obsolete.
    session.execute(
        update(SupervisionTimer)
        .where(
            SupervisionTimer.violation_id == violation.id,
            SupervisionTimer.kind == timers.RECTIFY_DEADLINE,
            SupervisionTimer.fired.is_(False),
        )
        .values(fired=True, fired_at=now, outcome="replaced")
    )
    timers.schedule(
        session,
        key=f"rectify:{violation.id}:{int(as_utc(due).timestamp())}:{violation.event_seq}",
        kind=timers.RECTIFY_DEADLINE,
        due_at=due,
        violation_id=violation.id,
        instance_id=violation.instance_id,
        payload={"assigned": violation.event_seq},
    )
    return "assigned"


def _reject(session: Session, violation: Violation, actor: str, reason: str, now: datetime) -> str:
    """Send a reported rectification back to its owner, who reads why in the violation's history."""
    violation.status = v.ACKNOWLEDGED
    violation_chain.append(
        session,
        violation,
        "rectification_rejected",
        at=now,
        actor=actor,
        data={
            "set": {"status": v.ACKNOWLEDGED},
            "note": reason,
            "notify": {"role": violation.owner_role, "user": violation.owner_user},
        },
    )
    return "rectification_rejected"


# --- who reads and who owns -------------------------------------------------------------------------


def may_do(session: Session, username: str, violation: Violation) -> tuple[str, ...]:
    """The actions ``username`` may take on the violation now (policy and state), for the pages."""
    found = []
    for action in ACTIONS:
        if violation.status not in FROM[action]:
            continue
        if not policy.may(session, username, POLICY[action], violation):
            continue
        if (
            action == "escalate"
            and v.book_for_village(session, violation.village_id).next_level(violation.level) is None
        ):
            continue
        if action == "dismiss" and not _may_dismiss(session, username, violation):
            continue
        found.append(action)
    return tuple(found)


def _may_dismiss(session: Session, username: str, violation: Violation) -> bool:
    from engine.errors import PermissionDenied
    try:
        require_dismiss_level(session, v.book_for_village(session, violation.village_id), violation, username)
    except PermissionDenied:
        return False
    return True
