"""The workspace's results as the cadre pages and the API show them: the engine's facts with their names.

The engine (:mod:`engine.workspace.inbox`, :mod:`engine.workspace.matter_detail`) answers with frozen
dataclasses of codes, ids, dates and numbers; here each becomes the mapping the templates render and
the API sends, with the names of its status, event kind, role and position added (from the
workspace's labels, ``engine/texts/*/workspace.yaml``). Both the pages and the API shape through
this one module, so they name things alike.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from engine.workspace import labels
from engine.workspace.inbox import (
    ApprovalEntry,
    CatalogueGroup,
    CopyEntry,
    DoneEntry,
    StartedMatter,
    TodoTask,
)
from engine.workspace.matter_detail import ApprovalView, MatterView, TaskView, TimelineEntry


def status_name(status: str) -> str:
    """A matter's status as the pages name it."""
    return labels.STATUS_NAMES.get(status, status)


def event_name(kind: str) -> str:
    """A recorded event's kind as the pages name it."""
    return labels.EVENT_NAMES.get(kind, kind)


def position_name(position: str) -> str:
    """Where an added approver comes (前加签 or 后加签)."""
    return labels.POSITION_NAMES[position]


def category_name(category: str) -> str:
    """A category of the power list; items of no known category are 其他事项."""
    return labels.CATEGORY_NAMES.get(category, labels.OTHER_CATEGORY)


def _fields(result: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass's fields as a mapping, one level deep (nested results keep their own type)."""
    return {f.name: getattr(result, f.name) for f in fields(result) if f.name not in drop}


def _plain(result: Any) -> Any:
    """A result with nested dataclasses as mappings too."""
    if isinstance(result, list):
        return [_plain(r) for r in result]
    if hasattr(result, "__dataclass_fields__") and not isinstance(result, type):
        return {k: _plain(v) for k, v in _fields(result).items()}
    return result


# The desk's lists.


def todo_row(task: TodoTask) -> dict[str, Any]:
    row = _fields(task, drop=("role",))
    row["role_name"] = labels.role_name(task.role)
    row["waiting_for"] = _plain(task.waiting_for)
    return row


def done_row(entry: DoneEntry) -> dict[str, Any]:
    return {**_fields(entry), "kind_name": event_name(entry.kind), "status_name": status_name(entry.status)}


def started_row(matter: StartedMatter) -> dict[str, Any]:
    return {**_fields(matter), "status_name": status_name(matter.status)}


def copy_row(copy: CopyEntry) -> dict[str, Any]:
    return {**_fields(copy, drop=("status",)), "status_name": status_name(copy.status)}


def approval_row(approval: ApprovalEntry) -> dict[str, Any]:
    return {**_fields(approval), "position_name": position_name(approval.position)}


def catalogue(groups: list[CatalogueGroup]) -> list[dict[str, Any]]:
    """The power list by category; an item says ``can_start`` only when it was asked for a person."""
    return [
        {
            "category": group.category,
            "name": category_name(group.category),
            "items": [
                _fields(item, drop=() if item.can_start is not None else ("can_start",)) for item in group.items
            ],
        }
        for group in groups
    ]


# One matter, one open step, one added approval.


def timeline_entry(entry: TimelineEntry) -> dict[str, Any]:
    return {**_fields(entry), "kind_name": event_name(entry.kind)}


def matter(view: MatterView) -> dict[str, Any]:
    page = _fields(view)
    page["status_name"] = status_name(view.status)
    page["open_tasks"] = [
        {
            **_fields(step, drop=("role", "approvals")),
            "role_name": labels.role_name(step.role),
            "approvals": [
                {**_fields(a, drop=("position",)), "position_name": position_name(a.position)} for a in step.approvals
            ],
        }
        for step in view.open_tasks
    ]
    page["timeline"] = [timeline_entry(e) for e in view.timeline]
    page["attachments"] = [_fields(f) for f in view.attachments]
    return page


def task(view: TaskView) -> dict[str, Any]:
    page = _fields(view, drop=("role",))
    page["role_name"] = labels.role_name(view.role)
    page["pending_approvals"] = [
        {**_fields(a), "position_name": position_name(a.position)} for a in view.pending_approvals
    ]
    page["decided_approvals"] = [_fields(a) for a in view.decided_approvals]
    page["kept_attachments"] = [_fields(a) for a in view.kept_attachments]
    return page


def approval(view: ApprovalView) -> dict[str, Any]:
    return {**_fields(view), "position_name": position_name(view.position)}
