"""Backfill of deadline timers (``powerlist doctor``, ``powerlist init``) and concurrent ``init``."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from sqlalchemy import delete, select

from engine.supervision.backfill import backfill
from engine.supervision.models import SupervisionTimer
from tests.conftest import Cli
from tests.engine.supervision.conftest import T0


def _drop_timers(world, *keys: str) -> None:
    """What an old database looks like: the task is open, its deadline timers were never made."""
    with world.sessions() as session, session.begin():
        session.execute(delete(SupervisionTimer).where(SupervisionTimer.key.in_(keys)))


def _keys(world, task_id: str) -> set[str]:
    with world.sessions() as session:
        return set(session.scalars(select(SupervisionTimer.key).where(SupervisionTimer.task_id == task_id)))


def test_doctor_gives_an_old_open_task_its_deadline_timers_and_a_late_sweep_warns(world, cli: Cli):
    instance = world.start("mini_decision")
    task = world.task(instance).id
    _drop_timers(world, f"remind:{task}", f"due:{task}")

    found = cli("doctor", "--json", check=True).json()
    assert (found["fixed"], found["open_tasks"], found["timers"]) == (False, 1, 2)
    assert [(t["task"], t["instance"], sorted(t["added"])) for t in found["tasks"]] == [
        (task, instance, [f"due:{task}", f"remind:{task}"])
    ]
    assert _keys(world, task) == set()  # a report only

    fixed = cli("doctor", "--fix", "--json", check=True).json()
    assert fixed["fixed"] and fixed["timers"] == 2
    assert _keys(world, task) == {f"remind:{task}", f"due:{task}"}
    due = [t for t in world.timers(task_id=task) if t.kind == "task_due"][0]
    assert due.due_at.isoformat().startswith("2026-11-05T01:00")  # pl:timeLimit P3D from when it opened

    report = world.sweep(T0 + timedelta(days=365))  # a year overdue
    assert ("task_due", "fired") in [(f.kind, f.outcome) for f in report.fired]
    overdue = world.violations(instance, "step_overdue")
    # A year late it is red at once, and a red warning goes to the town (escalation.starts_at).
    assert [(v["severity"], v["level"], v["status"]) for v in overdue] == [("red", "town", "escalated")]

    # The red timer the due one made is lost too: the backfill makes it again, from the violation.
    world.sweep()
    red = f"red:{task}"
    _drop_timers(world, red)
    again = backfill(world.engine, fix=True)
    assert [t.added for t in again.tasks] == [[red]]
    world.sweep()
    assert world.detail(overdue[0]["id"])["severity"] == "red"

    assert backfill(world.engine, fix=True).timers == 0  # nothing twice
    assert "every one has its deadline timers" in cli("doctor", check=True).out


def test_init_backfills_what_is_missing(world, cli: Cli):
    instance = world.start("mini_decision")
    task = world.task(instance).id
    _drop_timers(world, f"due:{task}")
    assert backfill(world.engine, fix=False).timers == 1
    out = cli("init", check=True).out
    assert "deadline timers: 1 added to 1 of 1 open task(s)" in out
    assert _keys(world, task) == {f"remind:{task}", f"due:{task}"}


def test_concurrent_inits_on_a_fresh_database_all_succeed(db_url, tmp_path):
    cli = Cli(db_url, tmp_path)
    racers = [
        subprocess.Popen(
            [*cli.command, "init"],
            env=cli.env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    applied = [out for _, out, _ in results if "applied" in out]
    assert len(applied) == 1, results  # one upgraded, the others found it done
    assert all("deadline timers: 0 added" in out for _, out, _ in results)


def test_the_backfill_makes_the_timers_the_step_made_from_a_boundary_timer(world):
    from sqlalchemy import update

    from engine.persistence.models import OpenTask
    from tests.engine.supervision.conftest import TIMED

    world.deploy(TIMED)
    instance = world.start("timed_posting")
    task = world.task(instance, "prepare").id  # no pl:timeLimit: its PT48H boundary timer is the deadline

    def made() -> list[tuple]:
        rows = world.timers(task_id=task)
        return sorted((t.key, t.kind, t.due_at, t.payload) for t in rows)

    by_step = made()
    assert [key for key, *_ in by_step] == [f"due:{task}", f"remind:{task}"]
    _drop_timers(world, f"remind:{task}", f"due:{task}")
    with world.sessions() as session, session.begin():  # an old database kept no deadline for it
        session.execute(update(OpenTask).where(OpenTask.id == task).values(due_at=None))

    report = backfill(world.engine, fix=True)
    assert [(t.task_id, sorted(t.added)) for t in report.tasks] == [(task, [f"due:{task}", f"remind:{task}"])]
    assert made() == by_step
    assert world.task(instance, "prepare").due_at == "2026-11-04T01:00:00.000000Z"
