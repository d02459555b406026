"""One matter as its page shows it, and one open step as its form shows it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.clock import as_utc
from engine.diagram import DiagramUnavailable, diagram_of
from engine.errors import NotFound
from engine.history.events import EventKind, events_of
from engine.persistence.enums import MatterStatus
from engine.persistence.models import Matter, OpenTask, RoleAssignment, User
from engine.runtime import forms
from engine.runtime.loaded import LoadedDefinition, loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import load_state
from engine.supervision import decisions
from engine.supervision.violations import book_for_village
from engine.texts import data as data_text
from engine.texts import text
from engine.workspace import attachments, operations, summary, warnings
from engine.workspace.access import visible_instance
from engine.workspace.inbox import OpenStepFacts, urgency
from engine.workspace.labels import POSITION_NAMES
from engine.workspace.models import AddedApproval, ApprovalStatus, TaskReminder
from engine.workspace.people import by_office, persons
from engine.workspace.values import display_values, yuan_amount

ContactSource = Callable[[Session, str, OpenTask], "str | None"]
# The reporter's contact a complaint's reply step shows to its holder: the complaints' source,
# installed by ``engine.bootstrap()``.
_contact_source: ContactSource | None = None


def set_contact_source(source: ContactSource | None) -> None:
    global _contact_source
    _contact_source = source


LIVE_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED


@dataclass(frozen=True, slots=True)
class OpenApprover:
    """An added approver an open step of the matter waits for."""

    id: int
    approver: str
    approver_name: str
    position: str  # ``before`` or ``after``
    parked: bool


@dataclass(frozen=True, slots=True)
class OpenStep:
    """A step open in the matter now."""

    id: str
    step: str
    step_name: str
    role: str
    assignee: str | None
    assignee_name: str | None
    opened_at: datetime | None
    due_at: datetime | None
    urgency: str
    can_act: bool
    reminders: int
    approvals: list[OpenApprover]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One recorded event of the matter, with what it did in words of the record."""

    seq: int
    kind: EventKind
    at: datetime | None
    actor: str | None
    actor_name: str | None
    step: str | None
    step_name: str | None
    reason: str | None
    note: str | None
    values: list[tuple[str, str]]
    attachments: list[dict[str, Any]]
    detail: str | None
    hash: str


@dataclass(frozen=True, slots=True)
class MatterFile:
    """A file given to the matter at one of its steps."""

    sha256: str
    filename: str
    size: int
    type: str | None
    step_name: str
    slot: str | None
    uploaded_by: str
    uploaded_at: datetime | None


@dataclass(frozen=True, slots=True)
class MatterView:
    """One matter: what it is, where it stands, its open steps, its history and its files."""

    id: int
    title: str
    key: str
    version: int
    item: str
    number: str | None
    legal_basis: Any
    description: str | None
    village: str
    village_code: str
    status: MatterStatus
    started_by: str
    started_by_name: str
    started_at: datetime | None
    ended_at: datetime | None
    open_tasks: list[OpenStep]
    timeline: list[TimelineEntry]
    attachments: list[MatterFile]
    withdrawable: Any
    warnings: Any
    history_events: int
    summary: Any


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """An added approval an open step waits for, as its holder sees it."""

    id: int
    approver: str
    approver_name: str
    position: str
    parked: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class DecidedApproval:
    """An added approver's decision on the step."""

    approver: str
    approver_name: str
    agree: bool
    comment: str | None


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A file the user gave the step already, kept for its submission."""

    id: int
    slot: str | None
    filename: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TaskView(OpenStepFacts):
    """An open step as its form shows it."""

    documentation: str | None
    reporter_contact: str | None
    legal_basis: Any
    time_limit: Any
    calendar: Any
    spec: forms.FormSpec
    schema: dict[str, Any]
    previous: dict[str, Any] | None
    operations: list[str]
    returnable: Any
    summary: Any
    reason: Any
    transfer_to: list[dict[str, str]]
    approver_candidates: list[dict[str, str]]
    pending_approvals: list[PendingApproval]
    decided_approvals: list[DecidedApproval]
    kept_attachments: list[KeptFile]


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """An added approval for its approver: the step, the reason and any waiting submission."""

    id: int
    instance: int
    title: str
    item: str
    step_name: str
    position: str
    requested_by: str
    requested_at: datetime | None
    reason: str | None
    status: Any
    ready: bool
    submitted_by: str | None
    values: list[tuple[str, str]]
    attachments: list[dict[str, Any]]


def element_states(instance: Matter, definition: LoadedDefinition, overdue_steps: set[str]) -> dict[str, Any]:
    """Diagram states of the matter's elements (done, current, overdue, skipped) and the flows taken."""
    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    states: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    skipped: set[str] = set()
    for task in workflow.tasks.values():
        name = task.task_spec.name
        if task.state == TaskState.COMPLETED:
            states.setdefault(name, "done")
            outputs = {o.name for o in task.task_spec.outputs}
            chosen = {c.task_spec.name for c in task.children if c.state & LIVE_STATES}
            if len(outputs) > 1 and chosen:
                skipped |= outputs - chosen
        elif task.state & (TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            states[name] = "overdue" if name in overdue_steps else "current"
        parent = task.parent
        if parent is not None and parent.state == TaskState.COMPLETED and task.state & LIVE_STATES:
            taken.add((parent.task_spec.name, name))
    for name in skipped:
        states.setdefault(name, "skipped")
    return {"states": states, "taken": taken, "finished": instance.status != MatterStatus.RUNNING}


def diagram_states(session: Session, instance: Matter) -> tuple[Any, dict[str, str]]:
    """The flow's drawing and the state of each drawn element, for the SVG."""
    definition = loaded(instance.definition)
    now = clock.now()
    overdue = {
        t.step_id
        for t in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))
        if t.due_at is not None and as_utc(t.due_at) < now
    }
    found = element_states(instance, definition, overdue)
    drawing = diagram_of(instance.definition.bpmn_xml)
    states = dict(found["states"])
    for source, target in found["taken"]:
        for flow_id in drawing.flows_between(source, target):
            states[flow_id] = "done"
    if found["finished"]:
        for shape in drawing.shapes:
            if shape.kind not in ("participant", "lane", "group", "textAnnotation"):
                states.setdefault(shape.element_id, "skipped")
    return drawing, states


def _names(session: Session, usernames: set[str], roles: dict[str, str] | None = None) -> dict[str, str]:
    """Each person as pages name them: display name with office, never the username alone."""
    return {name: p.label for name, p in persons(session, usernames, roles).items()}


def _mentioned(events: list[Any]) -> set[str]:
    """Usernames an event names besides its actor: whom a step went to, who was copied or asked to approve."""
    found: set[str] = set()
    for event in events:
        if event.kind not in (EventKind.TASK_TRANSFERRED, EventKind.MATTER_COPIED, EventKind.APPROVER_ADDED):
            continue
        data = json.loads(event.data)
        for key in ("to", "approver"):
            value = data.get(key)
            found.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return found


def matter(session: Session, username: str, instance_id: int) -> MatterView:
    instance = visible_instance(session, username, instance_id)
    definition = loaded(instance.definition)
    now = clock.now()
    events = events_of(session, instance.id)
    open_rows = list(
        session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id).order_by(OpenTask.opened_at))
    )
    approvals = list(
        session.scalars(
            select(AddedApproval).where(AddedApproval.instance_id == instance.id).order_by(AddedApproval.id)
        )
    )
    roles = {e.actor: definition.steps[e.step_id].role for e in events if e.actor and e.step_id in definition.steps}
    people = _names(
        session,
        {e.actor for e in events if e.actor}
        | {instance.started_by}
        | _mentioned(events)
        | {r.assignee for r in open_rows if r.assignee}
        | {a.approver for a in approvals},
        roles,
    )
    reminders = list(session.scalars(select(TaskReminder).where(TaskReminder.instance_id == instance.id)))
    open_tasks = []
    for row in open_rows:
        due = as_utc(row.due_at)
        open_tasks.append(
            OpenStep(
                id=row.id,
                step=row.step_id,
                step_name=row.step_name,
                role=row.role,
                assignee=row.assignee,
                assignee_name=people.get(row.assignee or "", row.assignee),
                opened_at=as_utc(row.opened_at),
                due_at=due,
                urgency=urgency(due, now),
                can_act=operations.is_holder(session, username, row),
                reminders=sum(1 for r in reminders if r.task_id == row.id),
                approvals=[
                    OpenApprover(
                        id=a.id,
                        approver=a.approver,
                        approver_name=people.get(a.approver, a.approver),
                        position=a.position,
                        parked=a.parked is not None,
                    )
                    for a in approvals
                    if a.task_id == row.id and a.status == ApprovalStatus.PENDING
                ],
            )
        )
    files = attachments.of_instance(session, instance.id)
    return MatterView(
        id=instance.id,
        title=instance.title,
        key=definition.key,
        version=definition.version,
        item=definition.name,
        number=definition.meta.get("number"),
        legal_basis=definition.meta.get("legal_basis"),
        description=definition.meta.get("description"),
        village=instance.village.name,
        village_code=instance.village.code,
        status=instance.status,
        started_by=instance.started_by,
        started_by_name=people.get(instance.started_by, instance.started_by),
        started_at=as_utc(instance.started_at),
        ended_at=as_utc(instance.ended_at),
        open_tasks=open_tasks,
        timeline=[_timeline_entry(e, definition, people) for e in events],
        attachments=[
            MatterFile(
                sha256=f.sha256,
                filename=f.filename,
                size=f.size,
                type=f.content_type,
                step_name=_upload_step_name(definition, f.step_id),
                slot=f.slot,
                uploaded_by=f.uploaded_by,
                uploaded_at=as_utc(f.uploaded_at),
            )
            for f in files
        ],
        withdrawable=operations.withdrawable(session, instance.id, username),
        warnings=warnings.for_instance(session, instance.id),
        history_events=instance.history_seq,
        summary=summary.of_instance(session, instance),
    )


def _upload_step_name(definition: Any, step_id: str) -> str:
    """The step a file was given at: its name, or 发起 for the files of the start (a report's photos)."""
    if step_id in definition.steps:
        return definition.steps[step_id].name
    return text("workspace.timeline.start_step") if step_id == "start" else step_id


def _timeline_entry(event: Any, definition: LoadedDefinition, people: dict[str, str]) -> TimelineEntry:
    data = json.loads(event.data)
    said = data_text("workspace.timeline")
    step = definition.steps.get(event.step_id or "")
    entry: dict[str, Any] = {
        "seq": event.seq,
        "kind": event.kind,
        "at": as_utc(event.at),
        "actor": event.actor,
        "actor_name": people.get(event.actor or "", event.actor),
        "step": event.step_id,
        "step_name": step.name if step else event.step_id,
        "reason": data.get("reason"),
        "note": data.get("note"),
        "values": [],
        "attachments": [],
        "detail": None,
        "hash": event.hash.hex(),
    }
    if event.kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED) and step is not None:
        form = data.get("form") or {}
        schema, _ = definition.form(step)
        entry["values"] = display_values(schema, form)
        entry["attachments"] = [a for a in form.get("attachments") or [] if isinstance(a, dict)]
        if data.get("waived"):
            entry["detail"] = text(
                "workspace.timeline.waived", checks=said["separator"].join(w.get("message", "") for w in data["waived"])
            )
    elif event.kind == EventKind.GATEWAY_TAKEN:
        targets = [_node_name(definition, t) for t in data.get("to", [])]
        entry["detail"] = text("workspace.timeline.gateway", to=said["list"].join(targets)) if targets else None
        entry["step_name"] = _node_name(definition, event.step_id or "")
    elif event.kind == EventKind.DECISION_REGISTERED:
        amount = data.get("amount_fen")
        money = text("workspace.timeline.decision_money", amount=yuan_amount(amount)) if isinstance(amount, int) else ""
        entry["detail"] = text(
            "workspace.timeline.decision_registered",
            number=data.get("number"),
            purpose=data.get("purpose"),
            money=money,
        )
    elif event.kind == EventKind.DECISION_CLOSED:
        entry["detail"] = text("workspace.timeline.decision_closed", number=data.get("number"), note=data.get("note"))
    elif event.kind == EventKind.TASK_RETURNED:
        entry["detail"] = text("workspace.timeline.returned", step=_node_name(definition, data.get("to", "")))
    elif event.kind == EventKind.TASK_TRANSFERRED:
        entry["detail"] = text("workspace.timeline.transferred", user=people.get(data.get("to") or "", data.get("to")))
    elif event.kind == EventKind.MATTER_COPIED:
        entry["detail"] = text(
            "workspace.timeline.copied", users=said["list"].join(people.get(n, n) for n in data.get("to", []))
        )
    elif event.kind == EventKind.APPROVER_ADDED:
        approver = data.get("approver") or ""
        entry["detail"] = text(
            "workspace.timeline.approver_added",
            position=POSITION_NAMES.get(data.get("position"), ""),
            user=people.get(approver, approver),
        )
    elif event.kind == EventKind.APPROVER_DECIDED:
        verdict = said["agreed"] if data.get("agree") else said["disagreed"]
        comment = data.get("comment")
        entry["detail"] = text("workspace.timeline.decided", verdict=verdict, comment=comment) if comment else verdict
    elif event.kind == EventKind.INSTANCE_CANCELLED:
        entry["detail"] = said["cancelled_by"].get(data.get("operation"))
    elif event.kind == EventKind.INSTANCE_ENDED:
        entry["detail"] = _node_name(definition, data.get("end") or "") or None
    return TimelineEntry(**entry)


def _node_name(definition: LoadedDefinition, element_id: str) -> str:
    if element_id in definition.steps:
        return definition.steps[element_id].name
    spec = definition.spec.task_specs.get(element_id) if definition.spec is not None else None
    return getattr(spec, "bpmn_name", None) or element_id


def _with_citable(session: Session, spec: forms.FormSpec, village_id: int) -> forms.FormSpec:
    """The form with each reference field offering the open decisions of the village it may cite."""
    if not any(f.kind == "reference" for f in spec.fields):
        return spec
    book = book_for_village(session, village_id)
    fields = [
        dataclasses.replace(f, options=decisions.choices(session, book, village_id, f.cites))
        if f.kind == "reference"
        else f
        for f in spec.fields
    ]
    return dataclasses.replace(spec, fields=fields)


def task(session: Session, username: str, task_id: str) -> TaskView:
    """The open step as its form shows it; only for someone who may act on it."""
    row = session.get(OpenTask, task_id)
    if row is None:
        raise NotFound(code="task.not_open")
    instance = visible_instance(session, username, row.instance_id)
    policy.require(session, username, "task.act", row)
    definition = loaded(instance.definition)
    step = definition.step(row.step_id)
    schema, _ = definition.form(step)
    spec = _with_citable(session, forms.form_spec(schema), instance.village_id)
    due = as_utc(row.due_at)
    approvals = operations.pending_approvals(session, task_id)
    declined = session.scalars(
        select(AddedApproval)
        .where(
            AddedApproval.task_id == task_id,
            AddedApproval.status.in_((ApprovalStatus.APPROVED, ApprovalStatus.DECLINED)),
        )
        .order_by(AddedApproval.id)
    ).all()
    kept = [
        a for a in attachments.of_instance(session, instance.id) if a.step_id == step.id and a.uploaded_by == username
    ]
    # a complaint's reply step: the reporter's contact, read and logged
    contact = _contact_source(session, username, row) if _contact_source else None
    card = summary.of_instance(session, instance, row)
    named = persons(session, {a.approver for a in approvals} | {a.approver for a in declined})
    documentation = step.documentation
    if contact:
        documentation = (documentation or "") + text("workspace.reporter_contact", contact=contact)
    return TaskView(
        id=row.id,
        instance=instance.id,
        title=instance.title,
        item=definition.name,
        village=instance.village.name,
        step=step.id,
        step_name=step.name,
        role=row.role,
        documentation=documentation,
        reporter_contact=contact,
        legal_basis=spec.legal_basis or step.legal_basis,
        time_limit=step.time_limit,
        calendar=step.calendar,
        opened_at=as_utc(row.opened_at),
        due_at=due,
        urgency=urgency(due, clock.now()),
        spec=spec,
        schema=schema,
        previous=_previous_submission(session, instance.id, step.id),
        operations=sorted(operations.available_operations(session, instance, definition, step.id)),
        returnable=operations.returnable_steps(session, task_id) if step.allows("return") else [],
        summary=card,
        reason=card.reason,
        transfer_to=_people_list(session, operations.transfer_candidates(session, task_id, username))
        if step.allows("transfer")
        else [],
        approver_candidates=approver_candidates(session, row, username) if step.allows("add_approver") else [],
        pending_approvals=[
            PendingApproval(
                id=a.id,
                approver=a.approver,
                approver_name=named[a.approver].label,
                position=a.position,
                parked=a.parked is not None,
                reason=a.reason,
            )
            for a in approvals
        ],
        decided_approvals=[
            DecidedApproval(
                approver=a.approver,
                approver_name=named[a.approver].label,
                agree=a.status == ApprovalStatus.APPROVED,
                comment=a.comment,
            )
            for a in declined
        ],
        kept_attachments=[KeptFile(a.id, a.slot, a.filename, a.size, a.sha256) for a in kept],
    )


def _people_list(session: Session, found: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Candidates as pages offer them: name and office, sorted by office."""
    people = persons(session, [c["username"] for c in found])
    return [p.as_dict() for p in by_office(people.values())]


def approver_candidates(session: Session, row: OpenTask, actor: str) -> list[dict[str, str]]:
    """Whom the holder of an open step may ask to approve it too (加签): the others who could do the
    step themselves (the policy's ``could_hold``: its role, in its place), sorted by office; never
    an administrator, an auditor or a holder of another role."""
    users = session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == row.role, RoleAssignment.org_unit_id == row.org_unit_id, User.active.is_(True))
    )
    names = [u.username for u in users if u.username != actor and policy.could_hold(session, u.username, row)]
    people = persons(session, names, {n: row.role for n in names})
    return [p.as_dict() for p in by_office(people.values())]


def _previous_submission(session: Session, instance_id: int, step_id: str) -> dict[str, Any] | None:
    """The latest form this step was submitted with in this matter (after a return or withdrawal)."""
    for event in reversed(events_of(session, instance_id)):
        if event.step_id == step_id and event.kind == EventKind.TASK_COMPLETED:
            form = json.loads(event.data).get("form")
            return form if isinstance(form, dict) else None
    return None


def require_visible_task(session: Session, username: str, task_id: str) -> OpenTask:
    row = session.get(OpenTask, task_id)
    if row is None:
        raise NotFound(code="task.not_open")
    visible_instance(session, username, row.instance_id)
    return row


def parked_form(parked: dict[str, Any] | None) -> dict[str, Any]:
    """The form of a submission waiting for an added approver."""
    parked = parked or {}
    form = (parked.get("payload") or {}).get("form", parked.get("data"))
    return form if isinstance(form, dict) else {}


def approval(session: Session, username: str, approval_id: int) -> ApprovalView:
    """An added approval for its approver: the step, the reason and any waiting submission."""
    row = session.get(AddedApproval, approval_id)
    if row is None or row.approver != username:
        raise NotFound(code="approval.not_found")
    instance = visible_instance(session, username, row.instance_id)
    definition = loaded(instance.definition)
    step = definition.steps.get(row.step_id)
    values: list[tuple[str, str]] = []
    files: list[dict[str, Any]] = []
    if row.parked and step is not None:
        schema, _ = definition.form(step)
        data = parked_form(row.parked)
        values = display_values(schema, data)
        files = [a for a in data.get("attachments") or [] if isinstance(a, dict)]
    return ApprovalView(
        id=row.id,
        instance=instance.id,
        title=instance.title,
        item=definition.name,
        step_name=step.name if step else row.step_id,
        position=row.position,
        requested_by=row.requested_by,
        requested_at=as_utc(row.requested_at),
        reason=row.reason,
        status=row.status,
        ready=row.status == ApprovalStatus.PENDING and (row.position == "before" or row.parked is not None),
        submitted_by=(row.parked or {}).get("actor"),
        values=values,
        attachments=files,
    )


def diagram_svg(session: Session, username: str, instance_id: int) -> str:
    """The matter's diagram with its states; NotFound for a matter the user may not see."""
    from engine.diagram import render_svg

    instance = visible_instance(session, username, instance_id)
    try:
        drawing, states = diagram_states(session, instance)
    except DiagramUnavailable:
        return ""
    return render_svg(drawing, states, title=instance.definition.name)


def uuid_or_none(text: str) -> str | None:
    try:
        return str(UUID(text))
    except (ValueError, TypeError, AttributeError):
        return None
