"""Raising violation warnings and moving them through their states, every change chained with its actor.

States: open → acknowledged → rectified, or escalated up the chain (village supervisory committee →
town → county discipline commission) → closed. A new warning starts at the level its colour says
(``escalation.starts_at``: a red one with the town at once), a colour raised later moves it there at
once, and an unhandled one moves up after the rule's delay at its level, counted in working days
(``escalation.calendar``, engine.calendar). Whoever touches a violation locks its matter and its
rectification matter first (ascending id), then the violation, the order steps use, so steps, sweeps
and people never deadlock (see "Lock order" in docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST, load_work_calendar
from engine.clock import as_utc, format_time
from engine.definitions.deploy import latest_version
from engine.errors import InvalidState, NotFound, PowerlistError
from engine.history.chain import GENESIS
from engine.org.roles import ROLES
from engine.org.service import holds
from engine.org.units import holds_role
from engine.persistence.db import begin_write
from engine.persistence.models import HistoryEvent, Matter, OrgUnit, RoleAssignment, User
from engine.runtime.steps import start_matter
from engine.supervision import timers, violation_chain
from engine.supervision.models import Severity, Violation, ViolationOutcome, ViolationStatus
from engine.supervision.reach import book_for_village, require_dismiss_level, role_unit_id, supervisor_units
from engine.supervision.rules import RuleBook, role_is_village
from engine.texts import text

SYSTEM = "system"
RAISED = "powerlist.supervision.raised"  # session.info: violations raised in the session, in order
_HOLDERS = "powerlist.supervision.holders"

OPEN, ACKNOWLEDGED, RECTIFIED, ESCALATED, CLOSED = (
    ViolationStatus.OPEN,
    ViolationStatus.ACKNOWLEDGED,
    ViolationStatus.RECTIFIED,
    ViolationStatus.ESCALATED,
    ViolationStatus.CLOSED,
)
ACTIVE = (OPEN, ACKNOWLEDGED, ESCALATED, RECTIFIED)

# action -> (states it may start from, state it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ack": ((OPEN, ESCALATED), ACKNOWLEDGED),
    "rectify": ((OPEN, ACKNOWLEDGED, ESCALATED), RECTIFIED),
    "escalate": ((OPEN, ACKNOWLEDGED, ESCALATED, RECTIFIED), ESCALATED),
    "close": ((OPEN, ACKNOWLEDGED, ESCALATED, RECTIFIED), CLOSED),
}
MIN_NOTE = 2


@dataclass
class Finding:
    """What a detector saw; :func:`raise_violation` turns it into a violation once per ``dedup_key``."""

    code: str
    village_id: int
    dedup_key: str
    message: str
    instance_id: int | None = None
    step_id: str | None = None
    task_id: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    responsible_role: str | None = None
    responsible_user: str | None = None
    severity: str | None = None


def event_ref(event: HistoryEvent) -> dict[str, Any]:
    """A tamper-evident pointer to a history event: its place and its hash."""
    return {
        "instance": event.instance_id,
        "seq": event.seq,
        "kind": event.kind,
        "step": event.step_id,
        "hash": event.hash.hex(),
    }


def period_of(at: datetime) -> str:
    local = as_utc(at).astimezone(CST)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"



def sole_holder(session: Session, role: str, unit_id: int) -> str | None:
    """The username holding ``role`` in the unit when exactly one active user does (cached per session)."""
    cache = session.info.setdefault(_HOLDERS, {})
    if (role, unit_id) not in cache:
        names = session.scalars(
            select(User.username)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, RoleAssignment.org_unit_id == unit_id, User.active.is_(True))
            .limit(2)
        ).all()
        cache[(role, unit_id)] = names[0] if len(names) == 1 else None
    return cache[(role, unit_id)]


def _holds_role(session: Session, username: str | None, role: str, unit_id: int) -> bool:
    return bool(username) and username != SYSTEM and holds_role(session, username, role, unit_id)



def raise_violation(session: Session, book: RuleBook, finding: Finding, now: datetime) -> Violation | None:
    """Record a violation (once per dedup key), schedule its escalation and start its rectification."""
    if session.scalar(select(Violation.id).where(Violation.dedup_key == finding.dedup_key)) is not None:
        return None
    spec = book.violation(finding.code)
    severity = finding.severity or spec["severity"]
    owner_role = spec.get("owner", "responsible")
    if owner_role == "responsible":
        # Responsibility follows the step: a town (county) step's warning is the town's (county's).
        responsible = finding.responsible_role
        owner_role = responsible if responsible in ROLES else None
        owner_role = owner_role or book.rectification["default_owner"]
    owner_unit = role_unit_id(session, finding.village_id, owner_role)
    owner_user = finding.responsible_user
    if not _holds_role(session, owner_user, owner_role, owner_unit):
        owner_user = sole_holder(session, owner_role, owner_unit)
    rectify_by = now + book.rectify_within(finding.code) if severity != Severity.BLUE else None
    level = book.starts_at(severity)
    violation = Violation(
        code=finding.code,
        dedup_key=finding.dedup_key[:200],
        severity=severity,
        points=book.points(finding.code, severity),
        title=spec["title"],
        message=finding.message,
        legal_basis=spec.get("legal_basis"),
        rule_version=book.label,
        village_id=finding.village_id,
        instance_id=finding.instance_id,
        step_id=finding.step_id,
        task_id=finding.task_id,
        evidence=finding.evidence,
        responsible_role=finding.responsible_role,
        responsible_user=finding.responsible_user,
        owner_role=owner_role,
        owner_user=owner_user,
        level=level,
        status=OPEN,
        detected_at=now,
        rectify_by=rectify_by,
        period=period_of(now),
        event_seq=0,
        event_head=GENESIS,
    )
    if session.get_bind().dialect.name == "sqlite":
        session.add(violation)  # one writer at a time: the look-up above is enough
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(violation)
                session.flush()
        except IntegrityError:
            return None  # raised by a concurrent transaction just now
    violation_chain.append(
        session,
        violation,
        "raised",
        at=now,
        actor=SYSTEM,
        data={
            "set": {name: getattr(violation, name) for name in violation_chain.TRACKED},
            "dedup_key": violation.dedup_key,
            "title": violation.title,
            "message": violation.message,
            "legal_basis": violation.legal_basis,
            "rule_version": violation.rule_version,
            "step": violation.step_id,
            "task": violation.task_id,
            "evidence": violation.evidence,
            "responsible": {"role": violation.responsible_role, "user": violation.responsible_user},
            "owner": {"role": owner_role, "user": owner_user},
            "rectify_by": format_time(rectify_by),
            "routed": routing(book, severity, level),
        },
    )
    session.info.setdefault(RAISED, []).append(violation)
    _schedule_escalation(session, book, violation, now)
    _after_severity(session, book, violation, now)
    return violation


def raised_in(session: Session) -> list[Violation]:
    """The violations raised so far in the session's transactions (a view, do not change it)."""
    return session.info.setdefault(RAISED, [])


def routing(book: RuleBook, severity: str, level: str) -> dict[str, Any]:
    """Who receives a warning of ``severity`` at ``level`` and why: the rule that sends it there."""
    return {
        "level": level,
        "role": book.supervisor_role(level),
        "title": book.level_title(level),
        "rule": f"escalation.starts_at.{severity}",
        "severity": severity,
        "calendar": book.escalation_calendar,
        "unhandled_after": _iso(book.unhandled_after(severity, level)),
    }


def _iso(delay) -> str | None:
    if delay is None:
        return None
    days, seconds = delay.days, delay.seconds
    return "P" + (f"{days}D" if days else "") + (f"T{seconds}S" if seconds else "") if days or seconds else "PT0S"


def _schedule_escalation(session: Session, book: RuleBook, violation: Violation, since: datetime) -> None:
    delay = book.unhandled_after(violation.severity, violation.level)
    if delay is None or book.next_level(violation.level) is None:
        return
    # A violation reaches each level and each colour once, so the key is new.
    timers.schedule(
        session,
        key=f"escalate:{violation.id}:{violation.level}:{violation.severity}",
        kind=timers.ESCALATION,
        due_at=_later(session, book, violation, since, delay),
        violation_id=violation.id,
        instance_id=violation.instance_id,
        payload={"level": violation.level, "calendar": book.escalation_calendar, "after": _iso(delay)},
        new_key=True,
    )


def _later(session: Session, book: RuleBook, violation: Violation, since: datetime, delay):
    """``since`` plus ``delay`` in the rule set's escalation calendar: working days (holidays and 调休 from
    engine.calendar), every day, or the calendar of the violation's step (``step``)."""
    calendar = book.escalation_calendar
    if calendar == "working":
        return load_work_calendar().add_working(as_utc(since), delay)
    if calendar == "step" and violation.task_id is not None:
        return timers.step_later(session, violation.task_id, since, delay)
    return since + delay


def start_rectification(session: Session, book: RuleBook, violation: Violation, now: datetime) -> int | None:
    """Start the rectification flow for ``violation``; None (and a note on it) when the flow is not deployed."""
    key = book.rectification["flow"]
    try:
        row = latest_version(session, key)
    except NotFound:
        note_event(
            session,
            violation,
            "rectification_unavailable",
            actor=SYSTEM,
            now=now,
            data={"flow": key, "note": text("supervision.rectification.unavailable", flow=key)},
        )
        return None
    village = session.get(OrgUnit, violation.village_id)
    deadline = as_utc(violation.rectify_by).astimezone(CST).date().isoformat() if violation.rectify_by else None
    description = text("supervision.rectification.description", title=violation.title, message=violation.message)
    data = {
        "violation_id": violation.id,
        "violation_code": violation.code,
        "description": description[:2000],
        "owner_role": violation.owner_role,
        "deadline": deadline,
        "title": text("supervision.rectification.title", title=violation.title)[:200],
    }

    def link(instance: Matter) -> None:
        violation.rectification_instance_id = instance.id

    result = start_matter(session, row, village, SYSTEM, data, data["title"], on_created=link)
    instance = session.get(Matter, result.instance_id)
    note_event(
        session,
        violation,
        "rectification_started",
        actor=SYSTEM,
        now=now,
        data={"instance": instance.id, "flow": key, "version": row.version, "owner_role": violation.owner_role},
    )
    return instance.id


def _after_severity(session: Session, book: RuleBook, violation: Violation, now: datetime) -> None:
    """Start the rectification flow when the colour calls for one; else watch the rectification deadline."""
    if violation.rectification_instance_id is not None or violation.severity == Severity.BLUE:
        return
    # The rectification flow is the village's: a town or county owner rectifies by the deadline.
    village_owner = violation.owner_role is None or role_is_village(violation.owner_role)
    if village_owner and book.starts_rectification(violation.code, violation.severity):
        if start_rectification(session, book, violation, now) is not None:
            return
    if violation.rectify_by is not None:
        timers.schedule(
            session,
            key=f"rectify:{violation.id}",
            kind=timers.RECTIFY_DEADLINE,
            due_at=violation.rectify_by,
            violation_id=violation.id,
            instance_id=violation.instance_id,
            payload={},
        )


def upgrade(session: Session, book: RuleBook, violation: Violation, severity: str, now: datetime, note: str) -> None:
    """Raise a warning's colour (a yellow overdue turning red): points, escalation and rectification follow."""
    if violation.status == CLOSED or severity == violation.severity:
        return
    violation.severity = severity
    violation.points = book.points(violation.code, severity)
    violation_chain.append(
        session,
        violation,
        "upgraded",
        at=now,
        actor=SYSTEM,
        data={"set": {"severity": severity, "points": violation.points}, "note": note},
    )
    target = book.starts_at(severity)
    if violation.status != RECTIFIED and _rank(book, target) > _rank(book, violation.level):
        # The new colour starts higher up (a red warning is the town's at once): it moves there now.
        title = book.level_title(target)
        moved = text(
            "supervision.violations.upgraded_moved",
            severity=book.rules["severities"].get(severity, severity),
            level=title,
        )
        routed = {"routed": routing(book, severity, target)}
        transition(session, book, violation, ESCALATED, actor=SYSTEM, note=moved, now=now, level=target, extra=routed)
    else:
        _schedule_escalation(session, book, violation, now)
    _after_severity(session, book, violation, now)


def _rank(book: RuleBook, level: str) -> int:
    levels = [c["level"] for c in book.chain]
    return levels.index(level) if level in levels else -1


def transition(
    session: Session,
    book: RuleBook,
    violation: Violation,
    to_status: str,
    *,
    actor: str,
    note: str,
    now: datetime,
    kind: str | None = None,
    outcome: str | None = None,
    level: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Change a violation's status (and level), chained with its actor, note and ``extra`` data."""
    changes: dict[str, Any] = {"status": to_status}
    violation.status = to_status
    if level is not None:
        violation.level = changes["level"] = level
    if to_status == CLOSED:
        violation.outcome = changes["outcome"] = outcome or ViolationOutcome.HANDLED
        violation.closed_at = now
    data = {"set": changes, "note": note, **(extra or {})}
    violation_chain.append(session, violation, kind or to_status, at=now, actor=actor, data=data)
    if to_status == ESCALATED:
        _schedule_escalation(session, book, violation, now)


def escalate(session: Session, book: RuleBook, violation: Violation, *, actor: str, note: str, now: datetime) -> bool:
    """Move a violation one level up the chain; False when it is already at the top."""
    level = book.next_level(violation.level)
    if level is None:
        return False
    transition(session, book, violation, ESCALATED, actor=actor, note=note, now=now, level=level)
    return True


def note_event(session: Session, violation: Violation, kind: str, *, actor: str | None, now: datetime, data: dict):
    """Record something that happened to a violation without changing its state."""
    violation_chain.append(session, violation, kind, at=now, actor=actor, data=data)


def lock_matters(session: Session, instance_ids: Iterable[int | None], *, skip_locked: bool = False) -> bool:
    """Lock matters in ascending id, as steps do (``FOR NO KEY UPDATE``); False when ``skip_locked``
    and someone holds one of them now (those already taken stay locked until the transaction ends)."""
    for instance_id in sorted({i for i in instance_ids if i is not None}):
        locked = session.scalar(
            select(Matter.id)
            .where(Matter.id == instance_id)
            .with_for_update(of=Matter, key_share=True, skip_locked=skip_locked)
        )
        if locked is None and session.scalar(select(Matter.id).where(Matter.id == instance_id)):
            return False
    return True


def lock_for_change(
    session: Session, violation_id: int, *, skip_locked: bool = False, matter_id: int | None = None
) -> Violation | None:
    """Lock a violation in the lock order: its matter and its rectification matter (and ``matter_id``)
    in ascending id, then the violation row. None when ``skip_locked`` and someone holds one of them.

    The rectification matter is linked only while the violation's matter is locked, so the link read
    before the locks is still the link once they are held; a violation without a matter may gain one
    in between, and that newer matter is then locked last.
    """
    current = session.execute(
        select(Violation.instance_id, Violation.rectification_instance_id).where(Violation.id == violation_id)
    ).first()
    if current is None:
        raise NotFound(f"no violation {violation_id}")
    matters = {current.instance_id, current.rectification_instance_id, matter_id}
    if not lock_matters(session, matters, skip_locked=skip_locked):
        return None
    violation = session.scalar(
        select(Violation)
        .where(Violation.id == violation_id)
        .with_for_update(key_share=True, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    if violation is None:
        if skip_locked and session.scalar(select(Violation.id).where(Violation.id == violation_id)) is not None:
            return None
        raise NotFound(f"no violation {violation_id}")
    late = {violation.instance_id, violation.rectification_instance_id} - matters
    if late and not lock_matters(session, late, skip_locked=skip_locked):
        return None
    return violation


def lock(session: Session, violation_id: int) -> Violation:
    """Lock a violation for a person's change, in the lock order (see :func:`lock_for_change`)."""
    begin_write(session)
    locked = lock_for_change(session, violation_id)
    assert locked is not None
    return locked


def act(
    session: Session,
    violation_id: int,
    action: str,
    actor: str,
    note: str,
    *,
    dismiss: bool = False,
    now: datetime | None = None,
) -> Violation:
    """A person acknowledges, rectifies, escalates or closes a violation; the note is kept."""
    if action not in ACTIONS:
        raise PowerlistError(f"unknown action '{action}' (one of {', '.join(ACTIONS)})")
    if note is None or len(note.strip()) < MIN_NOTE:
        raise PowerlistError(f"a note of at least {MIN_NOTE} characters is required")
    violation = lock(session, violation_id)
    now = now or clock.now()
    book = book_for_village(session, violation.village_id)
    allowed_from, to_status = ACTIONS[action]
    if violation.status not in allowed_from:
        raise InvalidState(f"violation {violation.id} is {violation.status}; cannot {action} it")
    policy.require(session, actor, "violation.rectify" if action == "rectify" else "violation.handle", violation)
    if action == "escalate":
        if not escalate(session, book, violation, actor=actor, note=note.strip(), now=now):
            raise InvalidState(f"violation {violation.id} is already with the {book.level_title(violation.level)}")
        return violation
    outcome = None
    if to_status == CLOSED and dismiss:
        require_dismiss_level(session, book, violation, actor)  # a red warning: the town or above
    if to_status == CLOSED:
        if dismiss:
            outcome = ViolationOutcome.DISMISSED
        else:
            outcome = ViolationOutcome.RECTIFIED if violation.status == RECTIFIED else ViolationOutcome.HANDLED
    transition(session, book, violation, to_status, actor=actor, note=note.strip(), now=now, outcome=outcome)
    return violation



def handles_now(session: Session, book: RuleBook, user: User, violation: Violation) -> bool:
    """Must handle it now: the supervisor at its current level (the warning's recipient)."""
    units = supervisor_units(session, book, violation)
    return bool(units) and units[0][0] == violation.level and holds(user, units[0][1], units[0][2])
