"""The lock order (matters in ascending id, then the violation) and what sweeps and racers see.

The interleaving that deadlocked two PostgreSQL schedulers: sweeper A fires two timers of violation V
in one transaction (its matter X, then V, V updated twice; the second update re-checks V's foreign key
to the rectification matter R), while a step of R (a sweeper's ``due:`` timer, a person completing a
rectification step) holds R and waits for V.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine import api
from engine.errors import InvalidState
from engine.persistence.db import begin_write, make_engine, make_sessionmaker
from engine.runtime import steps
from engine.supervision import timers
from engine.supervision.models import SupervisionTimer, Violation
from engine.supervision.rectification import _linked
from engine.supervision.sweep import fire_claimed
from tests.engine.supervision.conftest import T0
from tests.support import files

WAIT_S = 10.0
PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}


def _forced_with_rectification(world) -> dict:
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})
    violation = world.violations(instance, "step_forced")[0]
    assert violation["rectification_instance"] is not None
    return violation


def _backend_pid(session) -> int:
    return session.connection().execute(text("select pg_backend_pid()")).scalar_one()


def _wait_until_blocked(engine, pid: int, thread: threading.Thread) -> None:
    """Until the backend ``pid`` waits for a lock (or its thread already finished)."""
    deadline = time.monotonic() + WAIT_S
    with engine.connect() as conn:
        while time.monotonic() < deadline and thread.is_alive():
            waiting = conn.execute(
                text("select wait_event_type from pg_stat_activity where pid = :pid"), {"pid": pid}
            ).scalar()
            conn.rollback()
            if waiting == "Lock":
                return
            time.sleep(0.02)


@pytest.mark.postgres
def test_a_sweep_firing_two_violation_timers_and_a_rectification_step_do_not_deadlock(rectification_flow, db_url, now):
    if not db_url.startswith("postgresql"):
        pytest.skip("one writer at a time on SQLite: no row locks to order")
    world = rectification_flow
    violation = _forced_with_rectification(world)
    rectification = violation["rectification_instance"]
    at = now(T0 + timedelta(days=1))
    with world.sessions() as session, session.begin():
        for key, kind, payload in (
            (f"escalate:{violation['id']}:test", timers.ESCALATION, {"level": violation["level"]}),
            (f"rectify:{violation['id']}:test", timers.RECTIFY_DEADLINE, {}),
        ):
            timers.schedule(
                session,
                key=key,
                kind=kind,
                due_at=at - timedelta(minutes=1),
                violation_id=violation["id"],
                instance_id=violation["instance"],
                payload=payload,
            )
    engine_a, engine_b = make_engine(db_url), make_engine(db_url)
    errors: list[BaseException] = []
    pid_b: list[int] = []
    started_b = threading.Event()

    def step_of_the_rectification_matter() -> None:
        """A step of R: the matter's lock, then the violation it works on (``_linked``)."""
        try:
            with make_sessionmaker(engine_b)() as session, session.begin():
                pid_b.append(_backend_pid(session))
                started_b.set()
                steps.lock_instance(session, rectification)
                linked = _linked(session, rectification)
                assert linked is not None and linked.id == violation["id"]
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            started_b.set()

    try:
        with make_sessionmaker(engine_a)() as session:
            with session.begin():
                begin_write(session)
                escalation, deadline = session.scalars(
                    select(SupervisionTimer)
                    .where(SupervisionTimer.violation_id == violation["id"], SupervisionTimer.key.like("%:test"))
                    .order_by(SupervisionTimer.id)
                ).all()
                first, _ = fire_claimed(session, [escalation], at)
                b = threading.Thread(target=step_of_the_rectification_matter)
                b.start()
                assert started_b.wait(WAIT_S)
                if pid_b:
                    _wait_until_blocked(engine_a, pid_b[0], b)
                second, _ = fire_claimed(session, [deadline], at)
            b.join(WAIT_S * 2)
            assert not b.is_alive(), "the rectification step still waits"
    finally:
        engine_a.dispose()
        engine_b.dispose()
    assert errors == []
    assert [(f.kind, f.outcome, f.error) for f in first + second] == [
        (timers.ESCALATION, "fired", None),
        (timers.RECTIFY_DEADLINE, "fired", None),
    ]
    with world.sessions() as session:
        assert session.get(Violation, violation["id"]).level == "county"  # from the town, where a red warning starts


def test_the_losing_racer_of_one_task_gets_the_same_error_on_both_databases(world, db_url):
    """The loser waits for the winner's lock and then finds the task gone: ``task.not_open`` on SQLite
    and on PostgreSQL (there it used to be ``task.taken``)."""
    instance = world.start("mini_decision")
    task = world.task(instance, "propose")
    actor = world.holder(task.id)
    engine = make_engine(db_url)
    outcome: list[BaseException | None] = []
    pid: list[int] = []
    started = threading.Event()

    def loser() -> None:
        try:
            with make_sessionmaker(engine)() as session, session.begin():
                if engine.dialect.name != "sqlite":
                    pid.append(_backend_pid(session))
                started.set()
                api.complete(session, task.id, actor, PROPOSE)  # its first statement takes the write lock
            outcome.append(None)
        except BaseException as exc:  # checked below
            outcome.append(exc)
        finally:
            started.set()

    try:
        with world.sessions() as session, session.begin():
            files.complete(session, task.id, actor, PROPOSE)  # the winner, not yet committed
            thread = threading.Thread(target=loser)
            thread.start()
            assert started.wait(WAIT_S)
            if pid:
                _wait_until_blocked(engine, pid[0], thread)
            else:
                time.sleep(0.3)  # SQLite: the loser waits for the write lock
        thread.join(WAIT_S * 2)
    finally:
        engine.dispose()
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidState), outcome
    assert outcome[0].code == "task.not_open"


def test_a_sweep_also_fires_the_timers_it_made_due(world, now):
    """A yellow deadline long past schedules its red timer in the past: the same sweep fires it."""
    instance = world.start("mini_decision")
    late = T0 + timedelta(days=20)
    report = world.sweep(late)
    kinds = [(f.kind, f.outcome) for f in report.fired]
    assert ("task_due", "fired") in kinds and ("task_red", "fired") in kinds
    left = [t.key for t in world.timers(fired=False) if t.due_at.replace(tzinfo=None) <= late.replace(tzinfo=None)]
    assert left == []
    assert world.violations(instance, "step_overdue")[0]["severity"] == "red"


def test_the_scheduler_keeps_spiffworkflow_to_warnings(world, caplog):
    from engine.scheduler import quiet_libraries

    names = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "apscheduler")
    before = {name: logging.getLogger(name).level for name in names}
    try:
        logging.getLogger("spiff.task").setLevel(logging.INFO)  # even a child set to INFO on its own
        quiet_libraries()
        assert all(logging.getLogger(name).getEffectiveLevel() >= logging.WARNING for name in names)
        with caplog.at_level(logging.INFO):
            instance = world.start("mini_decision")
            world.complete(instance, "propose", PROPOSE)
        assert [r for r in caplog.records if r.name.startswith("spiff")] == []
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)
