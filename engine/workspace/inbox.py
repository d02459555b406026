"""What a person has on their desk: steps to do, steps done, matters they started, copies and
added approvals waiting for them; and the power list to start from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import as_utc
from engine.history.events import EventKind
from engine.org.service import get_user
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OpenTask, OrgUnit
from engine.workspace import summary
from engine.workspace.access import startable_villages
from engine.workspace.labels import CATEGORY_ORDER
from engine.workspace.models import AddedApproval, ApprovalStatus, MatterCopy, TaskReminder
from engine.workspace.people import persons

DUE_SOON = timedelta(hours=48)
DONE_KINDS = (
    EventKind.TASK_COMPLETED,
    EventKind.TASK_FORCED,
    EventKind.TASK_REJECTED,
    EventKind.TASK_RETURNED,
    EventKind.TASK_TRANSFERRED,
    EventKind.TASK_WITHDRAWN,
    EventKind.APPROVER_DECIDED,
    EventKind.TASK_PARKED,
)


@dataclass(frozen=True, slots=True)
class WaitingApproval:
    """An added approver an open step waits for."""

    approver: str
    approver_name: str
    position: str  # ``before`` or ``after``
    parked: bool  # the holder has submitted; the submission waits for the approver


@dataclass(frozen=True, slots=True)
class OpenStepFacts:
    """An open step of a matter: which matter and step, whose role, since when, due when."""

    id: str
    instance: int
    title: str
    item: str
    village: str
    step: str
    step_name: str
    role: str
    opened_at: datetime | None
    due_at: datetime | None
    urgency: str


@dataclass(frozen=True, slots=True)
class TodoTask(OpenStepFacts):
    """An open step the user may do."""

    assignee: str | None
    reminders: int
    waiting_for: WaitingApproval | None
    returned: str | None
    transferred: str | None


@dataclass(frozen=True, slots=True)
class DoneEntry:
    """Something the user did to a matter's step, from the history."""

    instance: int
    title: str
    item: str
    kind: EventKind
    step_name: str | None
    at: datetime | None
    status: MatterStatus


@dataclass(frozen=True, slots=True)
class StartedMatter:
    """A matter the user started, and the steps open in it now."""

    instance: int
    title: str
    item: str
    village: str
    started_at: datetime | None
    status: MatterStatus
    current: list[str]


@dataclass(frozen=True, slots=True)
class CopyEntry:
    """A matter copied to the user (抄送)."""

    instance: int
    title: str
    item: str
    sent_by: str
    sent_by_name: str
    sent_at: datetime | None
    note: str | None
    read: bool
    status: MatterStatus


@dataclass(frozen=True, slots=True)
class ApprovalEntry:
    """An added approval (加签) waiting for the user's decision."""

    id: int
    instance: int
    title: str
    item: str
    step: str
    position: str
    requested_by: str
    requested_by_name: str
    requested_at: datetime | None
    reason: str | None
    ready: bool


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """An item of the power list, at its newest version in service."""

    key: str
    name: str
    number: str | None
    category: str | None
    description: str | None
    responsible_body: str | None
    steps: list[str]
    version: int
    can_start: bool | None = None  # asked only for a given person


@dataclass(frozen=True, slots=True)
class CatalogueGroup:
    """The items of one category of the power list (``""``: of no category)."""

    category: str
    items: list[CatalogueItem] = field(default_factory=list)


def urgency(due: datetime | None, now: datetime) -> str:
    """``overdue`` (red), ``soon`` (amber, within two days) or ``ok`` (green)."""
    if due is None:
        return "ok"
    if due < now:
        return "overdue"
    if due - now < DUE_SOON:
        return "soon"
    return "ok"


def _holdings(session: Session, username: str) -> list[tuple[str, int]]:
    return [(a.role, a.org_unit_id) for a in get_user(session, username).roles]


def todo(session: Session, username: str) -> list[TodoTask]:
    """Open steps the user may do: their roles in their places, not handed to someone else; overdue first."""
    pairs = _holdings(session, username)
    if not pairs:
        return []
    query = (
        select(OpenTask, Matter, DefinitionVersion.name, OrgUnit.name)
        .join(Matter, Matter.id == OpenTask.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .join(OrgUnit, OrgUnit.id == Matter.village_id)
        .where(tuple_(OpenTask.role, OpenTask.org_unit_id).in_(pairs))
        .where((OpenTask.assignee.is_(None)) | (OpenTask.assignee == username))
        .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.opened_at, OpenTask.id)
    )
    rows = session.execute(query).all()
    ids = [task.id for task, *_ in rows]
    reminders = _reminder_counts(session, ids)
    waiting = _waiting_approvals(session, ids)
    why = summary.reasons(session, [task for task, *_ in rows])
    names = persons(session, {w[0] for w in waiting.values()})
    now = clock.now()
    result = []
    for task, instance, item_name, village_name in rows:
        due = as_utc(task.due_at)
        reason = why.get(task.id)
        wait = waiting.get(task.id)
        result.append(
            TodoTask(
                id=task.id,
                instance=instance.id,
                title=instance.title,
                item=item_name,
                village=village_name,
                step=task.step_id,
                step_name=task.step_name,
                role=task.role,
                opened_at=as_utc(task.opened_at),
                due_at=due,
                urgency=urgency(due, now),
                assignee=task.assignee,
                reminders=reminders.get(task.id, 0),
                waiting_for=WaitingApproval(wait[0], names[wait[0]].label, wait[1], wait[2]) if wait else None,
                returned=summary.plain(reason) if reason is not None and reason.kind == "returned" else None,
                transferred=summary.plain(reason) if reason is not None and reason.kind == "transferred" else None,
            )
        )
    result.sort(key=lambda t: t.urgency != "overdue")
    return result


def _reminder_counts(session: Session, task_ids: list[str]) -> Counter[str]:
    if not task_ids:
        return Counter()
    rows = session.execute(
        select(TaskReminder.task_id, func.count())
        .where(TaskReminder.task_id.in_(task_ids))
        .group_by(TaskReminder.task_id)
    )
    return Counter(dict(rows.all()))


def _waiting_approvals(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str, bool]]:
    """Per open step, the added approval it waits for: approver, position, whether parked."""
    if not task_ids:
        return {}
    rows = session.scalars(
        select(AddedApproval).where(AddedApproval.task_id.in_(task_ids), AddedApproval.status == ApprovalStatus.PENDING)
    )
    return {a.task_id: (a.approver, a.position, a.parked is not None) for a in rows}


def done(session: Session, username: str, limit: int = 50) -> list[DoneEntry]:
    """What the user did, newest first, from the history."""
    rows = session.execute(
        select(HistoryEvent, Matter, DefinitionVersion)
        .join(Matter, Matter.id == HistoryEvent.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(HistoryEvent.actor == username, HistoryEvent.kind.in_(DONE_KINDS))
        .order_by(HistoryEvent.at.desc(), HistoryEvent.id.desc())
        .limit(limit)
    ).all()
    result = []
    for event, instance, definition in rows:
        steps = {s["id"]: s["name"] for s in definition.meta.get("steps", [])}
        result.append(
            DoneEntry(
                instance=instance.id,
                title=instance.title,
                item=definition.name,
                kind=event.kind,
                step_name=steps.get(event.step_id or "", event.step_id),
                at=as_utc(event.at),
                status=instance.status,
            )
        )
    return result


def started(session: Session, username: str, limit: int = 50) -> list[StartedMatter]:
    rows = session.execute(
        select(Matter, DefinitionVersion.name)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(Matter.started_by == username)
        .order_by(Matter.started_at.desc(), Matter.id.desc())
        .limit(limit)
    ).all()
    current = _current_steps(session, [i.id for i, _ in rows])
    return [
        StartedMatter(
            instance=instance.id,
            title=instance.title,
            item=item_name,
            village=instance.village.name,
            started_at=as_utc(instance.started_at),
            status=instance.status,
            current=current.get(instance.id, []),
        )
        for instance, item_name in rows
    ]


def _current_steps(session: Session, instance_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not instance_ids:
        return found
    for instance_id, name in session.execute(
        select(OpenTask.instance_id, OpenTask.step_name).where(OpenTask.instance_id.in_(instance_ids))
    ):
        found.setdefault(instance_id, []).append(name)
    return found


def copies(session: Session, username: str, limit: int = 50) -> list[CopyEntry]:
    rows = session.execute(
        select(MatterCopy, Matter, DefinitionVersion.name)
        .join(Matter, Matter.id == MatterCopy.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(MatterCopy.recipient == username)
        .order_by(MatterCopy.sent_at.desc(), MatterCopy.id.desc())
        .limit(limit)
    ).all()
    names = persons(session, {copy.sent_by for copy, *_ in rows})
    return [
        CopyEntry(
            instance=instance.id,
            title=instance.title,
            item=item_name,
            sent_by=copy.sent_by,
            sent_by_name=names[copy.sent_by].label,
            sent_at=as_utc(copy.sent_at),
            note=copy.note,
            read=copy.read_at is not None,
            status=instance.status,
        )
        for copy, instance, item_name in rows
    ]


def approvals(session: Session, username: str) -> list[ApprovalEntry]:
    """加签 waiting for the user's decision (``after`` ones once the holder has submitted)."""
    rows = session.execute(
        select(AddedApproval, Matter, DefinitionVersion.name)
        .join(Matter, Matter.id == AddedApproval.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(AddedApproval.approver == username, AddedApproval.status == ApprovalStatus.PENDING)
        .order_by(AddedApproval.requested_at)
    ).all()
    names = persons(session, {approval.requested_by for approval, *_ in rows})
    return [
        ApprovalEntry(
            id=approval.id,
            instance=instance.id,
            title=instance.title,
            item=item_name,
            step=approval.step_id,
            position=approval.position,
            requested_by=approval.requested_by,
            requested_by_name=names[approval.requested_by].label,
            requested_at=as_utc(approval.requested_at),
            reason=approval.reason,
            ready=approval.position == "before" or approval.parked is not None,
        )
        for approval, instance, item_name in rows
    ]


def counts(session: Session, username: str) -> dict[str, int]:
    """The numbers on the menu."""
    tasks = todo(session, username)
    return {
        "todo": len(tasks),
        "overdue": sum(1 for t in tasks if t.urgency == "overdue"),
        "approvals": sum(1 for a in approvals(session, username) if a.ready),
        "copies": session.scalar(
            select(func.count()).where(MatterCopy.recipient == username, MatterCopy.read_at.is_(None))
        )
        or 0,
    }


def catalogue(session: Session, query: str | None = None, username: str | None = None) -> list[CatalogueGroup]:
    """The power list: the newest version in service of every item, grouped by 五小一跑 category.

    With ``username``, each item says whether that person may start it somewhere (``can_start``:
    published to their county, and they hold one of its starting roles within reach of a village).
    """
    rows = session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.key, DefinitionVersion.version.desc())
    )
    latest: dict[str, DefinitionVersion] = {}
    for row in rows:
        latest.setdefault(row.key, row)
    needle = (query or "").strip().lower()
    groups: dict[str, list[CatalogueItem]] = {}
    for row in latest.values():
        meta = row.meta or {}
        item = CatalogueItem(
            key=row.key,
            name=row.name,
            number=meta.get("number"),
            category=meta.get("category"),
            description=meta.get("description"),
            responsible_body=meta.get("responsible_body"),
            steps=[s["name"] for s in meta.get("steps", [])],
            version=row.version,
        )
        haystack = " ".join(str(v) for v in (row.key, row.name, item.number, item.description) if v).lower()
        if needle and needle not in haystack:
            continue
        if username is not None:
            item = replace(item, can_start=bool(startable_villages(session, username, row.key)))
        groups.setdefault(meta.get("category") or "", []).append(item)
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    return [
        CatalogueGroup(category, sorted(groups[category], key=lambda i: (i.number or "~", i.name)))
        for category in sorted(groups, key=lambda c: order.get(c, len(order)))
    ]
