"""Several sweepers racing for the same due timers, and a sweeper killed after claiming: each timer fires once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from engine.persistence.db import make_engine
from engine.persistence.models import HistoryEvent
from engine.supervision.models import Violation, ViolationEvent
from engine.supervision.sweep import sweep
from tests.conftest import ROOT
from tests.engine.supervision.conftest import T0, TIMED

NOTE = {"note": "材料已备齐"}
LATER = T0 + timedelta(days=3, hours=1)  # every propose deadline and every posting timer is due


def _matters(world, mini: int, timed: int) -> list[int]:
    world.deploy(TIMED)
    timed_ids = []
    for _ in range(mini):
        world.start("mini_decision")
    for _ in range(timed):
        instance = world.start("timed_posting")
        world.complete(instance, "prepare", NOTE)
        timed_ids.append(instance)
    return timed_ids


def _due_ids(world) -> set[int]:
    return {t.id for t in world.timers() if not t.fired and t.due_at.replace(tzinfo=None) <= LATER.replace(tzinfo=None)}


def _fired_once(world, timed_ids: list[int], expected: set[int], fired: list[int]) -> None:
    counts = Counter(fired)
    assert [i for i, n in counts.items() if n > 1] == []
    assert set(counts) == expected
    assert all(t.fired for t in world.timers() if t.id in expected)
    with world.sessions() as session:
        raised = session.scalar(select(func.count()).where(ViolationEvent.kind == "raised"))
        assert raised == session.scalar(select(func.count()).select_from(Violation))
        for instance in timed_ids:
            posting = session.scalar(
                select(func.count()).where(
                    HistoryEvent.instance_id == instance,
                    HistoryEvent.kind == "timer_fired",
                    HistoryEvent.step_id == "posting_period",
                )
            )
            assert posting == 1


def test_racing_sweepers_fire_each_timer_once(world, db_url, now):
    timed_ids = _matters(world, mini=12, timed=4)
    now(LATER)
    expected = _due_ids(world)
    assert len(expected) > 30
    barrier = threading.Barrier(4)
    fired: list[int] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        engine = make_engine(db_url)  # each sweeper has its own connections
        try:
            barrier.wait()
            report = sweep(engine, batch=3)
            fired.extend(f.id for f in report.fired)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # A timer whose matter another sweeper was stepping is left for the next sweep, never fired twice.
    fired += [f.id for f in world.sweep().fired]
    _fired_once(world, timed_ids, expected, fired)
    assert world.sweep().fired == []


CLAIM_AND_HANG = """
import json, sys, time
from datetime import datetime
from engine import clock
from engine.persistence.db import make_engine, make_sessionmaker
from engine.supervision.sweep import claim_due
clock.clock.set(datetime.fromisoformat(sys.argv[2]))
sessions = make_sessionmaker(make_engine(sys.argv[1]))
with sessions() as session, session.begin():
    claimed = claim_due(session, clock.now(), 5)
    on_server = "postgresql" in sys.argv[1]
    backend = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar() if on_server else None
    print(json.dumps({"claimed": [t.id for t in claimed], "backend": backend}), flush=True)
    time.sleep(120)
"""


def _until_server_let_go(world, backend: int | None) -> None:
    """PostgreSQL rolls a killed client's transaction back once it sees the connection gone, which
    on a busy machine can take a moment after the process died: wait for that, at most 30 s."""
    if backend is None:
        return
    deadline = time.monotonic() + 30
    with world.engine.connect() as conn:
        while conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend,)).scalar():
            assert time.monotonic() < deadline, "the killed sweeper's connection stayed open"
            time.sleep(0.05)
            conn.rollback()


def test_a_sweeper_killed_after_claiming_loses_nothing(world, db_url, now):
    timed_ids = _matters(world, mini=4, timed=2)
    now(LATER)
    expected = _due_ids(world)
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, db_url, LATER.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        told = json.loads(line)
        claimed = set(told["claimed"])
        assert len(claimed) == 5
        fired = []
        if world.engine.dialect.name == "postgresql":
            # The claimed rows are skipped, the rest fire now.
            fired += [f.id for f in world.sweep().fired]
            assert claimed.isdisjoint(fired) and set(fired) == expected - claimed
    finally:
        child.kill()  # dies holding its claim: its transaction is rolled back
        child.wait(30)
    _until_server_let_go(world, told.get("backend"))
    fired += [f.id for f in world.sweep().fired]
    _fired_once(world, timed_ids, expected, fired)


def test_the_background_scheduler_fires_what_is_due(world, now):
    import time
    from datetime import UTC, datetime

    from engine import clock
    from engine.scheduler import start_scheduler

    now(datetime.now(UTC) - timedelta(days=4))  # a matter whose three-day step is overdue in real time
    instance = world.start("mini_decision")
    clock.clock.set(None)
    scheduler = start_scheduler(world.engine, interval_s=0.2)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not world.violations(instance, "step_overdue"):
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert [v["code"] for v in world.violations(instance)] == ["step_overdue"]
    states = {t.kind: (t.fired, t.outcome) for t in world.timers(instance_id=instance)}
    assert states == {
        "task_reminder": (True, "obsolete"),
        "task_due": (True, "fired"),
        # still ahead: red three days after the deadline, escalation and rectification later
        "task_red": (False, None),
        "escalation": (False, None),
        "rectify_deadline": (False, None),
    }


def test_a_broken_timer_is_retried_then_kept_as_failed_without_holding_back_the_others(world, now):
    from sqlalchemy import update

    from engine.persistence.models import Matter
    from engine.runtime import cache
    from engine.supervision import timers

    broken, healthy = world.start("mini_decision"), world.start("mini_decision")
    with world.sessions() as session, session.begin():
        session.execute(update(Matter).where(Matter.id == broken).values(state=b"not a state"))
        timers.schedule(session, key="bpmn:test", kind=timers.BPMN_TIMER, due_at=T0, instance_id=broken)
    cache.clear()
    report = world.sweep(T0 + timedelta(days=3, seconds=1))
    outcomes = {f.key: f.outcome for f in report.fired}
    assert outcomes["bpmn:test"] == "retry" and report.fired[0].error
    # The broken matter's own deadline does not need its state: both overdue warnings are raised.
    assert {v["instance"] for v in world.violations(code="step_overdue")} == {broken, healthy}
    for day in range(4, 9):
        world.sweep(T0 + timedelta(days=day))
    [failed] = world.timers(key="bpmn:test")
    assert (failed.fired, failed.outcome, failed.attempts) == (True, "failed", 5)
    assert failed.last_error
