"""The approval operations Chinese users expect, each one transaction recorded in the matter's history.

- 同意/提交 :func:`submit`: completes the step with its attachments; with a pending 后加签 the
  submission waits for the added approver.
- 驳回 :func:`reject`: the holder of the step refuses the matter; it ends (status ``cancelled``).
- 退回 :func:`return_to`: the matter goes back to an earlier step of the same instance.
- 转办 :func:`transfer`: the step is handed to another holder of the same role.
- 撤回 :func:`withdraw`: whoever completed the latest step takes it back while the next step is
  untouched; the initiator cancels a matter nobody has acted on yet.
- 抄送 :func:`copy`: the matter is copied to supervisors for their information.
- 催办 :func:`remind`: the holders of an open step are reminded.
- 加签 :func:`add_approver`, :func:`decide`: an extra approver agrees before the step is done, or
  before its submission takes effect.

Every function takes a session and leaves the transaction to the caller, like :mod:`engine.api`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, inputs, policy
from engine.definitions.deploy import latest_version
from engine.errors import FieldError, FormInvalid, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.history import events as history
from engine.history.events import EventKind
from engine.org.service import get_user, get_village
from engine.persistence.db import begin_write
from engine.persistence.enums import MatterStatus
from engine.persistence.models import HistoryEvent, Matter, OpenTask, RoleAssignment, User
from engine.runtime import forms, steps
from engine.runtime.forms import cleaned, undeclared_fields, validate_form
from engine.runtime.loaded import LoadedDefinition, loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import load_state
from engine.runtime.steps import Step, StepResult
from engine.supervision import decisions, duties
from engine.supervision.violations import book_for_village
from engine.texts import error_text, text, texts
from engine.workspace import attachments, idempotency, labels
from engine.workspace.models import AddedApproval, ApprovalStatus, MatterCopy, TaskReminder

MIN_REASON = 4
MAX_REASON = 2000
REMIND_INTERVAL = timedelta(hours=1)
MAX_COPIES = 50
PROGRESS_KINDS = frozenset(
    {
        EventKind.INSTANCE_STARTED,
        EventKind.TASK_COMPLETED,
        EventKind.TASK_FORCED,
        EventKind.TIMER_FIRED,
        EventKind.TASK_RETURNED,
        EventKind.TASK_WITHDRAWN,
    }
)


@dataclass
class Outcome:
    """What an operation did, for the page or API answer that follows it."""

    instance_id: int
    status: str
    operation: str
    opened: list[dict[str, Any]] = field(default_factory=list)
    parked: bool = False
    repeated: bool = False  # a retried submission: nothing was done again

    @classmethod
    def repeat_of(cls, earlier: dict[str, Any]) -> Outcome:
        """The outcome remembered for an idempotency key, answered again to a retry."""
        return cls(
            earlier["instance"],
            earlier["status"],
            earlier.get("operation", "complete"),
            earlier.get("opened", []),
            earlier.get("parked", False),
            repeated=True,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance_id,
            "status": self.status,
            "operation": self.operation,
            "opened": self.opened,
            "parked": self.parked,
            "repeated": self.repeated,
        }


def _reason(reason: str | None, kind: str = "reason") -> str:
    """The reason given, stripped; ``kind`` names what it is (``reject``: 驳回理由…, in ``workspace.yaml``)."""
    given = (reason or "").strip() if isinstance(reason, str) else ""
    what = text(f"workspace.reasons.{kind}")
    if len(given) < MIN_REASON:
        raise PowerlistError(
            text("workspace.refusals.reason_short", what=what, min=MIN_REASON),
            code="reason.too_short",
            params={"min": MIN_REASON},
            field="reason",
        )
    if len(given) > MAX_REASON:
        raise PowerlistError(
            text("workspace.refusals.reason_long", what=what, max=MAX_REASON),
            code="reason.too_long",
            params={"max": MAX_REASON},
            field="reason",
        )
    return given


def _note(note: str | None) -> str | None:
    given = (note or "").strip() if isinstance(note, str) else ""
    if len(given) > MAX_REASON:
        raise PowerlistError(code="note.too_long", params={"max": MAX_REASON}, field="note")
    return given or None


def is_holder(session: Session, username: str, row: OpenTask) -> bool:
    """Whether ``username`` may do the open step now (the policy's ``task.act``)."""
    return policy.may(session, username, "task.act", row)


def first_step_for(session: Session, username: str, opened: list[dict[str, Any]]) -> str | None:
    """The first of the newly opened steps that ``username`` may do, if any."""
    for task in opened:
        row = session.get(OpenTask, task["id"])
        if row is not None and is_holder(session, username, row):
            return row.id
    return None


def _open_task_for(
    session: Session, task_id: str, actor: str, action: str = "task.act", operation: str | None = None
) -> tuple[OpenTask, Matter, LoadedDefinition]:
    """Lock the open task's matter and check ``actor`` may do ``action`` on it, and that the step
    allows ``operation`` (its ``pl:operations``).

    For someone who may not see the matter, the task does not exist.
    """
    row, instance, definition = steps.lock_open_task(session, task_id)
    policy.require(session, actor, action, row)
    if operation is not None:
        _require_operation(definition, row.step_id, operation)
    return row, instance, definition


OPERATION_NAMES = texts("workspace.operations")  # the operations on a step besides completing it


def allowed_operations(definition: LoadedDefinition, step_id: str) -> set[str]:
    """The operations the flow allows on the step besides completing it."""
    step = definition.step(step_id)
    return {op for op in OPERATION_NAMES if step.allows(op)}


def available_operations(
    session: Session, instance: Matter, definition: LoadedDefinition, step_id: str
) -> set[str]:
    """The operations the step allows now: no 驳回 while a meeting's decision of the matter stands."""
    allowed = allowed_operations(definition, step_id)
    if "reject" in allowed and decisions.standing(session, _book(session, instance), instance.id) is not None:
        allowed = allowed - {"reject"}
    return allowed


def _require_operation(definition: LoadedDefinition, step_id: str, operation: str) -> None:
    step = definition.step(step_id)
    if not step.allows(operation):
        raise PermissionDenied(
            text("workspace.refusals.operation_not_allowed", step=step.name, operation=OPERATION_NAMES[operation]),
            code="step.operation_not_allowed",
            params={"step": step.name, "operation": operation},
        )


def _opened(result_opened: list[Any]) -> list[dict[str, Any]]:
    return [{"id": t.id, "step": t.step_id, "name": t.step_name, "role": t.role} for t in result_opened]


def _outcome(result: StepResult, operation: str) -> Outcome:
    return Outcome(result.instance_id, result.status, operation, _opened(result.opened))


# --- 发起 ------------------------------------------------------------------------------------

TITLE_LENGTH = (2, 100)


def start(
    session: Session,
    key: str,
    village_code: str,
    actor: str,
    data: Any = None,
    title: str | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """Start a matter of flow ``key`` in a village, as one of the flow's starters.

    The start data may hold only the fields of the flow's start form; the title is the flow's
    name when none is given.
    """
    begin_write(session)
    idem = idempotency.check_key(idempotency_key)
    earlier = idempotency.claim(session, actor, idem, "start")  # looked up again and held inside the write
    if earlier is not None:
        return Outcome.repeat_of(earlier)
    user = get_user(session, actor)
    village = get_village(session, village_code)
    row = latest_version(session, key)
    definition = loaded(row)
    policy.require(session, user.username, "matter.start", policy.Start(definition, village))
    data = {} if data is None else inputs.check_value(data, "data")
    if title is None and isinstance(data, dict) and isinstance(data.get("title"), str):
        title = data["title"]
    if title is not None:
        title = title.strip() if isinstance(title, str) else ""
        if not TITLE_LENGTH[0] <= len(title) <= TITLE_LENGTH[1]:
            raise FormInvalid(
                "start", [FieldError.coded("title", "matter.title_length", min=TITLE_LENGTH[0], max=TITLE_LENGTH[1])]
            )
    start_schema, _text = definition.start_form()
    cited = decisions.check_references(session, book_for_village(session, village.id), start_schema, data, village.id)
    if cited:
        raise FormInvalid("start", cited)
    result = steps.start_matter(session, row, village, actor, data, title)
    outcome = _outcome(result, "start")
    idempotency.remember(session, actor, idem, "start", outcome.as_dict())
    return outcome


def _refuse_unwaivable(flow: str, schema: Any, data: dict[str, Any], context: dict[str, Any]) -> None:
    """A reason waives only the checks the waiver rules allow (rules/defaults/waivers.yaml): a failed
    check that enforces a statutory rule is refused, naming the check and its legal basis."""
    from engine.workspace import waivers

    for check in forms.run_checks(schema, data, context):
        if check.ok is True:
            continue
        rule = waivers.waiver(flow, check.id)
        if not rule.waivable:
            raise PowerlistError(
                error_text(
                    "check.not_waivable", {"message": check.message, "basis": rule.basis or text("workspace.the_law")}
                ),
                code="check.not_waivable",
                params={"check": check.id, "message": check.message, "basis": rule.basis or ""},
                field=check.fields[0] if check.fields else check.id,
            )


# --- 同意 / 提交 --------------------------------------------------------------------------------


def complete(
    session: Session,
    task_id: str,
    actor: str,
    data: Any,
    attachment_ids: dict[str, list[int]] | None = None,
    waive_reason: str | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """Complete a step with its form and the files uploaded for its attachment slots.

    The form may hold only the fields it declares; files come only from the actor's own uploads.
    A pending 前加签 must be decided first; with a pending 后加签 the submission waits for the added
    approver. A retried submission with the same ``idempotency_key`` returns the first outcome.
    With ``waive_reason``, failed legal checks are recorded with the reason instead of refusing.
    """
    begin_write(session)
    key = idempotency.check_key(idempotency_key)
    earlier = idempotency.claim(session, actor, key, "complete")  # looked up again and held inside the write
    if earlier is not None:
        return Outcome.repeat_of(earlier)
    inputs.check_value(data, "data")  # the one set of input limits, whichever way the data came
    row, instance, definition = _open_task_for(session, task_id, actor)
    step = definition.step(row.step_id)
    schema, schema_text = definition.form(step)

    approvals = pending_approvals(session, task_id)
    waiting = next((a for a in approvals if a.position == "before"), None)
    if waiting is not None:
        raise InvalidState(
            code="task.awaiting_approver",
            params={"approver": waiting.approver},
        )

    clean: dict[str, Any] = {}
    failed: list[FieldError] = []
    # Checks may read the matter's data from earlier steps and which attachment slots have files.
    run = Step.of_task(session, instance, definition, actor)
    context = {
        "earlier": {k: v for k, v in run.engine_task(row).data.items() if k != "attachments"},
        "attached": sorted(name for name, ids in (attachment_ids or {}).items() if ids),
    }
    try:
        clean, failed = validate_form(step.name, schema, data, collect_checks=True, context=context)
        errors = failed if waive_reason is None else []
    except FormInvalid as exc:
        errors = exc.errors
        if not isinstance(data, dict) or any(e.field == "attachments" or not e.field for e in errors):
            raise
    attachment_errors: list[FieldError] = []
    resolved = attachments.Resolved([], [])
    spec = forms.form_spec(schema)
    try:
        resolved = attachments.resolve_for_step(
            session, step.name, spec.attachments, attachment_ids or {}, actor, instance.id, step.id
        )
    except FormInvalid as exc:
        attachment_errors = exc.errors
    # Citations of the decision register are facts, not legal checks: no reason waives them.
    cited = decisions.check_references(session, _book(session, instance), schema, data, instance.village_id)
    if errors or attachment_errors or cited:
        raise FormInvalid(step.name, _merge_errors(errors + cited) + attachment_errors)
    payload: dict[str, Any] = {"form": clean}
    if waive_reason is not None:
        reason = _reason(waive_reason, "waive")
        if failed:
            _refuse_unwaivable(definition.key, schema, clean, context)
            payload["waived"] = [{"field": e.field, "message": e.message} for e in failed]
            payload["reason"] = reason
    if resolved.entries:
        payload["form"]["attachments"] = resolved.entries
    duties.check_step(session, row, instance, definition, actor, waive_reason)  # separation of duties

    after = next((a for a in approvals if a.position == "after"), None)
    if after is not None:
        return _park(session, row, instance, after, actor, payload, resolved, key)

    result = _run_completion(session, row, instance, definition, actor, payload, step=run)
    attachments.claim(resolved.rows, resolved.entries, instance.id, task_id, step.id)
    outcome = _outcome(result, "complete")
    idempotency.remember(session, actor, key, "complete", outcome.as_dict())
    return outcome


def _run_completion(
    session: Session,
    row: OpenTask,
    instance: Matter,
    definition: LoadedDefinition,
    actor: str,
    payload: dict[str, Any],
    kind: str = EventKind.TASK_COMPLETED,
    step: Step | None = None,
) -> StepResult:
    """Run the step with the checked payload: the form's fields go into the flow, the rest only
    into the history (files, waived checks, the reason). ``step``: the step already restored."""
    data = {k: v for k, v in payload["form"].items() if k != "attachments"}
    step = step or Step.of_task(session, instance, definition, actor)
    step.complete(row, data, kind, payload)
    return step.finish()


def _park(session, row, instance, approval, actor, payload, resolved, key) -> Outcome:
    if approval.parked is not None:
        raise InvalidState(
            code="task.parked",
            params={"approver": approval.approver},
        )
    approval.parked = {"actor": actor, "payload": payload}
    attachments.claim(resolved.rows, resolved.entries, instance.id, row.id, row.step_id)
    event = history.append(
        session,
        instance,
        EventKind.TASK_PARKED,
        at=clock.now(),
        actor=actor,
        step_id=row.step_id,
        data={"approval": approval.id, "approver": approval.approver},
    )
    steps.record(session, instance, [event], actor)
    outcome = Outcome(instance.id, instance.status, "complete", parked=True)
    idempotency.remember(session, actor, key, "complete", outcome.as_dict())
    return outcome


# --- 强制推进 ----------------------------------------------------------------------------------


def force(session: Session, task_id: str, actor: str, reason: str, data: Any = None) -> Outcome:
    """Move a matter past an open step without its form: the town agency of the matter's town
    (``forcing`` in the access rules). The reason is kept in history and the rules raise a
    violation. ``data`` may carry only fields of the step's form, for the steps after it."""
    row, instance, definition = _open_task_for(session, task_id, actor, "task.force")
    reason = _reason(reason, "force")
    step = definition.step(row.step_id)
    schema, _text = definition.form(step)
    data = {} if data is None else inputs.check_value(data, "data")
    undeclared_fields(step.name, schema, data)
    given = forms.validate(_only_given(schema, data), data) if schema else []
    given += decisions.check_references(session, _book(session, instance), schema, data, instance.village_id)
    if given:
        raise FormInvalid(step.name, given)
    payload = {"form": cleaned(schema, data), "reason": reason, "role": row.role}
    result = _run_completion(session, row, instance, definition, actor, payload, EventKind.TASK_FORCED)
    return _outcome(result, "force")


def _book(session: Session, instance: Matter) -> Any:
    return book_for_village(session, instance.village_id)


def _merge_errors(errors: list[FieldError]) -> list[FieldError]:
    """One message per field and text, in order."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for error in errors:
        if (error.field, error.message) not in seen:
            seen.add((error.field, error.message))
            unique.append(error)
    return unique


def _only_given(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The schema without its required fields: forced data is checked only for what it gives."""
    return {**schema, "required": [], "allOf": [], "if": {}, "x-checks": []}


# --- 驳回 -----------------------------------------------------------------------------------


def reject(session: Session, task_id: str, actor: str, reason: str) -> Outcome:
    """The holder refuses the matter at this step; it ends, and the reason stays in its history."""
    row, instance, definition = _open_task_for(session, task_id, actor, operation="reject")
    reason = _reason(reason, "reject")
    _decision_stands(session, instance, None, "reject")
    return _cancel(session, instance, definition, actor, reason, "reject", row)


def _decision_stands(session: Session, instance: Matter, step_id: str | None, operation: str) -> None:
    """A meeting's decision is not undone by one person: not by 驳回, not by 撤回 of the step that
    recorded it. Ending the matter takes a new vote."""
    decision = decisions.standing(session, _book(session, instance), instance.id, step_id)
    if decision is not None:
        raise InvalidState(
            code="matter.decision_stands",
            params={"number": decision.number, "operation": OPERATION_NAMES[operation]},
        )


def _cancel(
    session: Session,
    instance: Matter,
    definition: LoadedDefinition,
    actor: str,
    reason: str,
    operation: str,
    row: OpenTask | None,
) -> Outcome:
    step = Step.of_task(session, instance, definition, actor)
    step.cancel()
    if row is not None:
        step.append(EventKind.TASK_REJECTED, row.step_id, {"reason": reason})
    step.append(
        EventKind.INSTANCE_CANCELLED,
        row.step_id if row is not None else None,
        {"operation": operation, "reason": reason},
    )
    result = step.finish()
    return Outcome(result.instance_id, result.status, operation)


# --- 退回 / 撤回 ------------------------------------------------------------------------------


def returnable_steps(session: Session, task_id: str) -> list[dict[str, str]]:
    """Earlier steps of the same matter that this step may be returned to, nearest first."""
    row = session.get(OpenTask, task_id)
    if row is None:
        return []
    instance = session.get(Matter, row.instance_id)
    definition = loaded(instance.definition)
    # Read-only: a copy restored from the saved state, never the cached workflow a step will take.
    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    task = workflow.get_task_from_id(_engine_id(row))
    if task is None:
        return []
    return [
        {"step": name, "name": definition.steps[name].name if name in definition.steps else name}
        for name in _completed_ancestors(task)
    ]


def _engine_id(row: OpenTask) -> UUID:
    return UUID(row.engine_task_id)


def _completed_ancestors(task: Any) -> dict[str, Any]:
    """Completed user tasks the task descends from, nearest first, by step id."""
    found: dict[str, Any] = {}
    parent = task.parent
    while parent is not None:
        if parent.task_spec.manual and parent.state == TaskState.COMPLETED and parent.task_spec.name not in found:
            found[parent.task_spec.name] = parent
        parent = parent.parent
    return found


def return_to(session: Session, task_id: str, actor: str, step_id: str, reason: str) -> Outcome:
    """Send the matter back from this step to an earlier step it came through."""
    row, instance, definition = _open_task_for(session, task_id, actor, operation="return")
    reason = _reason(reason, "return")
    step = Step.of_task(session, instance, definition, actor)
    current = step.workflow.get_task_from_id(_engine_id(row))
    target = _completed_ancestors(current).get(step_id) if current is not None else None
    if target is None:
        raise InvalidState(code="task.not_returnable", params={"step": step_id})
    return _reset(step, target, EventKind.TASK_RETURNED, row.step_id, {"to": step_id, "reason": reason})


def _reset(step: Step, target: Any, kind: str, step_id: str, data: dict[str, Any]) -> Outcome:
    step.reset_to(target)
    step.append(kind, step_id, dict(data, opened=[t.step_id for t in step.opened]))
    result = step.finish()
    operation = "return" if kind == EventKind.TASK_RETURNED else "withdraw"
    return _outcome(result, operation)


def withdrawable(session: Session, instance_id: int, actor: str) -> str | None:
    """What ``actor`` may withdraw now: ``"step"`` (their latest step), ``"matter"`` (the whole matter), or None."""
    instance = session.get(Matter, instance_id)
    if instance is None or instance.status != MatterStatus.RUNNING:
        return None
    last = _last_progress(session, instance_id)
    if last is None:
        return None
    if last.kind == EventKind.INSTANCE_STARTED:
        return "matter" if instance.started_by == actor else None
    if last.kind == EventKind.TASK_COMPLETED and last.actor == actor and last.step_id:
        if not loaded(instance.definition).step(last.step_id).allows("withdraw"):
            return None
        if session.scalar(select(OpenTask.id).where(OpenTask.instance_id == instance_id).limit(1)) is None:
            return None
        if _approvals_in_progress(session, instance_id):
            return None
        return "step"
    return None


def _last_progress(session: Session, instance_id: int) -> HistoryEvent | None:
    return session.scalar(
        select(HistoryEvent)
        .where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind.in_(PROGRESS_KINDS))
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    )


def withdraw(session: Session, instance_id: int, actor: str, reason: str) -> Outcome:
    """Take back one's latest step before anyone acts on what followed, or cancel a matter one started
    that nobody has acted on yet."""
    instance = _matter_for(session, instance_id, actor, "matter.withdraw")
    if instance.status != MatterStatus.RUNNING:
        raise InvalidState(
            text("workspace.refusals.withdraw_ended"), code="matter.ended", params={"matter": instance_id}
        )
    reason = _reason(reason, "withdraw")
    what = withdrawable(session, instance_id, actor)
    if what is None:
        raise InvalidState(code="matter.not_withdrawable")
    definition = loaded(instance.definition)
    if what == "matter":
        return _cancel(session, instance, definition, actor, reason, "withdraw", None)
    last = _last_progress(session, instance_id)
    _decision_stands(session, instance, last.step_id, "withdraw")
    _require_operation(definition, last.step_id, "withdraw")
    step = Step.of_task(session, instance, definition, actor)
    ready = step.workflow.get_tasks(state=TaskState.READY, manual=True)
    candidates = [
        t
        for t in step.workflow.tasks.values()
        if t.task_spec.name == last.step_id and t.state == TaskState.COMPLETED and all(_descends(r, t) for r in ready)
    ]
    if not ready or not candidates:
        raise InvalidState(text("workspace.refusals.withdraw_moved_on"), code="matter.not_withdrawable")
    target = max(candidates, key=lambda t: t.last_state_change)
    return _reset(
        step,
        target,
        EventKind.TASK_WITHDRAWN,
        last.step_id,
        {"reason": reason, "from": sorted({t.task_spec.name for t in ready})},
    )


def _matter_for(session: Session, instance_id: int, actor: str, action: str) -> Matter:
    """Lock the matter and check ``actor`` may do ``action`` on it (NotFound where they may not see it)."""
    instance = steps.lock_instance(session, instance_id)
    policy.require(session, actor, action, instance)
    return instance


def _descends(task: Any, ancestor: Any) -> bool:
    parent = task.parent
    while parent is not None:
        if parent.id == ancestor.id:
            return True
        parent = parent.parent
    return False


# --- 转办 -----------------------------------------------------------------------------------


def transfer_candidates(session: Session, task_id: str, actor: str) -> list[dict[str, str]]:
    row = session.get(OpenTask, task_id)
    if row is None:
        return []
    users = session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == row.role, RoleAssignment.org_unit_id == row.org_unit_id, User.active.is_(True))
        .order_by(User.username)
    )
    return [
        {"username": u.username, "display_name": u.display_name}
        for u in users
        if u.username != actor and policy.could_hold(session, u.username, row)
    ]


def transfer(session: Session, task_id: str, actor: str, to: str, reason: str) -> Outcome:
    """Hand the step to another holder of the same role in the same place."""
    row, instance, definition = _open_task_for(session, task_id, actor, operation="transfer")
    reason = _reason(reason, "transfer")
    to = (to or "").strip() if isinstance(to, str) else ""
    if to == actor:
        raise PowerlistError(code="transfer.self", field="to")
    target = session.scalar(select(User).where(User.username == to))
    if target is None or not target.active or not policy.could_hold(session, target.username, row):
        raise PermissionDenied(
            text("workspace.refusals.transfer_not_holder", user=to, role=labels.role_name(row.role)),
            code="transfer.not_holder",
            params={"user": to, "role": row.role},
            field="to",
        )
    row.assignee = target.username
    event = history.append(
        session,
        instance,
        EventKind.TASK_TRANSFERRED,
        at=clock.now(),
        actor=actor,
        step_id=row.step_id,
        data={"to": target.username, "reason": reason},
    )
    steps.record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "transfer")


# --- 抄送 -----------------------------------------------------------------------------------

SUPERVISOR_ROLES = ("supervisory_member", "town_discipline", "county_discipline")


def copy_candidates(session: Session, instance_id: int) -> list[dict[str, str]]:
    """The supervisors of the matter's village, town and county who may see it."""
    instance = session.get(Matter, instance_id)
    if instance is None:
        return []
    from engine.org.units import unit_for_role

    pairs = [(role, unit_for_role(session, instance.village_id, role).id) for role in SUPERVISOR_ROLES]
    found = []
    for role, unit_id in pairs:
        users = session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, RoleAssignment.org_unit_id == unit_id, User.active.is_(True))
            .order_by(User.username)
        )
        for user in users:
            if policy.may(session, user.username, "matter.read", instance):
                found.append(
                    {"username": user.username, "display_name": user.display_name, "role": labels.role_name(role)}
                )
    return found


def copy(session: Session, instance_id: int, actor: str, recipients: Any, note: str | None = None) -> Outcome:
    """Copy the matter to users who may see it (supervisors, usually) for their information."""
    instance = _matter_for(session, instance_id, actor, "matter.copy")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise PowerlistError(code="copy.no_recipients", field="to")
    names = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not names:
        raise PowerlistError(code="copy.no_recipients", field="to")
    if len(names) > MAX_COPIES:
        raise PowerlistError(code="copy.too_many", params={"max": MAX_COPIES}, field="to")
    note = _note(note)
    now = clock.now()
    for name in names:
        if not policy.may(session, name, "matter.read", instance):
            raise PermissionDenied(code="copy.not_reader", params={"user": name}, field="to")
        session.add(MatterCopy(instance_id=instance.id, recipient=name, sent_by=actor, sent_at=now, note=note))
    event = history.append(
        session, instance, EventKind.MATTER_COPIED, at=now, actor=actor, data={"to": names, "note": note}
    )
    steps.record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "copy")


def mark_copies_read(session: Session, instance_id: int, username: str) -> None:
    now = clock.now()
    for row in session.scalars(
        select(MatterCopy).where(
            MatterCopy.instance_id == instance_id, MatterCopy.recipient == username, MatterCopy.read_at.is_(None)
        )
    ):
        row.read_at = now


# --- 催办 -----------------------------------------------------------------------------------


def remind(session: Session, task_id: str, actor: str, note: str | None = None) -> Outcome:
    """Remind the holders of an open step; at most once an hour per person and step."""
    row, instance, definition = _open_task_for(session, task_id, actor, "task.remind", operation="remind")
    if is_holder(session, actor, row):
        raise PowerlistError(code="remind.own_step")
    now = clock.now()
    recent = session.scalar(
        select(TaskReminder.id).where(
            TaskReminder.task_id == task_id,
            TaskReminder.sent_by == actor,
            TaskReminder.sent_at > now - REMIND_INTERVAL,
        )
    )
    if recent is not None:
        raise InvalidState(code="remind.too_soon")
    note = _note(note)
    session.add(
        TaskReminder(
            instance_id=instance.id, task_id=task_id, step_id=row.step_id, sent_by=actor, sent_at=now, note=note
        )
    )
    event = history.append(
        session, instance, EventKind.TASK_REMINDED, at=now, actor=actor, step_id=row.step_id, data={"note": note}
    )
    steps.record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "remind")


# --- 加签 -----------------------------------------------------------------------------------


def pending_approvals(session: Session, task_id: str) -> list[AddedApproval]:
    return list(
        session.scalars(
            select(AddedApproval)
            .where(AddedApproval.task_id == task_id, AddedApproval.status == ApprovalStatus.PENDING)
            .order_by(AddedApproval.id)
        )
    )


def _approvals_in_progress(session: Session, instance_id: int) -> bool:
    return (
        session.scalar(
            select(AddedApproval.id).where(
                AddedApproval.instance_id == instance_id, AddedApproval.status == ApprovalStatus.PENDING
            )
        )
        is not None
    )


def approver_candidates(session: Session, instance_id: int, actor: str) -> list[dict[str, str]]:
    """Active users who could decide an added approval of the matter, other than the actor."""
    instance = session.get(Matter, instance_id)
    if instance is None:
        return []
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return [
        {"username": u.username, "display_name": u.display_name}
        for u in users
        if u.username != actor and u.roles and _may_approve(session, u.username, instance)
    ]


def _may_approve(session: Session, username: str, instance: Matter) -> bool:
    """An added approver must see the matter and hold a role that acts in it (not a reader)."""
    return policy.may(session, username, "matter.read", instance) and policy.may(
        session, username, "matter.copy", instance
    )


def add_approver(session: Session, task_id: str, actor: str, approver: str, position: str, reason: str) -> Outcome:
    """Ask another person to approve this step: ``before`` the holder completes it, or ``after``
    (the holder's submission then waits for their approval)."""
    row, instance, definition = _open_task_for(session, task_id, actor, operation="add_approver")
    if position not in ("before", "after"):
        raise PowerlistError(code="approval.position", field="position")
    reason = _reason(reason, "add_approver")
    approver = (approver or "").strip() if isinstance(approver, str) else ""
    if approver == actor:
        raise PowerlistError(code="approval.self", field="approver")
    target = session.scalar(select(User).where(User.username == approver))
    if target is None or not target.active or not _may_approve(session, target.username, instance):
        raise PermissionDenied(
            code="approval.not_eligible",
            params={"user": approver},
            field="approver",
        )
    if pending_approvals(session, task_id):
        raise InvalidState(code="approval.pending")
    now = clock.now()
    approval = AddedApproval(
        instance_id=instance.id,
        task_id=task_id,
        step_id=row.step_id,
        position=position,
        approver=target.username,
        requested_by=actor,
        requested_at=now,
        reason=reason,
        status=ApprovalStatus.PENDING,
    )
    session.add(approval)
    session.flush()
    event = history.append(
        session,
        instance,
        EventKind.APPROVER_ADDED,
        at=now,
        actor=actor,
        step_id=row.step_id,
        data={"approval": approval.id, "approver": target.username, "position": position, "reason": reason},
    )
    steps.record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "add_approver")


def decide(session: Session, approval_id: int, actor: str, agree: Any, comment: str | None) -> Outcome:
    """The added approver agrees or not. Agreeing to an ``after`` approval completes the step with
    the holder's waiting submission; declining sends that submission back to the holder.

    The approver must still see the matter and hold a role that acts in it."""
    begin_write(session)
    if not isinstance(agree, bool):
        raise PowerlistError(code="approval.agree", field="agree")
    approval = session.get(AddedApproval, approval_id)
    if approval is None:
        raise NotFound(code="approval.not_found")
    policy.require(session, actor, "approval.decide", approval)
    if approval.status == ApprovalStatus.CANCELLED:
        raise InvalidState(code="approval.stale")
    if approval.status != ApprovalStatus.PENDING:
        raise InvalidState(code="approval.decided")
    if approval.position == "after" and approval.parked is None:
        raise InvalidState(code="approval.not_submitted")
    comment = _note(comment)
    if not agree and not comment:
        raise PowerlistError(code="approval.comment_required", field="comment")
    row = session.get(OpenTask, approval.task_id)
    instance = steps.lock_instance(session, approval.instance_id)
    if row is None or instance.status != MatterStatus.RUNNING:
        raise InvalidState(code="approval.stale")
    now = clock.now()
    approval.status = ApprovalStatus.APPROVED if agree else ApprovalStatus.DECLINED
    approval.decided_at = now
    approval.comment = comment
    event = history.append(
        session,
        instance,
        EventKind.APPROVER_DECIDED,
        at=now,
        actor=actor,
        step_id=approval.step_id,
        data={"approval": approval.id, "position": approval.position, "agree": agree, "comment": comment},
    )
    if approval.position == "after" and agree:
        parked = approval.parked or {}
        payload = parked.get("payload") or {"form": parked.get("data") or {}}
        row, instance, definition = steps.lock_open_task(session, approval.task_id)
        result = _run_completion(session, row, instance, definition, parked["actor"], payload)
        return _outcome(result, "decide")
    steps.record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "decide")
