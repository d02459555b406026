"""Racing ``powerlist scheduler`` processes on PostgreSQL: every timer fires once, and none deadlocks.

The interleaving that deadlocked them (tests/engine/supervision/test_lock_order.py walks it step by step): scheduler A
fires ``escalate:V`` and later ``rectify:V`` in one batch (V's matter X, then V, V updated twice;
the second update re-checks V's foreign key to its rectification matter R), while scheduler B fires
the ``due:`` timer of R's task (R, then V). The timers are laid out so that this can happen in every
pair of batches: each batch holds the escalations of its own group of violations, then the ``due:``
timers of the previous group's rectification tasks, then the rectification deadlines of its own
group. A start gun (a table lock held until every scheduler waits on it) makes the schedulers claim
their first batches at the same moment.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from engine import api
from engine.history.verify import verify as verify_history
from engine.persistence.models import OpenTask
from engine.supervision import timers, violation_chain
from engine.supervision.models import SupervisionTimer, Violation, ViolationEvent
from engine.supervision.sweep import BATCH
from tests.conftest import PG_AVAILABLE, PG_URL, Cli
from tests.engine.supervision.conftest import STARTER, T0, VILLAGE

SCHEDULERS = 3
GROUP = BATCH // 3  # violations whose three timers fill one batch
AT = T0 + timedelta(days=1)  # the schedulers' fixed clock: due are only the timers laid out below
DUE = AT - timedelta(minutes=1)
WAIT_S = 15.0
STOP_S = 3.0
PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
FORCED = "会议无法召开"
FIRED_LINE = re.compile(r"sweep fired (\d+) timer")
APPLICATION = "racing-scheduler"  # the schedulers' connections, as pg_stat_activity names them


@pytest.fixture
def db_url() -> Iterator[str]:
    """A database of its own on the PostgreSQL server (dropped afterwards), so that its deadlock
    counter counts only the schedulers' deadlocks; the fixtures of the supervision tests build on it."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    name = f"t_racing_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _violations_with_rectification(world, count: int) -> list[Violation]:
    """``count`` matters whose first step was forced: a red violation each, its rectification matter started."""
    for first in range(0, count, GROUP):
        with world.sessions() as session, session.begin():
            for _ in range(min(GROUP, count - first)):
                instance = api.start(session, "mini_decision", VILLAGE, STARTER).instance_id
                task = session.scalar(
                    select(OpenTask.id).where(OpenTask.instance_id == instance, OpenTask.step_id == "propose")
                )
                api.force(session, task, "dongxi.agency", FORCED, PROPOSE)
    with world.sessions() as session:
        found = list(session.scalars(select(Violation).where(Violation.code == "step_forced").order_by(Violation.id)))
    assert len(found) == count and all(v.rectification_instance_id is not None for v in found)
    return found


def _timer(session, *where) -> int:
    return session.scalars(select(SupervisionTimer.id).where(*where)).one()


def _lay_out(session, violations: list[Violation]) -> list[int]:
    """Make each violation's escalation, a rectification deadline and its rectification task's ``due:``
    timer due within a millisecond, batch k holding the escalations of group k, the ``due:`` timers of
    group k-1, then the rectification deadlines of group k; returns the timer ids, earliest first."""
    escalation, deadline, due = {}, {}, {}
    for violation in violations:
        # A violation with a rectification flow watches no deadline of its own; give it one.
        timers.schedule(
            session,
            key=f"rectify:{violation.id}",
            kind=timers.RECTIFY_DEADLINE,
            due_at=DUE,
            violation_id=violation.id,
            instance_id=violation.instance_id,
            payload={},
        )
        escalation[violation.id] = _timer(
            session, SupervisionTimer.violation_id == violation.id, SupervisionTimer.kind == timers.ESCALATION
        )
        deadline[violation.id] = _timer(session, SupervisionTimer.key == f"rectify:{violation.id}")
        due[violation.id] = _timer(
            session,
            SupervisionTimer.instance_id == violation.rectification_instance_id,
            SupervisionTimer.kind == timers.TASK_DUE,
        )
    groups = [violations[i : i + GROUP] for i in range(0, len(violations), GROUP)]
    order: list[int] = []
    for k, group in enumerate(groups):
        order += [escalation[v.id] for v in group]
        order += [due[v.id] for v in groups[k - 1]]  # the first batch takes the last group's: every batch races
        order += [deadline[v.id] for v in group]
    assert len(set(order)) == 3 * len(violations)
    for position, timer_id in enumerate(order):
        session.execute(
            update(SupervisionTimer)
            .where(SupervisionTimer.id == timer_id)
            .values(due_at=DUE + timedelta(microseconds=position))
        )
    others = session.scalar(
        select(func.count()).where(SupervisionTimer.id.not_in(order), SupervisionTimer.due_at <= AT)
    )
    assert others == 0  # nothing else is due
    return order


def _deadlocks(engine) -> int:
    """Deadlocks PostgreSQL detected in this database so far."""
    with engine.connect() as conn:
        conn.execute(text("select pg_stat_clear_snapshot()"))
        return conn.execute(
            text("select deadlocks from pg_stat_database where datname = current_database()")
        ).scalar_one()


def _waiting_for(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("select count(*) from pg_locks where relation = cast(:table as regclass) and not granted"),
            {"table": table},
        ).scalar_one()


def _due_left(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(SupervisionTimer.fired == False, SupervisionTimer.due_at <= AT)  # noqa: E712
        ).scalar_one()


def _start(db_url: str, workdir: Path, logs: list[Path]) -> list[subprocess.Popen]:
    """One ``powerlist scheduler`` per log file, on the fixed clock ``AT``."""
    cli = Cli(
        make_url(db_url).update_query_dict({"application_name": APPLICATION}).render_as_string(hide_password=False),
        workdir,
    )
    env = {**cli.env, "POWERLIST_NOW": AT.isoformat(), "POWERLIST_ALLOW_SIMULATED_TIME": "1"}
    processes = []
    for log in logs:
        with log.open("w") as out:
            processes.append(
                subprocess.Popen(
                    [*cli.command, "scheduler", "--interval", "0.2"],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=cli.workdir,
                )
            )
    return processes


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (a scheduler ends its sweep and exits); kill those still stuck a few seconds later."""
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_S)


def _gone(engine) -> None:
    """Until the schedulers' connections have ended (each reports its deadlock count as it ends)."""
    deadline = time.monotonic() + STOP_S
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                text("select count(*) from pg_stat_activity where application_name = :name"), {"name": APPLICATION}
            ).scalar_one()
            conn.rollback()
            if not left:
                return
            time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.slow
def test_racing_schedulers_fire_every_timer_once_without_deadlock(rectification_flow, db_url, tmp_path: Path):
    world = rectification_flow
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(SCHEDULERS)]
    # Started first, they find nothing due on their clock while the matters are made.
    processes = _start(db_url, tmp_path, logs)
    try:
        violations = _violations_with_rectification(world, SCHEDULERS * GROUP)
        deadlocks_before = _deadlocks(world.engine)
        with world.sessions() as session, session.begin():
            # The start gun: the schedulers' next probe waits for this lock; all see the timers at once.
            session.execute(text("lock table supervision_timer in access exclusive mode"))
            order = _lay_out(session, violations)
            deadline = time.monotonic() + WAIT_S
            while _waiting_for(world.engine, "supervision_timer") < SCHEDULERS:
                assert all(p.poll() is None for p in processes), [log.read_text() for log in logs]
                assert time.monotonic() < deadline, "the schedulers do not probe for due timers"
                time.sleep(0.05)
        deadline = time.monotonic() + WAIT_S
        # Until every due timer fired (one that failed is put off past the fixed clock), or a deadlock.
        while _due_left(world.engine) and time.monotonic() < deadline:
            if any("deadlock detected" in log.read_text() for log in logs):
                break
            time.sleep(0.1)
    finally:
        _stop(processes)
    _gone(world.engine)
    outputs = [log.read_text() for log in logs]

    assert [o for o in outputs if "deadlock detected" in o] == []
    assert [o for o in outputs if "Traceback" in o] == []
    assert all(FIRED_LINE.search(o) for o in outputs), outputs  # all of them raced
    with world.sessions() as session:
        laid_out = list(session.scalars(select(SupervisionTimer).where(SupervisionTimer.id.in_(order))))
        assert [t.key for t in laid_out if not t.fired] == []
        assert [(t.key, t.outcome, t.attempts, t.last_error) for t in laid_out if t.attempts or t.last_error] == []
        assert {t.outcome for t in laid_out} <= {"fired", "obsolete"}
        # Each scheduler logs how many timers it fired: one fired by two schedulers would count twice.
        assert sum(int(n) for o in outputs for n in FIRED_LINE.findall(o)) == len(order)
        # In any order a red violation goes up once (it starts with the town: escalation.starts_at,
        # then the county); the timers after the one that moved it found it at the top and noted it
        # overdue instead (both others when its escalation came first, else the one left).
        escalated_first = {t.violation_id for t in laid_out if t.kind == timers.ESCALATION and t.outcome == "fired"}
        for violation in violations:
            kinds = list(
                session.scalars(select(ViolationEvent.kind).where(ViolationEvent.violation_id == violation.id))
            )
            assert kinds.count("escalated") == 1, (violation.id, kinds)
            overdue = 1 + (violation.id in escalated_first)
            assert kinds.count("rectification_overdue") == overdue, (violation.id, kinds)
            assert session.get(Violation, violation.id).level == "county"
        assert verify_history(session).ok
        assert violation_chain.verify(session).ok
    assert _deadlocks(world.engine) - deadlocks_before == 0
