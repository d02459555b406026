"""BPMN timer events (boundary and intermediate) fire from the sweep, from rows in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.supervision import rules
from tests.engine.supervision.conftest import T0, TIMED

NOTE = {"note": "材料已备齐"}
# Rule-set default for a step the BPMN gives no limit: five working days.
IMPLEMENT_LIMIT = """
supervision:
  deadlines:
    - {item: timed_posting, step: implement, limit: P5D, calendar: working}
"""


@pytest.fixture
def timed(world):
    world.deploy(TIMED)
    with world.sessions() as session, session.begin():
        rules.activate(session, IMPLEMENT_LIMIT, "admin", "QX", "county.yaml")
    return world


def _timer_events(world, instance: int) -> list[str]:
    return [e.step for e in world.history(instance) if e.kind == "timer_fired"]


def test_a_boundary_timer_gives_the_deadline_and_an_intermediate_timer_fires_from_the_sweep(timed, now):
    world = timed
    instance = world.start("timed_posting")
    # No pl:timeLimit: the interrupting PT48H boundary timer on the step is its deadline.
    assert world.task(instance, "prepare").due_at == "2026-11-04T01:00:00.000000Z"
    now(T0 + timedelta(hours=1))
    world.complete(instance, "prepare", NOTE)
    waiting = [t for t in world.timers(instance_id=instance, kind="bpmn_timer") if not t.fired]
    # The cancelled boundary timer's row stays; the sweep will find nothing to fire for it.
    assert sorted(t.payload["event"] for t in waiting) == ["posting_period", "prepare_timeout"]

    report = world.sweep(T0 + timedelta(days=3))  # the cancelled boundary timer is due, the posting not yet
    assert ("bpmn_timer", "obsolete") in [(f.kind, f.outcome) for f in report.fired]
    assert _timer_events(world, instance) == []

    report = world.sweep(T0 + timedelta(days=3, hours=1, seconds=1))  # posting period P3D is over
    assert [(f.kind, f.outcome) for f in report.fired if f.kind == "bpmn_timer"] == [("bpmn_timer", "fired")]
    assert _timer_events(world, instance) == ["posting_period"]
    implement = world.task(instance, "implement")
    # The rule set's limit for implement: five working days from Thursday 5 November (China time).
    assert implement.due_at == "2026-11-12T15:59:59.000000Z"
    assert world.sweep().fired == []


def test_an_interrupting_boundary_timer_moves_an_ignored_step_on(timed):
    world = timed
    instance = world.start("timed_posting")
    report = world.sweep(T0 + timedelta(hours=48, seconds=1))
    fired = [(f.kind, f.outcome) for f in report.fired]
    assert fired.index(("task_due", "fired")) < fired.index(("bpmn_timer", "fired"))  # due order
    assert _timer_events(world, instance) == ["prepare_timeout"]
    assert [t.step for t in world.tasks(instance)] == ["take_over"]
    # The step's deadline passed before the sweep: no stale blue reminder, one yellow warning.
    assert [v["code"] for v in world.violations(instance)] == ["step_overdue"]


def test_after_downtime_missed_timers_fire_once_each_in_due_order(timed, now):
    world = timed
    instances = []
    for hour in range(3):
        now(T0 + timedelta(hours=hour))
        instance = world.start("timed_posting")
        world.complete(instance, "prepare", NOTE)
        instances.append(instance)
    report = world.sweep(T0 + timedelta(days=10))  # back after a week down
    posting = [f for f in report.fired if f.kind == "bpmn_timer" and f.outcome == "fired"]
    assert [f.instance_id for f in posting] == instances
    assert [f.due_at for f in posting] == sorted(f.due_at for f in posting)
    for instance in instances:
        assert _timer_events(world, instance) == ["posting_period"]
        assert [t.step for t in world.tasks(instance)] == ["implement"]
    assert all(t.fired for t in world.timers(kind="bpmn_timer"))
    assert [f for f in world.sweep().fired if f.kind == "bpmn_timer"] == []
