"""Durable step speed and storage of a 9-user-task 四议两公开 flow.

    python -m bench.step [--db URL] [--instances N] [--json]

Prints one JSON object: ``inmemory_step_ms`` (SpiffWorkflow alone, same flow, no persistence),
``durable_step_ms_p50``/``_p99`` and ``durable_steps_per_s`` (one process; each step is one
transaction: load, check, validate, run, save, index, history), ``bytes_per_finished_instance``
(stored state plus history rows) and ``db``. Targets on SQLite here: at least 400 durable steps/s and
at most 8 KB per finished instance.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from bench.database import bench_database
from engine import api, bootstrap, clock
from engine.catalog.examples import example_path
from engine.definitions.validate import load_definition_file
from engine.persistence.enums import MatterStatus
from engine.runtime.scripting import script_engine

FLOW = Path(__file__).resolve().parent.parent / "processes" / "four_deliberations" / "four_deliberations.bpmn"

# The happy path of the flow's examples (processes/four_deliberations/examples.yaml): the form data of each step.
HAPPY_PATH = example_path(FLOW, "happy").step_data()
# The matters run after every date in their forms, so the benchmark measures lawful steps:
# no posting is cut short and no warning is raised (tests cover the violation paths).
SIMULATED_NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)
ACTOR = {
    "party_secretary": "shangtang.secretary",
    "committee_chair": "shangtang.chair",
    "supervisory_member": "shangtang.supervisor",
    "cadre": "shangtang.cadre",
    "bookkeeper": "shangtang.bookkeeper",
}


def inmemory_step_ms(definition, instances: int) -> float:
    engine = script_engine()
    steps = 0
    started = time.perf_counter()
    for _ in range(instances):
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=engine)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.set_data(**json.loads(json.dumps(HAPPY_PATH[task.task_spec.name])))
            task.run()
            workflow.do_engine_steps()
            steps += 1
    return (time.perf_counter() - started) * 1000 / steps


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def required_slots(definition) -> dict[str, list[tuple[str, bytes]]]:
    """Step id -> the attachment slots its form requires (会议记录, 签到表…)."""
    slots = {}
    for step in definition.steps:
        schema = definition.forms.get(step.form) or {}
        slots[step.id] = [
            (a["name"], PDF if "application/pdf" in (a.get("accept") or ["application/pdf"]) else PNG)
            for a in schema.get("x-attachments") or []
            if a.get("required")
        ]
    return slots


def upload(sessions, folder: Path, actor: str, slots: list[tuple[str, bytes]]) -> dict[str, list[int]]:
    """The files a step needs, uploaded beforehand as a cadre does from the phone (not timed)."""
    if not slots:
        return {}
    from engine.workspace import attachments

    with sessions() as session, session.begin():
        return {slot: [attachments.store_upload(session, folder, content, slot, actor).id] for slot, content in slots}


Slots = dict[str, list[tuple[str, bytes]]]


def durable_run(sessions, instances: int, slots: Slots, folder: Path) -> tuple[list[float], float]:
    latencies: list[float] = []
    total_started = time.perf_counter()
    for _ in range(instances):
        with sessions() as session, session.begin():
            result = api.start(session, "four_deliberations", "QX0101", "shangtang.secretary")
        pending = [dict(o) for o in result.opened]
        while pending:
            task = pending.pop(0)
            actor = ACTOR[task["role"]]
            files = upload(sessions, folder, actor, slots[task["step"]])
            began = time.perf_counter()
            with sessions() as session, session.begin():
                result = api.complete(session, task["id"], actor, HAPPY_PATH[task["step"]], files)
            latencies.append((time.perf_counter() - began) * 1000)
            pending.extend(result.opened)
        if result.status != MatterStatus.COMPLETED:
            raise SystemExit(f"instance did not complete: {result}")
    return latencies, time.perf_counter() - total_started


def stored_bytes(db_engine) -> int:
    """State plus history rows of the finished instances, column payload as stored."""
    with db_engine.connect() as conn:
        state = conn.execute(
            text("SELECT coalesce(sum(length(state)), 0) FROM process_instance WHERE status = 'completed'")
        ).scalar()
        history = conn.execute(
            text(
                "SELECT coalesce(sum(length(data) + length(hash) + length(kind) + coalesce(length(actor), 0)"
                " + coalesce(length(step_id), 0) + 8 + 8 + 4 + 8), 0) FROM history_event"
            )
        ).scalar()
        instance_cols = conn.execute(
            text(
                "SELECT coalesce(sum(8 + 4 + 4 + 4 + 8 + 8 + 4 + length(history_head) + length(started_by)"
                " + length(status) + coalesce(length(title), 0)), 0)"
                " FROM process_instance WHERE status = 'completed'"
            )
        ).scalar()
    return int(state + history + instance_cols)


def main(argv: list[str] | None = None) -> dict:
    bootstrap()  # the hooks and sources a real process has: supervision watches every step
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    clock.install()
    clock.clock.set(SIMULATED_NOW)
    report = load_definition_file(FLOW)
    if not report.ok:
        raise SystemExit("four_deliberations does not validate: " + "; ".join(map(str, report.problems)))
    try:
        with bench_database(args.db, FLOW) as (db_engine, sessions):
            result = run(db_engine, sessions, report.definition, args.instances)
    finally:
        clock.clock.set(None)
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


def run(db_engine, sessions, definition, instances: int) -> dict:
    import tempfile

    inmemory = inmemory_step_ms(definition, max(50, instances // 2))
    slots = required_slots(definition)
    with tempfile.TemporaryDirectory() as folder:
        durable_run(sessions, 10, slots, Path(folder))  # warm-up: caches, prepared statements
        latencies, seconds = durable_run(sessions, instances, slots, Path(folder))
    finished = instances + 10
    with sessions() as session:
        from engine.supervision.queries import list_violations

        raised = len(list_violations(session))
    result = {
        "inmemory_step_ms": round(inmemory, 3),
        "durable_step_ms_p50": round(statistics.median(latencies), 3),
        "durable_over_inmemory": round(statistics.median(latencies) / inmemory, 1),
        "durable_step_ms_p99": round(statistics.quantiles(latencies, n=100)[98], 3),
        "durable_steps_per_s": round(len(latencies) / sum(latencies) * 1000, 1),
        "durable_steps_per_s_with_starts": round(len(latencies) / seconds, 1),
        "bytes_per_finished_instance": stored_bytes(db_engine) // finished,
        "steps_per_instance": len(latencies) // instances,
        "instances": instances,
        "violations_raised": raised,
        "db": db_engine.dialect.name,
    }
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
