"""Sweep speed with a large backlog: 1,000,000 open tasks and 100,000 waiting timers, 1,000 of them due.

    python -m bench.timers [--db URL] [--tasks N] [--timers N] [--due N] [--json]

Prints one JSON object: ``sweep_ms`` (one sweep firing every due timer: a yellow overdue warning
each), ``idle_sweep_ms`` (median sweep with nothing due), ``fire_lag_s_p99`` (due time to fired,
with the background scheduler running and timers falling due over a few seconds), the counts and
``db``. Targets: idle sweep at most 50 ms, fire lag at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bench.database import bench_database
from engine import bootstrap, clock
from engine.history.chain import GENESIS
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import DefinitionVersion, Matter, OpenTask, OrgUnit
from engine.scheduler import start_scheduler
from engine.supervision.models import SupervisionTimer
from engine.supervision.sweep import sweep

FLOW = Path(__file__).resolve().parent.parent / "tests" / "data" / "mini" / "mini_decision.bpmn"
TASKS_PER_INSTANCE = 10
CHUNK = 50_000
LAG_TIMERS = 200


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bulk(db_engine, table, rows: Iterator[dict]) -> None:
    """executemany on SQLite; COPY on PostgreSQL."""
    if db_engine.dialect.name == "postgresql":
        with db_engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            columns = None
            for chunk in _chunks(rows):
                columns = columns or list(chunk[0])
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row.values()])
        return
    with db_engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(table.insert(), chunk)


def fill(db_engine, sessions, tasks: int, timers: int, due: int, now: datetime) -> list[str]:
    """Instances with open tasks, and timers on some of those tasks; returns the tasks left without timers."""
    with sessions() as session:
        definition = session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.key == "mini_decision"))
        villages = list(session.scalars(select(OrgUnit.id).where(OrgUnit.level == Level.VILLAGE).order_by(OrgUnit.id)))
        first_id = (session.scalar(select(func.max(Matter.id))) or 0) + 1
    instances = tasks // TASKS_PER_INSTANCE
    _bulk(
        db_engine,
        Matter.__table__,
        (
            {
                "id": first_id + i,
                "definition_version_id": definition,
                "village_id": villages[i % len(villages)],
                "title": "基准测试事项",
                "status": MatterStatus.RUNNING,
                "revision": 1,
                "state": b"",
                "history_seq": 0,
                "history_head": GENESIS,
                "started_by": "bench",
                "started_at": now - timedelta(days=30),
                "ended_at": None,
            }
            for i in range(instances)
        ),
    )
    task_ids = [str(uuid.UUID(int=random.getrandbits(128))) for _ in range(tasks)]
    _bulk(
        db_engine,
        OpenTask.__table__,
        (
            {
                "id": task_ids[n],
                "engine_task_id": task_ids[n],
                "instance_id": first_id + n // TASKS_PER_INSTANCE,
                "step_id": "propose",
                "step_name": "提议",
                "role": "party_secretary",
                "org_unit_id": villages[(n // TASKS_PER_INSTANCE) % len(villages)],
                "opened_at": now - timedelta(days=30),
                "due_at": now + timedelta(days=30),
                "assignee": None,
            }
            for n in range(tasks)
        ),
    )
    step = max(1, tasks // timers)
    with_timer = list(range(0, tasks, step))[:timers]
    _bulk(
        db_engine,
        SupervisionTimer.__table__,
        (
            {
                "key": f"due:{task_ids[n]}",
                "kind": "task_due",
                "due_at": now - timedelta(seconds=random.uniform(1, 3600))
                if k < due
                else now + timedelta(seconds=random.uniform(600, 30 * 86400)),
                "fired": False,
                "fired_at": None,
                "outcome": None,
                "attempts": 0,
                "last_error": None,
                "instance_id": first_id + n // TASKS_PER_INSTANCE,
                "task_id": task_ids[n],
                "violation_id": None,
                "payload": {"item": "mini_decision", "step": "propose", "step_name": "提议", "role": "party_secretary"},
            }
            for k, n in enumerate(with_timer)
        ),
    )
    taken = set(with_timer)
    return [task_ids[n] for n in range(tasks) if n not in taken][: LAG_TIMERS * 2]


def fire_lag(db_engine, sessions, spare_tasks: list[str]) -> list[float]:
    """Timers falling due over the next few seconds while the scheduler runs; seconds from due to fired."""
    with sessions() as session:
        instances = dict(
            session.execute(select(OpenTask.id, OpenTask.instance_id).where(OpenTask.id.in_(spare_tasks))).all()
        )
    start = datetime.now(UTC)
    keys = []
    with sessions() as session, session.begin():
        for task_id in spare_tasks[:LAG_TIMERS]:
            key = f"due:{task_id}"
            session.add(
                SupervisionTimer(
                    key=key,
                    kind="task_due",
                    due_at=start + timedelta(seconds=random.uniform(1, 6)),
                    fired=False,
                    attempts=0,
                    instance_id=instances[task_id],
                    task_id=task_id,
                    payload={
                        "item": "mini_decision",
                        "step": "propose",
                        "step_name": "提议",
                        "role": "party_secretary",
                    },
                )
            )
            keys.append(key)
    scheduler = start_scheduler(db_engine)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with sessions() as session:
                waiting = session.scalar(
                    select(func.count()).where(SupervisionTimer.key.in_(keys), SupervisionTimer.fired == False)  # noqa: E712
                )
            if not waiting:
                break
    finally:
        scheduler.shutdown(wait=True)
    with sessions() as session:
        rows = session.execute(
            select(SupervisionTimer.due_at, SupervisionTimer.fired_at).where(SupervisionTimer.key.in_(keys))
        )
        return [
            (clock.as_utc(fired) - clock.as_utc(due)).total_seconds() if fired else float("inf") for due, fired in rows
        ]


def main(argv: list[str] | None = None) -> dict:
    bootstrap()  # the hooks and sources a real process has: supervision watches every step
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    clock.install()
    random.seed(7)
    with bench_database(args.db, FLOW) as (db_engine, sessions):
        result = run(db_engine, sessions, args)
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


def run(db_engine, sessions, args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    spare = fill(db_engine, sessions, args.tasks, args.timers, args.due, datetime.now(UTC))
    fill_s = time.perf_counter() - began
    if db_engine.dialect.name == "postgresql":
        with db_engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    began = time.perf_counter()
    report = sweep(db_engine)
    sweep_ms = (time.perf_counter() - began) * 1000
    fired = sum(1 for f in report.fired if f.outcome == "fired")

    idle = []
    for _ in range(21):
        began = time.perf_counter()
        idle_report = sweep(db_engine)
        idle.append((time.perf_counter() - began) * 1000)
        assert not idle_report.fired, "an idle sweep fired something"

    lags = fire_lag(db_engine, sessions, spare)
    result = {
        "sweep_ms": round(sweep_ms, 1),
        "fired": fired,
        "idle_sweep_ms": round(statistics.median(idle), 3),
        "idle_sweep_ms_max": round(max(idle), 3),
        "fire_lag_s_p99": round(statistics.quantiles(lags, n=100)[98], 3),
        "fire_lag_s_max": round(max(lags), 3),
        "open_tasks": args.tasks,
        "waiting_timers": args.timers,
        "due_timers": args.due,
        "fill_s": round(fill_s, 1),
        "db": db_engine.dialect.name,
    }
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
