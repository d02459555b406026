"""What a person has on their desk: steps to do, steps done, matters they started, copies and
added approvals waiting for them; and the power list to start from."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import as_utc
from engine.history.events import EventKind
from engine.org.service import get_user
from engine.persistence.models import DefinitionVersion, HistoryEvent, OpenTask, OrgUnit, ProcessInstance
from engine.workspace import labels, summary
from engine.workspace.access import startable_villages
from engine.workspace.models import AddedApproval, ApprovalStatus, MatterCopy, TaskReminder
from engine.workspace.people import persons

DUE_SOON = timedelta(hours=48)
DONE_KINDS = (
    EventKind.TASK_COMPLETED,
    EventKind.TASK_FORCED,
    labels.TASK_REJECTED,
    labels.TASK_RETURNED,
    labels.TASK_TRANSFERRED,
    labels.TASK_WITHDRAWN,
    labels.APPROVER_DECIDED,
    labels.TASK_PARKED,
)


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


def todo(session: Session, username: str) -> list[dict[str, Any]]:
    """Open steps the user may do: their roles in their places, not handed to someone else; overdue first."""
    pairs = _holdings(session, username)
    if not pairs:
        return []
    query = (
        select(OpenTask, ProcessInstance, DefinitionVersion.name, OrgUnit.name)
        .join(ProcessInstance, ProcessInstance.id == OpenTask.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .join(OrgUnit, OrgUnit.id == ProcessInstance.village_id)
        .where(tuple_(OpenTask.role, OpenTask.org_unit_id).in_(pairs))
        .where((OpenTask.assignee.is_(None)) | (OpenTask.assignee == username))
        .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.opened_at, OpenTask.id)
    )
    rows = session.execute(query).all()
    ids = [task.id for task, *_ in rows]
    reminders = _reminder_counts(session, ids)
    waiting = _waiting_approvals(session, ids)
    why = summary.reasons(session, [task for task, *_ in rows])
    names = persons(session, {w["approver"] for w in waiting.values()})
    now = clock.now()
    result = []
    for task, instance, item_name, village_name in rows:
        due = as_utc(task.due_at)
        reason = why.get(task.id)
        if task.id in waiting:
            waiting[task.id]["approver_name"] = names[waiting[task.id]["approver"]].label
        result.append(
            {
                "id": task.id,
                "instance": instance.id,
                "title": instance.title,
                "item": item_name,
                "village": village_name,
                "step": task.step_id,
                "step_name": task.step_name,
                "role_name": labels.role_name(task.role),
                "opened_at": as_utc(task.opened_at),
                "due_at": due,
                "urgency": urgency(due, now),
                "assignee": task.assignee,
                "reminders": reminders.get(task.id, 0),
                "waiting_for": waiting.get(task.id),
                "returned": summary.plain(reason) if reason is not None and reason.kind == "returned" else None,
                "transferred": summary.plain(reason) if reason is not None and reason.kind == "transferred" else None,
            }
        )
    result.sort(key=lambda t: t["urgency"] != "overdue")
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


def _waiting_approvals(session: Session, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not task_ids:
        return {}
    rows = session.scalars(
        select(AddedApproval).where(AddedApproval.task_id.in_(task_ids), AddedApproval.status == ApprovalStatus.PENDING)
    )
    return {a.task_id: {"approver": a.approver, "position": a.position, "parked": a.parked is not None} for a in rows}


def done(session: Session, username: str, limit: int = 50) -> list[dict[str, Any]]:
    """What the user did, newest first, from the history."""
    rows = session.execute(
        select(HistoryEvent, ProcessInstance, DefinitionVersion)
        .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(HistoryEvent.actor == username, HistoryEvent.kind.in_(DONE_KINDS))
        .order_by(HistoryEvent.at.desc(), HistoryEvent.id.desc())
        .limit(limit)
    ).all()
    result = []
    for event, instance, definition in rows:
        steps = {s["id"]: s["name"] for s in definition.meta.get("steps", [])}
        result.append(
            {
                "instance": instance.id,
                "title": instance.title,
                "item": definition.name,
                "kind": event.kind,
                "kind_name": labels.EVENT_NAMES.get(event.kind, event.kind),
                "step_name": steps.get(event.step_id or "", event.step_id),
                "at": as_utc(event.at),
                "status": instance.status,
                "status_name": labels.STATUS_NAMES.get(instance.status, instance.status),
            }
        )
    return result


def started(session: Session, username: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ProcessInstance, DefinitionVersion.name)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(ProcessInstance.started_by == username)
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        .limit(limit)
    ).all()
    current = _current_steps(session, [i.id for i, _ in rows])
    return [
        {
            "instance": instance.id,
            "title": instance.title,
            "item": item_name,
            "village": instance.village.name,
            "started_at": as_utc(instance.started_at),
            "status": instance.status,
            "status_name": labels.STATUS_NAMES.get(instance.status, instance.status),
            "current": current.get(instance.id, []),
        }
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


def copies(session: Session, username: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MatterCopy, ProcessInstance, DefinitionVersion.name)
        .join(ProcessInstance, ProcessInstance.id == MatterCopy.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(MatterCopy.recipient == username)
        .order_by(MatterCopy.sent_at.desc(), MatterCopy.id.desc())
        .limit(limit)
    ).all()
    names = persons(session, {copy.sent_by for copy, *_ in rows})
    return [
        {
            "instance": instance.id,
            "title": instance.title,
            "item": item_name,
            "sent_by": copy.sent_by,
            "sent_by_name": names[copy.sent_by].label,
            "sent_at": as_utc(copy.sent_at),
            "note": copy.note,
            "read": copy.read_at is not None,
            "status_name": labels.STATUS_NAMES.get(instance.status, instance.status),
        }
        for copy, instance, item_name in rows
    ]


def approvals(session: Session, username: str) -> list[dict[str, Any]]:
    """加签 waiting for the user's decision (``after`` ones once the holder has submitted)."""
    rows = session.execute(
        select(AddedApproval, ProcessInstance, DefinitionVersion.name)
        .join(ProcessInstance, ProcessInstance.id == AddedApproval.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(AddedApproval.approver == username, AddedApproval.status == ApprovalStatus.PENDING)
        .order_by(AddedApproval.requested_at)
    ).all()
    names = persons(session, {approval.requested_by for approval, *_ in rows})
    return [
        {
            "id": approval.id,
            "instance": instance.id,
            "title": instance.title,
            "item": item_name,
            "step": approval.step_id,
            "position": approval.position,
            "position_name": labels.POSITION_NAMES[approval.position],
            "requested_by": approval.requested_by,
            "requested_by_name": names[approval.requested_by].label,
            "requested_at": as_utc(approval.requested_at),
            "reason": approval.reason,
            "ready": approval.position == "before" or approval.parked is not None,
        }
        for approval, instance, item_name in rows
    ]


def counts(session: Session, username: str) -> dict[str, int]:
    """The numbers on the menu."""
    tasks = todo(session, username)
    return {
        "todo": len(tasks),
        "overdue": sum(1 for t in tasks if t["urgency"] == "overdue"),
        "approvals": sum(1 for a in approvals(session, username) if a["ready"]),
        "copies": session.scalar(
            select(func.count()).where(MatterCopy.recipient == username, MatterCopy.read_at.is_(None))
        )
        or 0,
    }


def catalogue(session: Session, query: str | None = None, username: str | None = None) -> list[dict[str, Any]]:
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
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in latest.values():
        meta = row.meta or {}
        item = {
            "key": row.key,
            "name": row.name,
            "number": meta.get("number"),
            "category": meta.get("category"),
            "description": meta.get("description"),
            "responsible_body": meta.get("responsible_body"),
            "steps": [s["name"] for s in meta.get("steps", [])],
            "version": row.version,
        }
        haystack = " ".join(str(v) for v in (row.key, row.name, item["number"], item["description"]) if v).lower()
        if needle and needle not in haystack:
            continue
        if username is not None:
            item["can_start"] = bool(startable_villages(session, username, row.key))
        groups.setdefault(meta.get("category") or "", []).append(item)
    order = {c: i for i, c in enumerate(labels.CATEGORY_ORDER)}
    result = []
    for category in sorted(groups, key=lambda c: order.get(c, len(order))):
        items = sorted(groups[category], key=lambda i: (i["number"] or "~", i["name"]))
        result.append(
            {"category": category, "name": labels.CATEGORY_NAMES.get(category, labels.OTHER_CATEGORY), "items": items}
        )
    return result
