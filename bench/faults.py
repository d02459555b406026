"""kill -9 at random moments while worker processes step matters; then nothing acknowledged may be
missing, nothing done twice, every chain intact and every open-task index true to its workflow.

    python -m bench.faults [--db URL|sqlite|postgres|both] [--steps N] [--workers N] [--json]

Each worker process starts matters of the shipped flows' example paths (those citing no register
decision and taking each step once) and does their steps one transaction at a time, as the step's
holder. After each commit it appends a line to its own log (``start <matter> <flow> <path>`` or
``step <matter> <step>``), written with one ``write`` and flushed, so the log holds exactly the
steps the database acknowledged (a kill between the commit and the write only leaves a step out).
The harness kills a random worker with SIGKILL every 0.1–1 s and starts it again; a restarted
worker first carries on with its running matters, reading their open step from the database. After
``--steps`` acknowledged steps every worker is killed and the database is checked:

- ``steps_lost``: acknowledged starts with no matter, acknowledged steps with no completion event;
- ``steps_doubled``: a step completed more than once in one matter, an event seq used twice;
- ``chains_failing``: matters whose history does not verify, violations whose chain does not;
- ``open_tasks_inconsistent``: matters whose open-task rows are not the ready user tasks of their
  saved workflow (none for an ended matter).

Printed per database: ``kills``, ``steps``, ``matters`` and those four counts (all must be 0).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import county
from bench.database import fresh_database
from engine import bootstrap
from engine.history.events import EventKind
from engine.persistence.enums import MatterStatus

PG_URL = os.environ.get("POWERLIST_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FORK = multiprocessing.get_context("fork")


@cache
def paths() -> dict[tuple[str, str], Any]:
    """The example paths a worker follows: no cited decision, no step taken twice."""
    found = {}
    for key, path in county.example_paths():
        steps = [s.step for s in path.steps]
        if not path.cited() and len(set(steps)) == len(steps):
            found[key, path.name] = path
    return found


# --- the worker -----------------------------------------------------------------------------------


def work(url: str, log: Path, seed: int) -> None:
    """Start and step matters until killed, acknowledging each commit in ``log``."""
    from engine import api
    from engine.persistence.db import begin_write, make_engine, make_sessionmaker
    from engine.persistence.models import Matter, OpenTask

    sessions = make_sessionmaker(make_engine(url))
    known = paths()
    rng = random.Random(seed)
    places = {v.code: v for v in county.villages(4)}
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def acknowledge(line: str) -> None:
        os.write(fd, (line + "\n").encode())  # one write: a kill leaves whole lines

    def mine() -> dict[int, tuple[str, str]]:
        started = {}
        for line in log.read_text().splitlines():
            parts = line.split()
            if parts and parts[0] == "start":
                started[int(parts[1])] = (parts[2], parts[3])
        return started

    running = []
    matters = mine()
    if matters:
        with sessions() as session:
            ids = session.scalars(
                select(Matter.id).where(
                    Matter.id.in_(list(matters)), Matter.status == MatterStatus.RUNNING
                )
            ).all()
        running = [(i, *matters[i]) for i in ids]
    while True:
        if not running:
            key, name = rng.choice(sorted(known))
            path = known[key, name]
            where = places[path.village]
            with sessions() as session:
                starter = path.started_by or county.loaded_step_role(session, key, path.steps[0].step)
            with sessions() as session, session.begin():
                begin_write(session)  # the write lock first: a read would make SQLite refuse the write
                result = api.start(session, key, where.code, county.actor(starter, where), path.start, path.title)
            acknowledge(f"start {result.instance_id} {key} {name}")
            running.append((result.instance_id, key, name))
        instance_id, key, name = running[0]
        path = known[key, name]
        where = places[path.village]
        with sessions() as session, session.begin():
            begin_write(session)
            task = session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)).first()
            if task is None:
                running.pop(0)
                continue
            data = next(s.data for s in path.steps if s.step == task.step_id)
            doer = county.actor(task.role, where)
            outcome = api.complete(session, task.id, doer, data, county.files_for(session, task.id, doer, log.parent))
            step = task.step_id
        acknowledge(f"step {instance_id} {step}")
        if outcome.status != MatterStatus.RUNNING:
            running.pop(0)


def worker(url: str, log: Path, errors: Path, seed: int) -> None:
    """A forked worker: its errors (a step the database refused) go to ``errors``, then it exits 1."""
    try:
        work(url, log, seed)
    except BaseException:
        with errors.open("a") as out:
            out.write(traceback.format_exc())
        os._exit(1)


# --- the harness ----------------------------------------------------------------------------------


class Workers:
    def __init__(self, url: str, count: int, folder: Path, seed: int):
        self.url, self.folder, self.rng = url, folder, random.Random(seed)
        self.logs = [folder / f"worker-{n}.log" for n in range(count)]
        self.processes: list[Any] = [None] * count
        self.kills = 0
        self.starts = 0

    def start(self, n: int) -> None:
        """A worker forked from this process, which has the engine imported: it starts at once."""
        self.starts += 1
        process = FORK.Process(
            target=worker, args=(self.url, self.logs[n], self.folder / f"worker-{n}.err", self.starts)
        )
        process.start()
        self.processes[n] = process

    def kill(self, n: int) -> None:
        process = self.processes[n]
        if process is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            self.kills += 1
        if process is not None:
            process.join()

    def steps(self) -> int:
        return sum(len(log.read_bytes().splitlines()) for log in self.logs if log.exists())


def run(url: str, steps: int, workers: int, seed: int, folder: Path) -> dict[str, Any]:
    import engine.api  # noqa: F401 - imported once here, so forked workers start at once
    import engine.supervision.violation_chain  # noqa: F401
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    db_engine = make_engine(url)
    upgrade(db_engine)
    sessions = make_sessionmaker(db_engine)
    with sessions() as session, session.begin():
        demo.load_demo(session)
    db_engine.dispose()
    paths()

    rng = random.Random(seed)
    pool = Workers(url, workers, folder, seed)
    for n in range(workers):
        pool.start(n)
    began = time.monotonic()
    crashed: list[str] = []
    while pool.steps() < steps:
        time.sleep(rng.uniform(0.1, 1.0))
        for n, process in enumerate(pool.processes):
            if not process.is_alive():  # a worker that died of an error, not of a kill
                crashed.append(last_error(folder / f"worker-{n}.err"))
                pool.start(n)
        victim = rng.randrange(workers)
        pool.kill(victim)
        pool.start(victim)
        if len(crashed) > 20:
            break
    for n in range(workers):
        pool.kill(n)
    seconds = time.monotonic() - began
    result = {"db": url.split(":", 1)[0].split("+", 1)[0], "kills": pool.kills, "seconds": round(seconds, 1)}
    result.update(check(url, pool.logs))
    result["worker_errors"] = len(crashed)
    if crashed:
        result["first_worker_errors"] = sorted(set(crashed))[:3]
    return result


def last_error(path: Path) -> str:
    """The exception line of the last traceback a worker wrote."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line and not line.startswith(" ")]
    found = [line for line in lines if not line.startswith(("Traceback", "The above", "During", "(Background"))]
    return found[-1][:300] if found else ""


def check(url: str, logs: list[Path]) -> dict[str, Any]:
    """Compare the acknowledged steps with the database; re-verify every chain and open-task index."""
    from engine import api
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.models import HistoryEvent, Matter, OpenTask
    from engine.runtime.loaded import loaded
    from engine.runtime.scripting import script_engine
    from engine.runtime.serializer import load_state
    from engine.runtime.steps import ready_user_task_ids
    from engine.supervision import violation_chain

    started: set[int] = set()
    acknowledged: Counter[tuple[int, str]] = Counter()
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            kind, instance, rest = line.split(maxsplit=2)
            if kind == "start":
                started.add(int(instance))
            else:
                acknowledged[int(instance), rest] += 1
    db_engine = make_engine(url)
    sessions = make_sessionmaker(db_engine)
    try:
        with sessions() as session:
            matters = set(session.scalars(select(Matter.id)))
            done = Counter(
                {
                    (row.instance_id, row.step_id): row.n
                    for row in session.execute(
                        select(HistoryEvent.instance_id, HistoryEvent.step_id, func.count().label("n"))
                        .where(HistoryEvent.kind == EventKind.TASK_COMPLETED)
                        .group_by(HistoryEvent.instance_id, HistoryEvent.step_id)
                    )
                }
            )
            seqs = session.execute(
                select(func.count()).select_from(
                    select(HistoryEvent.instance_id, HistoryEvent.seq)
                    .group_by(HistoryEvent.instance_id, HistoryEvent.seq)
                    .having(func.count() > 1)
                    .subquery()
                )
            ).scalar()
            failing = 0
            if not api.verify_history(session).ok:
                failing = sum(not api.verify_history(session, i).ok for i in sorted(matters))
            if not violation_chain.verify(session).ok:
                failing += 1
            inconsistent = 0
            tasks: dict[int, set[str]] = {}
            for task in session.scalars(select(OpenTask)):
                tasks.setdefault(task.instance_id, set()).add(task.engine_task_id)
            for instance in session.scalars(select(Matter).order_by(Matter.id)):
                if instance.status != MatterStatus.RUNNING:
                    inconsistent += instance.id in tasks
                    continue
                definition = loaded(instance.definition)
                workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
                ready = {str(i) for i in ready_user_task_ids(workflow)}
                inconsistent += ready != tasks.get(instance.id, set())
    finally:
        db_engine.dispose()
    lost = len(started - matters) + sum(1 for key in acknowledged if done[key] == 0)
    doubled = sum(1 for n in done.values() if n > 1) + seqs
    return {
        "steps": len(started) + sum(acknowledged.values()),
        "matters": len(matters),
        "steps_lost": lost,
        "steps_doubled": doubled,
        "chains_failing": failing,
        "open_tasks_inconsistent": inconsistent,
    }


def main(argv: list[str] | None = None) -> dict:
    bootstrap()  # the hooks and sources a real process has: supervision watches every step
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", help="sqlite, postgres, both, or a SQLAlchemy URL of a server")
    parser.add_argument("--steps", type=int, default=10_000, help="acknowledged steps per database")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    targets = {"sqlite": [None], "postgres": [PG_URL], "both": [None, PG_URL]}.get(args.db, [args.db])
    results = []
    for target in targets:
        with fresh_database(target) as url, tempfile.TemporaryDirectory() as folder:
            results.append(run(url, args.steps, args.workers, args.seed, Path(folder)))
    result = {"databases": results}
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
