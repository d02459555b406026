"""Moving running matters of a flow to a newer deployed version of it (instance migration).

A deployed version never changes and a matter normally finishes on the version it started on. When a
county corrects a flow (a step added after the one a matter waits at, a form's optional field, a
legal basis), the matters already running may be moved to the new version instead. One command does
it, :func:`migrate`, with one set of checks:

- who: an administrator of every county the flow is published to (the ``flow.retire`` action of
  :mod:`engine.policy.admin`: whoever decides which version is in service), or the operator;
- which matters: the running ones of the flow on the given version (by default every version older
  than the target), optionally of one village;
- whether each can move: its saved workflow is compared with the new version by SpiffWorkflow's
  :mod:`SpiffWorkflow.bpmn.util.diff` and moved in memory first. A matter whose open or completed
  step is gone from the new version, was renamed or changed kind, whose open step changed role or
  the required fields of its form, or whose state does not restore on the new version, is left as it
  is, with the reasons.

A dry run reports this for every matter and writes nothing. The real run moves each movable matter in
its own transaction holding the matter's lock, as a step does (:class:`engine.runtime.steps.Step`):
the state is migrated with ``migrate_workflow``, open steps that still exist keep their open-task
rows (ids, due times, timers, added approvals), the matter points at the new version and its history
gets an ``instance_migrated`` event naming both versions. A matter that changed meanwhile is checked
again under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InvalidState, NotFound, PowerlistError
from engine.history.events import EventKind
from engine.messages import describe
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import AuditLog, DefinitionVersion, Matter, OpenTask, OrgUnit
from engine.policy import admin as admin_policy
from engine.runtime.loaded import LoadedDefinition, loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import dump_state, load_state
from engine.runtime.steps import Step, lock_instance, ready_user_task_ids
from engine.texts import texts

log = logging.getLogger(__name__)

INSTANCE_MIGRATED = EventKind.INSTANCE_MIGRATED

# A task in one of these states is part of what happened (finished) or of where the matter stands
# (open); a step it names must still exist, unchanged in kind, in the new version.
OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
FINISHED = TaskState.FINISHED_MASK

_registry = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)


MOVE_SAID = texts("workspace.migration")  # a refusal's wording where it says more than its code's


class MigrationInvalid(PowerlistError):
    """The request itself is wrong (a target version not newer than the source): invalid input."""

    exit_code = 2
    default_code = "migration.invalid"


class MigrationRefused(PowerlistError):
    """Why one matter cannot move; reported, never raised out of :func:`migrate`."""

    default_code = "migration.refused"


@dataclass
class MatterMove:
    """One matter: whether it can move (dry run) or moved, and why not."""

    instance_id: int
    title: str | None
    village: str
    from_version: int
    movable: bool = False
    moved: bool = False
    reasons: list[MigrationRefused] = field(default_factory=list)
    open_steps: list[str] = field(default_factory=list)  # open steps after the move
    opened: list[str] = field(default_factory=list)  # steps the move itself opened

    def as_dict(self, language: str = "zh") -> dict[str, Any]:
        return {
            "instance": self.instance_id,
            "title": self.title,
            "village": self.village,
            "from_version": self.from_version,
            "movable": self.movable,
            "moved": self.moved,
            "open_steps": self.open_steps,
            "opened": self.opened,
            "reasons": [{"code": r.code, "params": r.params, "message": describe(r, language)} for r in self.reasons],
        }


@dataclass
class MigrationReport:
    key: str
    to_version: int
    dry_run: bool
    matters: list[MatterMove] = field(default_factory=list)

    @property
    def movable(self) -> int:
        return sum(1 for m in self.matters if m.movable)

    @property
    def moved(self) -> int:
        return sum(1 for m in self.matters if m.moved)

    @property
    def refused(self) -> int:
        return sum(1 for m in self.matters if not m.movable)

    def as_dict(self, language: str = "zh") -> dict[str, Any]:
        return {
            "key": self.key,
            "to_version": self.to_version,
            "dry_run": self.dry_run,
            "matters": len(self.matters),
            "movable": self.movable,
            "moved": self.moved,
            "refused": self.refused,
            "details": [m.as_dict(language) for m in self.matters],
        }


def migrate(
    sessions: Callable[[], Session],
    key: str,
    to_version: int,
    actor: str | None,
    *,
    from_version: int | None = None,
    village: str | None = None,
    dry_run: bool = False,
) -> MigrationReport:
    """Move the running matters of flow ``key`` to its version ``to_version`` (see the module's doc).

    ``sessions`` makes a session per transaction: one to check and list, then one per matter. With
    ``dry_run`` every matter is checked and moved in memory only; nothing is written.
    """
    with sessions() as session:
        admin_policy.require(session, actor, "flow.retire", key)
        target = _target(session, key, to_version, from_version)
        candidates = _candidates(session, key, to_version, from_version, village)
    report = MigrationReport(key, to_version, dry_run)
    for instance_id, version in candidates:
        with sessions() as session:  # closing without a commit rolls back
            move = _move(session, instance_id, version, target, actor, dry_run)
            if move.moved:
                session.commit()
        report.matters.append(move)
    if report.moved:
        with sessions() as session, session.begin():
            session.add(
                AuditLog(
                    at=clock.now(),
                    actor=actor,
                    action="migrate",
                    subject=f"{key} v{to_version}",
                    detail={"moved": [m.instance_id for m in report.matters if m.moved], "refused": report.refused},
                )
            )
    return report


def _target(session: Session, key: str, to_version: int, from_version: int | None) -> DefinitionVersion:
    target = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == key, DefinitionVersion.version == to_version)
    )
    if target is None:
        raise NotFound(
            code="migration.version_not_found",
            params={"key": key, "version": to_version},
        )
    if target.retired:
        raise InvalidState(
            code="migration.target_retired",
            params={"key": key, "version": to_version},
        )
    if from_version is not None and from_version >= to_version:
        raise MigrationInvalid(
            code="migration.not_newer",
            params={"from": from_version, "to": to_version},
        )
    return target


def _candidates(
    session: Session, key: str, to_version: int, from_version: int | None, village: str | None
) -> list[tuple[int, int]]:
    """(matter id, version) of the running matters to consider, oldest first."""
    query = (
        select(Matter.id, DefinitionVersion.version)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(DefinitionVersion.key == key, Matter.status == MatterStatus.RUNNING)
        .order_by(Matter.id)
    )
    if from_version is not None:
        query = query.where(DefinitionVersion.version == from_version)
    else:
        query = query.where(DefinitionVersion.version < to_version)
    if village is not None:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == village))
        if unit is None or unit.level != Level.VILLAGE:
            raise NotFound(
                MOVE_SAID["no_village"].format(unit=village), code="unit.not_found", params={"unit": village}
            )
        query = query.where(Matter.village_id == unit.id)
    return [(row[0], row[1]) for row in session.execute(query)]


def _move(
    session: Session, instance_id: int, version: int, target: DefinitionVersion, actor: str | None, dry_run: bool
) -> MatterMove:
    if dry_run:
        instance = session.get(Matter, instance_id)
    else:
        instance = lock_instance(session, instance_id)
    assert instance is not None
    move = MatterMove(instance.id, instance.title, instance.village.code, version)
    source = instance.definition
    if instance.status != MatterStatus.RUNNING or source.key != target.key or source.version >= target.version:
        # Checked again under the lock: the matter ended or moved since it was listed.
        move.reasons.append(
            MigrationRefused(
                code="migration.matter_changed",
                params={"matter": instance.id},
            )
        )
        return move
    target = session.get(DefinitionVersion, target.id) or target
    try:
        _carry_out(session, instance, loaded(source), loaded(target), target, actor, dry_run, move)
    except MigrationRefused as exc:
        move.reasons.append(exc)
    except (PowerlistError, SpiffWorkflowException, KeyError, ValueError, TypeError) as exc:
        log.warning("migrating matter %s failed: %r", instance.id, exc)
        error = str(exc).splitlines()[0] if str(exc) else repr(exc)
        move.reasons.append(MigrationRefused(code="migration.state_failed", params={"error": error}))
    if move.reasons:
        move.movable = move.moved = False
    return move


def _carry_out(
    session: Session,
    instance: Matter,
    old: LoadedDefinition,
    new: LoadedDefinition,
    target: DefinitionVersion,
    actor: str | None,
    dry_run: bool,
    move: MatterMove,
) -> None:
    # A fresh copy of the state, never the cached workflow: a refused matter must stay as it was.
    workflow = load_state(instance.state, old.spec, old.subprocess_specs, script_engine())
    diffs = _diffs(workflow, old, new)
    move.reasons.extend(_refusals(workflow, diffs, old, new))
    if move.reasons:
        return
    step = Step(session, instance, new, workflow, actor)
    _migrate_state(workflow, diffs, new)
    step.advance()
    lost = step.before_ready - ready_user_task_ids(workflow)
    if lost:
        names = sorted(t.task_spec.bpmn_name or t.task_spec.name for t in map(workflow.get_task_from_id, lost) if t)
        raise MigrationRefused(
            MOVE_SAID["open_step_lost"].format(steps=MOVE_SAID["list"].join(names) or "?"),
            code="migration.open_step_lost",
            params={"steps": names},
        )
    # The saved state must restore on the new version alone (no task left on a spec of the old one).
    load_state(dump_state(workflow), new.spec, new.subprocess_specs, script_engine())
    ready = {t.id: t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    move.open_steps = sorted(ready.values())
    move.opened = sorted(name for engine_id, name in ready.items() if engine_id not in step.before_ready)
    move.movable = True
    if dry_run:
        return
    step.sync()
    _rename_open_tasks(session, instance.id, new)
    instance.definition = target
    instance.definition_version_id = target.id
    step.append(
        INSTANCE_MIGRATED,
        data={"key": new.key, "from": old.version, "to": new.version, "open": move.open_steps},
    )
    step.finish()
    move.moved = True


@dataclass
class _Part:
    """The top workflow or one of its subprocesses, with its diff against the new version."""

    workflow: Any
    spec_diff: SpecDiff | None
    diff: WorkflowDiff | None
    new_spec: Any
    name: str


def _diffs(workflow: BpmnWorkflow, old: LoadedDefinition, new: LoadedDefinition) -> list[_Part]:
    """The diff of the workflow and of each of its subprocesses (``diff_workflow``, keeping the spec diffs)."""
    parts = []
    spec_diff = SpecDiff(_registry, workflow.spec, new.spec)
    parts.append(_Part(workflow, spec_diff, WorkflowDiff(workflow, spec_diff), new.spec, workflow.spec.name))
    for sub in workflow.subprocesses.values():
        name = sub.spec.name
        new_spec = new.subprocess_specs.get(name)
        if new_spec is None:
            parts.append(_Part(sub, None, None, None, name))
            continue
        sub_diff = SpecDiff(_registry, sub.spec, new_spec)
        parts.append(_Part(sub, sub_diff, WorkflowDiff(sub, sub_diff), new_spec, name))
    return parts


def _label(spec: Any) -> str:
    name = getattr(spec, "bpmn_name", None)
    return MOVE_SAID["step_label"].format(name=name, id=spec.name) if name and name != spec.name else spec.name


def _refusals(
    workflow: BpmnWorkflow, parts: list[_Part], old: LoadedDefinition, new: LoadedDefinition
) -> list[MigrationRefused]:
    found: list[MigrationRefused] = []
    for part in parts:
        if part.diff is None or part.spec_diff is None:
            found.append(
                MigrationRefused(
                    code="migration.subprocess_removed",
                    params={"process": part.name},
                )
            )
            continue
        changed = part.spec_diff.changed
        for task in part.workflow.get_tasks(state=OPEN | FINISHED, skip_subprocesses=True):
            spec = task.task_spec
            where = "open" if task.state & OPEN else "done"
            label = _label(spec)
            if task in part.diff.removed:
                code = "migration.open_step_removed" if where == "open" else "migration.done_step_removed"
                said = MOVE_SAID["open_step_removed" if where == "open" else "done_step_removed"]
                found.append(MigrationRefused(said.format(step=label), code=code, params={"step": spec.name}))
                continue
            aligned = part.diff.alignment.get(task)
            if aligned is not None and aligned.name != spec.name:
                found.append(
                    MigrationRefused(
                        MOVE_SAID["step_renamed"].format(step=label, to=aligned.name),
                        code="migration.step_renamed",
                        params={"step": spec.name, "to": aligned.name},
                    )
                )
            elif "typename" in changed.get(spec, []):
                found.append(
                    MigrationRefused(
                        MOVE_SAID["step_kind_changed"].format(step=label),
                        code="migration.step_kind_changed",
                        params={"step": spec.name},
                    )
                )
    if found:
        return _unique(found)
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        found.extend(_open_step_changes(task.task_spec.name, old, new))
    return _unique(found)


def _open_step_changes(step_id: str, old: LoadedDefinition, new: LoadedDefinition) -> list[MigrationRefused]:
    """What of an open step must not change under the person holding it: its role, its required fields."""
    before, after = old.steps.get(step_id), new.steps.get(step_id)
    if before is None or after is None:
        return []
    found = []
    if before.role != after.role:
        found.append(
            MigrationRefused(
                MOVE_SAID["role_changed"].format(step=after.name, before=before.role, after=after.role),
                code="migration.role_changed",
                params={"step": step_id, "from": before.role, "to": after.role},
            )
        )
    required_before = set((old.form(before)[0] or {}).get("required", []))
    required_after = set((new.form(after)[0] or {}).get("required", []))
    if required_before != required_after:
        added, removed = sorted(required_after - required_before), sorted(required_before - required_after)
        found.append(
            MigrationRefused(
                MOVE_SAID["form_required_changed"].format(
                    step=after.name,
                    added=MOVE_SAID["list"].join(added) or MOVE_SAID["none"],
                    removed=MOVE_SAID["list"].join(removed) or MOVE_SAID["none"],
                ),
                code="migration.form_required_changed",
                params={"step": step_id, "added": ", ".join(added), "removed": ", ".join(removed)},
            )
        )
    return found


def _unique(reasons: list[MigrationRefused]) -> list[MigrationRefused]:
    """One reason per code and step (a step that looped is many tasks)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for reason in reasons:
        mark = (reason.code, str(reason))
        if mark not in seen:
            seen.add(mark)
            kept.append(reason)
    return kept


def _migrate_state(workflow: BpmnWorkflow, parts: list[_Part], new: LoadedDefinition) -> None:
    """``migrate_workflow`` on the workflow and its subprocesses, keeping the waiting timers' times.

    ``migrate_workflow`` resets every ready and waiting task to re-predict what follows it; a reset
    timer would start counting again from now, so a timer whose spec did not change keeps the time it
    was set for.
    """
    for part in parts:
        assert part.diff is not None and part.spec_diff is not None
        changed = part.spec_diff.changed
        kept = {
            task.id: dict(task.internal_data)
            for task in part.workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)
            if task.task_spec not in changed and task.internal_data
        }
        migrate_workflow(part.diff, part.workflow, part.new_spec)
        for task_id, internal in kept.items():
            task = part.workflow.tasks.get(task_id)
            if task is not None and task.state == TaskState.WAITING:
                task.internal_data = internal
    workflow.subprocess_specs = new.subprocess_specs


def _rename_open_tasks(session: Session, instance_id: int, new: LoadedDefinition) -> None:
    """An open step kept under a new name shows the new version's name."""
    rows = session.execute(
        select(OpenTask.id, OpenTask.step_id, OpenTask.step_name).where(OpenTask.instance_id == instance_id)
    ).all()
    for task_id, step_id, step_name in rows:
        info = new.steps.get(step_id)
        if info is not None and info.name != step_name:
            session.execute(update(OpenTask).where(OpenTask.id == task_id).values(step_name=info.name))
