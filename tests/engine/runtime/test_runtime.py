"""Engine steps through the API: transactions, conflicts, and state that survives restarts."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import api, clock, queries
from engine.errors import Conflict, FormInvalid, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.persistence.models import HistoryEvent, Matter, OpenTask
from engine.runtime import cache
from engine.runtime.steps import StepFailed
from tests.conftest import MINI

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
RESOLVE = {"members": 9, "present": 9, "votes_for": 9, "votes_against": 0, "abstain": 0}


@pytest.fixture
def deployed(demo_org):
    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
    return demo_org


def start(sessions, village="QX0101", actor="shangtang.secretary") -> int:
    with sessions() as session, session.begin():
        return api.start(session, "mini_decision", village, actor).instance_id


def open_task(sessions, instance_id: int) -> dict:
    with sessions() as session:
        return next(t for t in queries.open_tasks(session) if t.instance == instance_id)


def counts(sessions, instance_id: int) -> tuple[int, int, int]:
    with sessions() as session:
        events = session.scalar(select(func.count()).where(HistoryEvent.instance_id == instance_id))
        tasks = session.scalar(select(func.count()).where(OpenTask.instance_id == instance_id))
        revision = session.scalar(select(Matter.revision).where(Matter.id == instance_id))
        return events, tasks, revision


def test_concurrent_completions_of_one_task_one_wins(deployed):
    instance_id = start(deployed)
    task = open_task(deployed, instance_id)
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def attempt() -> None:
        barrier.wait()
        try:
            with deployed() as session, session.begin():
                api.complete(session, task.id, "shangtang.secretary", PROPOSE)
            outcomes.append("ok")
        except (Conflict, InvalidState) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("ok") == 1, outcomes
    assert len(outcomes) == 4
    with deployed() as session:
        completed = session.scalar(
            select(func.count()).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "task_completed")
        )
        assert completed == 1
        assert [t.step for t in queries.open_tasks(session) if t.instance == instance_id] == ["resolve"]
        assert api.verify_history(session).ok


def test_refused_steps_change_nothing(deployed):
    instance_id = start(deployed)
    task = open_task(deployed, instance_id)
    before = counts(deployed, instance_id)
    with pytest.raises(FormInvalid) as invalid:
        with deployed() as session, session.begin():
            api.complete(session, task.id, "shangtang.secretary", {"subject": "x", "amount_fen": 1.5})
    assert {e.field for e in invalid.value.errors} == {"subject", "amount_fen"}
    with pytest.raises(NotFound):  # another village's secretary does not see the matter at all
        with deployed() as session, session.begin():
            api.complete(session, task.id, "xiatang.secretary", PROPOSE)
    with pytest.raises(PermissionDenied):  # the chair sees it, but the step is the secretary's
        with deployed() as session, session.begin():
            api.complete(session, task.id, "shangtang.chair", PROPOSE)
    with pytest.raises(FormInvalid):
        with deployed() as session, session.begin():
            api.complete(session, task.id, "shangtang.secretary", ["not", "an", "object"])
    assert counts(deployed, instance_id) == before


def test_a_failing_gateway_rolls_the_whole_step_back(demo_org, tmp_path):
    folder = tmp_path / "mini"
    shutil.copytree(MINI.parent, folder)
    path = folder / MINI.name
    path.write_text(MINI.read_text(encoding="utf-8").replace("votes_for * 2 &gt; present", "ballots * 2 &gt; present"))
    with demo_org() as session, session.begin():
        api.deploy_file(session, path, "admin")
    instance_id = start(demo_org)
    with demo_org() as session, session.begin():
        api.complete(session, open_task(demo_org, instance_id).id, "shangtang.secretary", PROPOSE)
    resolve = open_task(demo_org, instance_id)
    before = counts(demo_org, instance_id)
    with pytest.raises(StepFailed) as failed:
        with demo_org() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", RESOLVE)
    assert "ballots" in str(failed.value)
    assert counts(demo_org, instance_id) == before
    # The in-memory workflow was not kept either: the task is still ready to complete.
    with pytest.raises(StepFailed):
        with demo_org() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", RESOLVE)


def test_state_survives_a_restart_mid_flow(deployed):
    instance_id = start(deployed)
    with deployed() as session, session.begin():
        api.complete(session, open_task(deployed, instance_id).id, "shangtang.secretary", PROPOSE)
    cache.clear()  # as after a restart: the next step restores the stored state
    with deployed() as session, session.begin():
        result = api.complete(session, open_task(deployed, instance_id).id, "shangtang.chair", RESOLVE)
    assert [t["step"] for t in result.opened] == ["disclose"]
    with deployed() as session, session.begin():
        result = api.complete(
            session, open_task(deployed, instance_id).id, "shangtang.chair", {"posted_on": "2026-11-20"}
        )
    assert result.status == "completed"


def test_a_change_by_another_process_is_not_overwritten_by_a_cached_workflow(deployed):
    instance_id = start(deployed)
    task = open_task(deployed, instance_id)
    with deployed() as session, session.begin():
        api.complete(session, task.id, "shangtang.secretary", PROPOSE)
    # Another process moves the matter on; this process's cached workflow is now stale.
    stale = cache._entries.get(instance_id)
    assert stale is not None
    resolve = open_task(deployed, instance_id)
    with deployed() as session, session.begin():
        api.complete(session, resolve.id, "shangtang.chair", RESOLVE)
    cache._entries[instance_id] = stale
    disclose = open_task(deployed, instance_id)
    with deployed() as session, session.begin():
        result = api.complete(session, disclose.id, "shangtang.chair", {"posted_on": "2026-11-20"})
    assert result.status == "completed"


def test_due_times_follow_the_clock_and_working_days(deployed):
    clock.clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # Wednesday before the National Day holiday
    try:
        instance_id = start(deployed)
        propose = open_task(deployed, instance_id)
        assert propose.due_at == "2026-10-03T02:00:00.000000Z"  # P3D, calendar days
        with deployed() as session, session.begin():
            api.complete(session, propose.id, "shangtang.secretary", PROPOSE)
        resolve = open_task(deployed, instance_id)
        # P5D working days from 30 Sep: 1-7 Oct are holidays, 10 Oct (Saturday) is worked:
        # 8, 9, 10, 12, 13 October; due at the end of 13 October, China time.
        assert resolve.due_at == "2026-10-13T15:59:59.000000Z"
        clock.clock.set(datetime(2026, 10, 14, tzinfo=UTC))
        with deployed() as session:
            assert queries.open_tasks(session)[0].overdue is True
    finally:
        clock.clock.set(None)


def _to_resolve(sessions) -> tuple[int, dict]:
    instance_id = start(sessions)
    with sessions() as session, session.begin():
        api.complete(session, open_task(sessions, instance_id).id, "shangtang.secretary", PROPOSE)
    return instance_id, open_task(sessions, instance_id)


def test_failed_checks_can_be_waived_with_a_reason_and_are_recorded(deployed, monkeypatch):
    from engine.workspace import waivers

    instance_id, resolve = _to_resolve(deployed)
    short = {"members": 30, "present": 12, "votes_for": 12, "votes_against": 0, "abstain": 0}
    with pytest.raises(PowerlistError) as refused:  # a statutory quorum admits no exception by default
        with deployed() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", short, waive_reason="台风天气，无法到会")
    assert refused.value.code == "check.not_waivable" and refused.value.params["check"] == "present"
    # A county whose waiver rules admit this exception records it with the reason.
    monkeypatch.setattr(waivers, "rules", lambda: {"default": True, "flows": {}})
    with pytest.raises(FormInvalid):
        with deployed() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", short)
    with pytest.raises(PowerlistError):  # a reason is required
        with deployed() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", short, waive_reason=" ")
    with pytest.raises(FormInvalid):  # schema errors are never waived
        with deployed() as session, session.begin():
            api.complete(session, resolve.id, "shangtang.chair", {"members": 30}, waive_reason="台风天气，无法到会")
    with deployed() as session, session.begin():
        api.complete(session, resolve.id, "shangtang.chair", short, waive_reason="台风天气，无法到会")
        event = [e for e in queries.history(session, instance_id) if e.step == "resolve"][0]
    assert event.kind == "task_completed"
    assert event.data["reason"] == "台风天气，无法到会"
    assert event.data["waived"] == [{"field": "present", "message": "实到人数不足应到人数的三分之二"}]


def test_only_privileged_users_force_a_step_and_must_say_why(deployed):
    instance_id, resolve = _to_resolve(deployed)
    with pytest.raises(PermissionDenied):
        with deployed() as session, session.begin():
            api.force(session, resolve.id, "shangtang.chair", "会议无法召开")
    with pytest.raises(NotFound):  # another town's agency does not see the matter
        with deployed() as session, session.begin():
            api.force(session, resolve.id, "xiling.agency", "会议无法召开")
    with pytest.raises(PowerlistError):
        with deployed() as session, session.begin():
            api.force(session, resolve.id, "dongxi.agency", "")
    with pytest.raises(StepFailed):  # the gateway after it needs the vote
        with deployed() as session, session.begin():
            api.force(session, resolve.id, "dongxi.agency", "会议无法召开")
    with deployed() as session, session.begin():
        result = api.force(session, resolve.id, "dongxi.agency", "会议无法召开", {"votes_for": 1, "present": 1})
    assert [t["step"] for t in result.opened] == ["disclose"]
    with deployed() as session:
        event = [e for e in queries.history(session, instance_id) if e.step == "resolve"][0]
    assert event.kind == "task_forced" and event.actor == "dongxi.agency"
    assert event.data["reason"] == "会议无法召开" and event.data["role"] == "committee_chair"


def test_attachments_come_only_from_uploads(deployed):
    """A caller-made attachment list (any digest, any filename) is refused, never recorded."""
    from engine.runtime.forms import validate_form

    schema = {"type": "object", "additionalProperties": False, "properties": {"subject": {"type": "string"}}}
    forged = {
        "subject": "x",
        "attachments": [
            {"sha256": "a" * 64, "filename": "联席会议记录（已签字）.jpg", "size": 10, "type": "image/jpeg"}
        ],
    }
    with pytest.raises(FormInvalid) as invalid:
        validate_form("s", schema, forged)
    assert [e.field for e in invalid.value.errors] == ["attachments"]
    instance_id = start(deployed)
    task = open_task(deployed, instance_id)
    before = counts(deployed, instance_id)
    with pytest.raises(FormInvalid) as invalid:
        with deployed() as session, session.begin():
            api.complete(session, task.id, "shangtang.secretary", dict(PROPOSE, attachments=forged["attachments"]))
    assert [e.field for e in invalid.value.errors] == ["attachments"]
    assert counts(deployed, instance_id) == before


def test_a_task_handed_to_someone_is_theirs_alone(deployed):
    from sqlalchemy import update

    instance_id = start(deployed)
    task = open_task(deployed, instance_id)
    with deployed() as session, session.begin():
        session.execute(update(OpenTask).where(OpenTask.id == task.id).values(assignee="someone.else"))
    with pytest.raises(PermissionDenied) as denied:
        with deployed() as session, session.begin():
            api.complete(session, task.id, "shangtang.secretary", PROPOSE)
    assert "someone.else" in str(denied.value)
