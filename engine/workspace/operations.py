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
from uuid import UUID, uuid4

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import api, clock, hooks
from engine.errors import Conflict, FormInvalid, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.history import events as history
from engine.org.service import can_see_village, get_user, holds, require_role
from engine.persistence.db import begin_write
from engine.persistence.models import HistoryEvent, OpenTask, OrgUnit, ProcessInstance, RoleAssignment, User
from engine.runtime.loaded import LoadedDefinition, loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import dump_state, load_state
from engine.workspace import attachments, formspec, idempotency, labels, runtime
from engine.workspace.models import AddedApproval, MatterCopy, TaskReminder

MIN_REASON = 4
MAX_REASON = 2000
REMIND_INTERVAL = timedelta(hours=1)
MAX_COPIES = 50
PROGRESS_KINDS = frozenset(
    {
        history.INSTANCE_STARTED,
        history.TASK_COMPLETED,
        history.TASK_FORCED,
        history.TIMER_FIRED,
        labels.TASK_RETURNED,
        labels.TASK_WITHDRAWN,
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


def _reason(reason: str | None, what: str = "理由") -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise PowerlistError(f"请写明{what}（至少 {MIN_REASON} 个字）")
    if len(text) > MAX_REASON:
        raise PowerlistError(f"{what}太长了（最多 {MAX_REASON} 个字）")
    return text


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise PowerlistError(f"说明太长了（最多 {MAX_REASON} 个字）")
    return text or None


def require_holder(session: Session, user: User, row: OpenTask) -> None:
    """The user may act on the open step: they hold its role where it is done, and it was not handed to someone else.

    For a user who may not even see the matter, the step does not exist.
    """
    instance = session.get(ProcessInstance, row.instance_id)
    if instance is None or not can_see_village(user, instance.village):
        raise NotFound("该步骤已经办理过了，或者已被退回、撤回")
    unit = session.get(OrgUnit, row.org_unit_id)
    require_role(user, row.role, unit)
    if row.assignee and row.assignee != user.username:
        raise PermissionDenied(f"此步骤已转给 {row.assignee} 办理")


def is_holder(session: Session, username: str, row: OpenTask) -> bool:
    try:
        require_holder(session, get_user(session, username), row)
    except (PermissionDenied, NotFound):
        return False
    return True


def first_step_for(session: Session, username: str, opened: list[dict[str, Any]]) -> str | None:
    """The first of the newly opened steps that ``username`` may do, if any."""
    for task in opened:
        row = session.get(OpenTask, task["id"])
        if row is not None and is_holder(session, username, row):
            return row.id
    return None


def _lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    begin_write(session)
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update(of=ProcessInstance)
    )
    if instance is None:
        raise NotFound(f"没有编号为 {instance_id} 的事项")
    return instance


def _open_task_for(session: Session, task_id: str) -> tuple[OpenTask, ProcessInstance, LoadedDefinition]:
    try:
        return runtime.lock_open_task(session, task_id)
    except InvalidState as exc:
        raise InvalidState("该步骤已经办理过了，或者已被退回、撤回") from exc


def _record(
    session: Session,
    instance: ProcessInstance,
    events: list[HistoryEvent],
    actor: str,
    closed: list[str] | None = None,
) -> None:
    """Run the after-step hooks for events that did not move the workflow, and write."""
    now = events[-1].at if events else clock.now()
    hooks.run_after_step(
        hooks.StepContext(session, instance, loaded(instance.definition), events, [], closed or [], actor, now)
    )
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("别人刚刚也修改了这个事项，请刷新后再试") from exc


def _opened(result_opened: list[Any]) -> list[dict[str, Any]]:
    return [{"id": t.id, "step": t.step_id, "name": t.step_name, "role": t.role} for t in result_opened]


# --- 同意 / 提交 --------------------------------------------------------------------------------


def submit(
    session: Session,
    task_id: str,
    actor: str,
    data: Any,
    attachment_ids: dict[str, list[int]] | None = None,
    waive_reason: str | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """Complete a step with its form and attachments.

    A retried submission with the same ``idempotency_key`` returns the first outcome. With
    ``waive_reason``, failed legal checks are recorded with the reason instead of refusing.
    """
    begin_write(session)
    key = idempotency.check_key(idempotency_key)
    earlier = idempotency.lookup(session, actor, key)
    if earlier is not None:
        return Outcome.repeat_of(earlier)
    row = session.get(OpenTask, task_id)
    if row is None:
        raise InvalidState("该步骤已经办理过了，或者已被退回、撤回")
    instance = session.get(ProcessInstance, row.instance_id)
    user = get_user(session, actor)
    require_holder(session, user, row)
    if not isinstance(data, dict):
        raise FormInvalid(row.step_name, [formspec.FieldError("", "表单数据必须是一个对象")])
    definition = loaded(instance.definition)
    step = definition.step(row.step_id)
    schema, _text = definition.form(step)
    spec = formspec.form_spec(schema)

    approvals = pending_approvals(session, task_id)
    if any(a.position == "before" for a in approvals):
        waiting = next(a for a in approvals if a.position == "before")
        raise InvalidState(f"请等待加签人 {waiting.approver} 审批后再办理")

    errors = formspec.validate(schema, data) if schema else []
    if waive_reason is None and not errors:
        errors += formspec.failed_checks(schema, data)
    attachment_errors: list[formspec.FieldError] = []
    resolved = attachments.Resolved([], [])
    try:
        resolved = attachments.resolve_for_step(
            session, step.name, spec.attachments, attachment_ids or {}, actor, instance.id, step.id
        )
    except FormInvalid as exc:
        attachment_errors = exc.errors
    if errors or attachment_errors:
        raise FormInvalid(step.name, errors + attachment_errors)
    if waive_reason is not None:
        _reason(waive_reason, "不符合规定仍要提交的理由")

    payload = dict(data)
    if resolved.entries:
        payload["attachments"] = resolved.entries

    after = next((a for a in approvals if a.position == "after"), None)
    if after is not None:
        return _park(session, row, instance, after, actor, payload, waive_reason, resolved, key)

    result = api.complete(session, task_id, actor, payload, waive_reason)
    attachments.claim(resolved.rows, resolved.entries, instance.id, task_id, step.id)
    outcome = Outcome(result.instance_id, result.status, "complete", _opened(result.opened))
    idempotency.remember(session, actor, key, "complete", outcome.as_dict())
    return outcome


def _park(session, row, instance, approval, actor, payload, waive_reason, resolved, key) -> Outcome:
    instance = _lock_instance(session, instance.id)
    if approval.parked is not None:
        raise InvalidState(f"已经提交过，正在等待加签人 {approval.approver} 审批")
    approval.parked = {"actor": actor, "data": payload, "waive_reason": waive_reason}
    attachments.claim(resolved.rows, resolved.entries, instance.id, row.id, row.step_id)
    event = history.append(
        session,
        instance,
        labels.TASK_PARKED,
        at=clock.now(),
        actor=actor,
        step_id=row.step_id,
        data={"approval": approval.id, "approver": approval.approver},
    )
    _record(session, instance, [event], actor)
    outcome = Outcome(instance.id, instance.status, "complete", parked=True)
    idempotency.remember(session, actor, key, "complete", outcome.as_dict())
    return outcome


# --- 驳回 -----------------------------------------------------------------------------------


def reject(session: Session, task_id: str, actor: str, reason: str) -> Outcome:
    """The holder refuses the matter at this step; it ends, and the reason stays in its history."""
    row, instance, definition = _open_task_for(session, task_id)
    require_holder(session, get_user(session, actor), row)
    reason = _reason(reason, "驳回理由")
    return _cancel(session, instance, actor, reason, "reject", row)


def _cancel(
    session: Session, instance: ProcessInstance, actor: str, reason: str, operation: str, row: OpenTask | None
) -> Outcome:
    definition = loaded(instance.definition)
    workflow = runtime.load_workflow(instance, definition)
    workflow.cancel()
    now = clock.now()
    closed = [t.id for t in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))]
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))
    _cancel_approvals(session, closed)
    events = []
    if row is not None:
        events.append(
            history.append(
                session,
                instance,
                labels.TASK_REJECTED,
                at=now,
                actor=actor,
                step_id=row.step_id,
                data={"reason": reason},
            )
        )
    events.append(
        history.append(
            session,
            instance,
            history.INSTANCE_CANCELLED,
            at=now,
            actor=actor,
            step_id=row.step_id if row is not None else None,
            data={"operation": operation, "reason": reason},
        )
    )
    instance.status = "cancelled"
    instance.ended_at = now
    instance.state = dump_state(workflow)
    _record(session, instance, events, actor, closed)
    return Outcome(instance.id, instance.status, operation)


# --- 退回 / 撤回 ------------------------------------------------------------------------------


def returnable_steps(session: Session, task_id: str) -> list[dict[str, str]]:
    """Earlier steps of the same matter that this step may be returned to, nearest first."""
    row = session.get(OpenTask, task_id)
    if row is None:
        return []
    instance = session.get(ProcessInstance, row.instance_id)
    definition = loaded(instance.definition)
    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    task = workflow.get_task_from_id(UUID(task_id))
    if task is None:
        return []
    return [
        {"step": name, "name": definition.steps[name].name if name in definition.steps else name}
        for name in _completed_ancestors(task)
    ]


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
    row, instance, definition = _open_task_for(session, task_id)
    require_holder(session, get_user(session, actor), row)
    reason = _reason(reason, "退回理由")
    workflow = runtime.load_workflow(instance, definition)
    current = workflow.get_task_from_id(UUID(task_id))
    target = _completed_ancestors(current).get(step_id) if current is not None else None
    if target is None:
        raise InvalidState(f"不能退回到「{step_id}」：这个事项没有经过该步骤")
    return _reset(
        session,
        instance,
        definition,
        workflow,
        target,
        actor,
        labels.TASK_RETURNED,
        row.step_id,
        {"to": step_id, "reason": reason},
    )


def _reset(
    session: Session,
    instance: ProcessInstance,
    definition: LoadedDefinition,
    workflow: Any,
    target: Any,
    actor: str,
    kind: str,
    step_id: str,
    data: dict[str, Any],
) -> Outcome:
    before_ready = runtime.ready_user_task_ids(workflow)
    workflow.reset_from_task_id(target.id)
    _renew_id(workflow, target)
    # A reset leaves removed timers registered in SpiffWorkflow; a saved and reloaded copy is clean.
    workflow = load_state(dump_state(workflow), definition.spec, definition.subprocess_specs, script_engine())
    now = clock.now()
    opened, closed = runtime.sync_open_tasks(session, instance, definition, workflow, before_ready, now)
    _cancel_approvals(session, closed)
    data = dict(data, opened=[t.step_id for t in opened])
    event = history.append(session, instance, kind, at=now, actor=actor, step_id=step_id, data=data)
    runtime.finish(session, instance, definition, workflow, [event], opened, closed, actor, now)
    operation = "return" if kind == labels.TASK_RETURNED else "withdraw"
    return Outcome(
        instance.id,
        instance.status,
        operation,
        [{"id": t.id, "step": t.step_id, "name": t.step_name, "role": t.role} for t in opened],
    )


def _renew_id(workflow: Any, task: Any) -> None:
    """Give a reset task a new id: the step opens anew (new due time, reminders, timers), as when a
    loop in the flow reaches it again."""
    old, new = task.id, uuid4()
    del workflow.tasks[old]
    task.id = new
    workflow.tasks[new] = task
    parent = task.parent
    if parent is not None:
        parent._children = [new if child == old else child for child in parent._children]
    for child in task.children:
        child._parent = new


def withdrawable(session: Session, instance_id: int, actor: str) -> str | None:
    """What ``actor`` may withdraw now: ``"step"`` (their latest step), ``"matter"`` (the whole matter), or None."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.status != "running":
        return None
    last = _last_progress(session, instance_id)
    if last is None:
        return None
    if last.kind == history.INSTANCE_STARTED:
        return "matter" if instance.started_by == actor else None
    if last.kind == history.TASK_COMPLETED and last.actor == actor and last.step_id:
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
    instance = _lock_instance(session, instance_id)
    if instance.status != "running":
        raise InvalidState("事项已经结束，不能撤回")
    reason = _reason(reason, "撤回理由")
    what = withdrawable(session, instance_id, actor)
    if what is None:
        raise InvalidState("下一步已经有人办理，或这一步不是您办理的，不能撤回")
    if what == "matter":
        return _cancel(session, instance, actor, reason, "withdraw", None)
    last = _last_progress(session, instance_id)
    definition = loaded(instance.definition)
    workflow = runtime.load_workflow(instance, definition)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    candidates = [
        t
        for t in workflow.tasks.values()
        if t.task_spec.name == last.step_id and t.state == TaskState.COMPLETED and all(_descends(r, t) for r in ready)
    ]
    if not ready or not candidates:
        raise InvalidState("流程已经往下走了，不能撤回")
    target = max(candidates, key=lambda t: t.last_state_change)
    return _reset(
        session,
        instance,
        definition,
        workflow,
        target,
        actor,
        labels.TASK_WITHDRAWN,
        last.step_id,
        {"reason": reason, "from": sorted({t.task_spec.name for t in ready})},
    )


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
    return [{"username": u.username, "display_name": u.display_name} for u in users if u.username != actor]


def transfer(session: Session, task_id: str, actor: str, to: str, reason: str) -> Outcome:
    """Hand the step to another holder of the same role in the same place."""
    row, instance, definition = _open_task_for(session, task_id)
    require_holder(session, get_user(session, actor), row)
    reason = _reason(reason, "转办说明")
    target = session.scalar(select(User).where(User.username == to))
    if target is None or not target.active or not holds(target, row.role, row.org_unit_id):
        raise PermissionDenied(f"{to} 不是本步骤同一岗位（{labels.role_name(row.role)}）的人员，不能转给他")
    if target.username == actor:
        raise PowerlistError("不能转办给自己")
    row.assignee = target.username
    event = history.append(
        session,
        instance,
        labels.TASK_TRANSFERRED,
        at=clock.now(),
        actor=actor,
        step_id=row.step_id,
        data={"to": target.username, "reason": reason},
    )
    _record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "transfer")


# --- 抄送 -----------------------------------------------------------------------------------

SUPERVISOR_ROLES = ("supervisory_member", "town_discipline", "county_discipline")


def copy_candidates(session: Session, instance_id: int) -> list[dict[str, str]]:
    """The supervisors of the matter's village, town and county."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        return []
    from engine.org.service import unit_for_role

    pairs = [(role, unit_for_role(instance.village, role).id) for role in SUPERVISOR_ROLES]
    found = []
    for role, unit_id in pairs:
        users = session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, RoleAssignment.org_unit_id == unit_id, User.active.is_(True))
            .order_by(User.username)
        )
        for user in users:
            found.append({"username": user.username, "display_name": user.display_name, "role": labels.role_name(role)})
    return found


def copy(session: Session, instance_id: int, actor: str, recipients: list[str], note: str | None = None) -> Outcome:
    """Copy the matter to users who may see it (supervisors, usually) for their information."""
    instance = _lock_instance(session, instance_id)
    actor_user = get_user(session, actor)
    if not can_see_village(actor_user, instance.village):
        raise NotFound(f"没有编号为 {instance_id} 的事项，或您无权查看")
    names = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not names:
        raise PowerlistError("请选择抄送给谁")
    if len(names) > MAX_COPIES:
        raise PowerlistError(f"一次最多抄送 {MAX_COPIES} 人")
    note = _note(note)
    now = clock.now()
    for name in names:
        user = session.scalar(select(User).where(User.username == name))
        if user is None or not user.active or not can_see_village(user, instance.village):
            raise PermissionDenied(f"{name} 无权查看本村事项，不能抄送给他")
        session.add(MatterCopy(instance_id=instance.id, recipient=name, sent_by=actor, sent_at=now, note=note))
    event = history.append(
        session, instance, labels.MATTER_COPIED, at=now, actor=actor, data={"to": names, "note": note}
    )
    _record(session, instance, [event], actor)
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
    row, instance, definition = _open_task_for(session, task_id)
    user = get_user(session, actor)
    if not can_see_village(user, instance.village):
        raise NotFound(f"没有编号为 {instance.id} 的事项，或您无权查看")
    if is_holder(session, actor, row):
        raise PowerlistError("这是您自己要办的步骤，不用催办")
    now = clock.now()
    recent = session.scalar(
        select(TaskReminder.id).where(
            TaskReminder.task_id == task_id,
            TaskReminder.sent_by == actor,
            TaskReminder.sent_at > now - REMIND_INTERVAL,
        )
    )
    if recent is not None:
        raise InvalidState("您一小时内已经催办过这一步了")
    note = _note(note)
    session.add(
        TaskReminder(
            instance_id=instance.id, task_id=task_id, step_id=row.step_id, sent_by=actor, sent_at=now, note=note
        )
    )
    event = history.append(
        session, instance, labels.TASK_REMINDED, at=now, actor=actor, step_id=row.step_id, data={"note": note}
    )
    _record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "remind")


# --- 加签 -----------------------------------------------------------------------------------


def pending_approvals(session: Session, task_id: str) -> list[AddedApproval]:
    return list(
        session.scalars(
            select(AddedApproval)
            .where(AddedApproval.task_id == task_id, AddedApproval.status == "pending")
            .order_by(AddedApproval.id)
        )
    )


def _approvals_in_progress(session: Session, instance_id: int) -> bool:
    return (
        session.scalar(
            select(AddedApproval.id).where(AddedApproval.instance_id == instance_id, AddedApproval.status == "pending")
        )
        is not None
    )


def _cancel_approvals(session: Session, task_ids: list[str]) -> None:
    if not task_ids:
        return
    for approval in session.scalars(
        select(AddedApproval).where(AddedApproval.task_id.in_(task_ids), AddedApproval.status == "pending")
    ):
        approval.status = "cancelled"
        approval.decided_at = clock.now()


def approver_candidates(session: Session, instance_id: int, actor: str) -> list[dict[str, str]]:
    """Active users who may see the matter, other than the actor."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        return []
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return [
        {"username": u.username, "display_name": u.display_name}
        for u in users
        if u.username != actor and u.roles and can_see_village(u, instance.village)
    ]


def add_approver(session: Session, task_id: str, actor: str, approver: str, position: str, reason: str) -> Outcome:
    """Ask another person to approve this step: ``before`` the holder completes it, or ``after``
    (the holder's submission then waits for their approval)."""
    row, instance, definition = _open_task_for(session, task_id)
    require_holder(session, get_user(session, actor), row)
    if position not in ("before", "after"):
        raise PowerlistError("加签方式只能是“前加签”或“后加签”")
    reason = _reason(reason, "加签理由")
    target = session.scalar(select(User).where(User.username == approver))
    if target is None or not target.active or not can_see_village(target, instance.village):
        raise PermissionDenied(f"{approver} 无权查看本村事项，不能加签给他")
    if target.username == actor:
        raise PowerlistError("不能加签给自己")
    if pending_approvals(session, task_id):
        raise InvalidState("这一步已经有一个加签在等待审批")
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
        status="pending",
    )
    session.add(approval)
    session.flush()
    event = history.append(
        session,
        instance,
        labels.APPROVER_ADDED,
        at=now,
        actor=actor,
        step_id=row.step_id,
        data={"approval": approval.id, "approver": target.username, "position": position, "reason": reason},
    )
    _record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "add_approver")


def decide(session: Session, approval_id: int, actor: str, agree: bool, comment: str | None) -> Outcome:
    """The added approver agrees or not. Agreeing to an ``after`` approval completes the step with
    the holder's waiting submission; declining sends that submission back to the holder."""
    begin_write(session)
    approval = session.get(AddedApproval, approval_id)
    if approval is None or approval.approver != actor:
        raise NotFound("没有这个加签审批")
    if approval.status != "pending":
        raise InvalidState("这个加签已经审批过了")
    if approval.position == "after" and approval.parked is None:
        raise InvalidState("办理人还没有提交，请等提交后再审批")
    comment = _note(comment)
    if not agree and not comment:
        raise PowerlistError("不同意时请写明意见")
    row = session.get(OpenTask, approval.task_id)
    instance = _lock_instance(session, approval.instance_id)
    if row is None or instance.status != "running":
        approval.status = "cancelled"
        raise InvalidState("该步骤已经变化，这个加签不再需要审批")
    now = clock.now()
    approval.status = "approved" if agree else "declined"
    approval.decided_at = now
    approval.comment = comment
    event = history.append(
        session,
        instance,
        labels.APPROVER_DECIDED,
        at=now,
        actor=actor,
        step_id=approval.step_id,
        data={"approval": approval.id, "position": approval.position, "agree": agree, "comment": comment},
    )
    if approval.position == "after" and agree:
        parked = approval.parked or {}
        result = api.complete(session, approval.task_id, parked["actor"], parked["data"], parked.get("waive_reason"))
        return Outcome(result.instance_id, result.status, "decide", _opened(result.opened))
    _record(session, instance, [event], actor)
    return Outcome(instance.id, instance.status, "decide")
