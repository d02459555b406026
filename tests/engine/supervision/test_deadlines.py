"""Deadlines of open steps: blue reminder, yellow when overdue, red past the threshold, late completion."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.supervision.conftest import T0

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
DUE = T0 + timedelta(days=3)  # mini_decision: propose has pl:timeLimit P3D


def test_an_ignored_step_turns_blue_then_yellow_then_red_each_warning_once(world, now):
    world.sole_holders("shangtang.secretary")
    instance = world.start("mini_decision")
    assert world.task(instance).due_at == "2026-11-05T01:00:00.000000Z"

    report = world.sweep(T0 + timedelta(days=2, hours=10))  # 80% of three days is used
    assert [(f.kind, f.outcome) for f in report.fired] == [("task_reminder", "fired")]
    assert [(v["code"], v["severity"], v["points"]) for v in world.violations(instance)] == [
        ("step_due_soon", "blue", 0)
    ]
    assert world.sweep().fired == []  # nothing fires twice

    report = world.sweep(DUE + timedelta(seconds=1))
    assert [(f.kind, f.outcome) for f in report.fired] == [("task_due", "fired")]
    overdue = world.violations(instance, "step_overdue")[0]
    assert (overdue["severity"], overdue["points"], overdue["status"]) == ("yellow", 1, "open")
    assert overdue["owner_role"] == "party_secretary" and overdue["responsible_user"] == "shangtang.secretary"
    assert world.violations(instance, "step_due_soon")[0]["status"] == "closed"  # superseded by the yellow one

    world.sweep(DUE + timedelta(days=3))  # red_after P3D in the default rule set
    overdue = world.detail(overdue["id"])
    assert (overdue["severity"], overdue["points"]) == ("red", 3)
    assert [e["kind"] for e in overdue["history"]][:2] == ["raised", "upgraded"]
    # Without a deployed rectification flow the violation says so and waits for its rectification deadline.
    assert "rectification_unavailable" in [e["kind"] for e in overdue["history"]]

    now(DUE + timedelta(days=3, hours=2))
    world.complete(instance, "propose", PROPOSE)
    overdue = world.detail(overdue["id"])
    assert overdue["status"] == "rectified" and overdue["history"][-1]["kind"] == "step_completed"
    assert world.violations(instance, "step_completed_late") == []  # one violation per late step
    assert len(world.violations(instance)) == 2


def test_a_step_done_late_between_two_sweeps_is_still_caught(world, now):
    instance = world.start("mini_decision")
    now(DUE + timedelta(hours=5))
    world.complete(instance, "propose", PROPOSE, actor="shangtang.secretary")
    late = world.violations(instance, "step_completed_late")
    assert len(late) == 1
    assert late[0]["responsible_user"] == "shangtang.secretary" and late[0]["severity"] == "yellow"
    assert "2026-11-05 09:00" in late[0]["message"]
    report = world.sweep(DUE + timedelta(hours=6))
    # The reminder and the deadline of the finished step find nothing to warn about.
    assert {(f.kind, f.outcome) for f in report.fired} >= {("task_due", "obsolete"), ("task_reminder", "obsolete")}
    assert world.violations(instance, "step_overdue") == []


def test_a_reminder_is_closed_when_the_step_is_done_in_time(world, now):
    instance = world.start("mini_decision")
    world.sweep(T0 + timedelta(days=2, hours=12))
    now(T0 + timedelta(days=2, hours=13))
    world.complete(instance, "propose", PROPOSE)
    reminder = world.violations(instance, "step_due_soon")[0]
    assert (reminder["status"], reminder["outcome"]) == ("closed", "handled")
    world.sweep(DUE + timedelta(minutes=1))
    assert [v["code"] for v in world.violations(instance)] == ["step_due_soon"]
    resolve = world.task(instance, "resolve")
    # The next step's deadline is in working days (P5D, pl:calendar="working"): its timers follow it.
    due = [t for t in world.timers(task_id=resolve.id) if t.kind == "task_due"]
    assert len(due) == 1 and due[0].due_at.isoformat().startswith("2026-11-11T15:59:59")
