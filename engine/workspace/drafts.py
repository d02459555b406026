"""Drafts: what a cadre has typed into a form and not yet submitted, kept so that leaving the page,
a phone call or a dropped connection loses nothing.

A draft belongs to one user and one form: an open step (only someone who may act on the step keeps
a draft of it) or a flow's start form (someone who may start the flow). It is never part of the
legal record: no history event is written, and the submission alone counts. The latest typing
wins: each save carries the writer's ``revision`` (their device's clock in milliseconds), and an
older save arriving late (a second tab, a retry from a phone that was offline) is refused.

Drafts end with their step: when it is completed, returned, withdrawn, rejected or closed by a
timer, its drafts are deleted in the same transaction (:func:`drop_closed`, an after-step hook);
when it is transferred, the drafts of everyone but the new holder are deleted. A start form's draft
is deleted when its writer starts a matter of that flow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, hooks, inputs, policy
from engine.errors import Conflict, NotFound, PermissionDenied
from engine.history.events import EventKind
from engine.inputs import InputInvalid
from engine.persistence.db import begin_write
from engine.persistence.models import OpenTask
from engine.runtime import steps
from engine.texts import text
from engine.workspace import attachments, labels
from engine.workspace.access import startable_villages, visible_instance
from engine.workspace.draft_models import TaskDraft

MAX_DRAFT_BYTES = 100_000  # the JSON text of one draft; a form is a few kilobytes
MAX_REVISION = 2**53
KEEP_PREFIX = "keep_"  # the form's already uploaded files, by slot: ``keep_<slot>`` -> ids


# --- checks ---------------------------------------------------------------------------------------


def _check(data: Any, revision: Any) -> tuple[dict[str, Any], int]:
    if not isinstance(data, dict):
        raise InputInvalid(text("workspace.refusals.draft_not_object"), code="input.not_object", field="data")
    inputs.check_value(data, "data")
    size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    if size > MAX_DRAFT_BYTES:
        raise InputInvalid(
            code="draft.too_large",
            params={"size": size, "max": MAX_DRAFT_BYTES},
            field="data",
        )
    if isinstance(revision, str) and revision.isdigit():
        revision = int(revision)
    if not isinstance(revision, int) or isinstance(revision, bool) or not 0 <= revision <= MAX_REVISION:
        raise InputInvalid(
            text("workspace.refusals.draft_revision"),
            code="draft.revision",
            params={"max": MAX_REVISION},
            field="revision",
        )
    return data, revision


def _open_task(session: Session, username: str, task_id: str) -> OpenTask:
    """The open step, for someone who may act on it (as its form page): NotFound, PermissionDenied."""
    row = session.get(OpenTask, task_id)
    if row is None:
        raise NotFound(code="task.not_open", params={"task": task_id})
    visible_instance(session, username, row.instance_id)
    policy.require(session, username, "task.act", row)
    return row


def _require_starter(session: Session, username: str, key: str) -> None:
    if not startable_villages(session, username, key):
        raise PermissionDenied(
            code="draft.start_denied",
            params={"user": username, "flow": key},
        )


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A file the draft's form had uploaded and its writer may still use."""

    id: int
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class Draft:
    """A form's unsent typing: ``revision`` is the client's time of typing; ``attachments`` the
    files kept by slot."""

    data: dict[str, Any]
    revision: int
    saved_at: datetime
    attachments: dict[str, list[KeptFile]]


def _view(session: Session, draft: TaskDraft | None) -> Draft | None:
    if draft is None:
        return None
    return Draft(draft.data, draft.revision, draft.saved_at, _uploads(session, draft))


def _uploads(session: Session, draft: TaskDraft) -> dict[str, list[KeptFile]]:
    """The files the form had already uploaded (``keep_<slot>``), those its writer may still use."""
    found: dict[str, list[KeptFile]] = {}
    for name, value in draft.data.items():
        if not name.startswith(KEEP_PREFIX):
            continue
        values = value if isinstance(value, list) else [value]
        ids = [int(v) for v in values if isinstance(v, int | str) and str(v).isdigit() and len(str(v)) < 19]
        rows = attachments.own_uploads(session, draft.username, ids, draft.instance_id, draft.step_id)
        if rows:
            found[name[len(KEEP_PREFIX) :]] = [KeptFile(r.id, r.filename, r.size) for r in rows]
    return found


def _task_draft(session: Session, username: str, task_id: str) -> TaskDraft | None:
    return session.scalar(select(TaskDraft).where(TaskDraft.username == username, TaskDraft.task_id == task_id))


def _start_draft(session: Session, username: str, key: str) -> TaskDraft | None:
    return session.scalar(select(TaskDraft).where(TaskDraft.username == username, TaskDraft.flow_key == key))


def load_task_draft(session: Session, username: str, task_id: str) -> Draft | None:
    """The user's draft of the open step, or None; only for someone who may act on the step."""
    _open_task(session, username, task_id)
    return _view(session, _task_draft(session, username, task_id))


def load_start_draft(session: Session, username: str, key: str) -> Draft | None:
    """The user's draft of flow ``key``'s start form, or None; only for someone who may start it."""
    _require_starter(session, username, key)
    return _view(session, _start_draft(session, username, key))


# --- writing (each a command: the caller owns the transaction) -----------------------------------


def save_task_draft(session: Session, username: str, task_id: str, data: Any, revision: Any) -> Draft:
    """Keep ``data`` as the user's draft of the open step, unless a later typing was saved already."""
    data, revision = _check(data, revision)
    row, _instance, _definition = steps.lock_open_task(session, task_id)  # not behind a step closing it
    visible_instance(session, username, row.instance_id)
    policy.require(session, username, "task.act", row)
    where = {"task_id": task_id, "instance_id": row.instance_id, "step_id": row.step_id}
    return _save(session, username, _task_draft(session, username, task_id), where, data, revision)


def save_start_draft(session: Session, username: str, key: str, data: Any, revision: Any) -> Draft:
    """Keep ``data`` as the user's draft of flow ``key``'s start form."""
    data, revision = _check(data, revision)
    begin_write(session)
    _require_starter(session, username, key)
    return _save(session, username, _start_draft(session, username, key), {"flow_key": key}, data, revision)


def _save(
    session: Session, username: str, draft: TaskDraft | None, where: dict[str, Any], data: dict, revision: int
) -> Draft:
    if draft is not None and draft.revision > revision:
        raise Conflict(
            code="draft.outdated",
            params={"revision": draft.revision},
        )
    if draft is None:
        draft = TaskDraft(username=username, **where, data=data, revision=revision, saved_at=clock.now())
        try:
            with session.begin_nested():
                session.add(draft)
        except IntegrityError as exc:  # the same user's other save got there first
            raise Conflict(code="draft.busy", params={"revision": revision}) from exc
    else:
        draft.data, draft.revision, draft.saved_at = data, revision, clock.now()
        session.flush()
    saved = _view(session, draft)
    assert saved is not None
    return saved


def discard_task_draft(session: Session, username: str, task_id: str) -> bool:
    """Delete the user's draft of the open step; whether there was one."""
    begin_write(session)
    _open_task(session, username, task_id)
    gone = session.execute(delete(TaskDraft).where(TaskDraft.username == username, TaskDraft.task_id == task_id))
    return bool(gone.rowcount)


def discard_start_draft(session: Session, username: str, key: str) -> bool:
    """Delete the user's draft of flow ``key``'s start form; whether there was one."""
    begin_write(session)
    _require_starter(session, username, key)
    gone = session.execute(delete(TaskDraft).where(TaskDraft.username == username, TaskDraft.flow_key == key))
    return bool(gone.rowcount)


# --- the after-step hook --------------------------------------------------------------------------


def drop_closed(context: hooks.StepContext) -> None:
    """In the step's transaction: drafts of steps that closed go, and so do the drafts of a
    transferred step's former holders, and the starter's draft of a start form just used."""
    session = context.session
    if context.closed:
        session.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(context.closed)))
    for event in context.events:
        if event.kind == labels.TASK_TRANSFERRED:
            to = json.loads(event.data).get("to") if isinstance(event.data, str) else None
            session.execute(
                delete(TaskDraft).where(
                    TaskDraft.instance_id == context.instance.id,
                    TaskDraft.step_id == event.step_id,
                    TaskDraft.username != (to or ""),
                )
            )
        elif event.kind == EventKind.INSTANCE_STARTED and context.actor:
            session.execute(
                delete(TaskDraft).where(
                    TaskDraft.username == context.actor, TaskDraft.flow_key == context.definition.key
                )
            )


def install() -> None:
    hooks.after_step(drop_closed)
