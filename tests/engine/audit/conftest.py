"""Fixtures of the audit tests: the 四议两公开 model, in-memory logs, and matters driven through the engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.audit.eventlog import EventLog, EventLogBuilder
from engine.audit.reference_model import ProcessModel, compile_model
from engine.catalog.examples import example_path
from engine.definitions.validate import load_definition_file, validate_bpmn
from tests.conftest import ROOT
from tests.support import files

FLOW = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
FULL = [step.step for step in example_path(FLOW, "happy").steps]  # the happy path of examples.yaml
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in China
ROLE_ACTOR = {"party_secretary": "secretary", "committee_chair": "chair", "supervisory_member": "supervisor"}
SLUG = {"QX0101": "shangtang", "QX0102": "xiatang", "QX0201": "lingtou", "QX0202": "lingjiao"}


def compile_file(path: Path) -> ProcessModel:
    report = load_definition_file(path)
    assert report.ok, report.problems
    d = report.definition
    return compile_model(d.spec, d.subprocess_specs, d.steps, d.key)


def compile_text(text: str) -> ProcessModel:
    report = validate_bpmn(text.encode(), "test.bpmn")
    assert report.ok, report.problems
    d = report.definition
    return compile_model(d.spec, d.subprocess_specs, d.steps, d.key)


@pytest.fixture(scope="session")
def four() -> ProcessModel:
    return compile_file(FLOW)


Step = str | tuple[str, timedelta] | tuple[str, timedelta, str]


def log_of(cases: dict[str, Iterable[Step]], ended: bool = True, start: datetime = T0) -> EventLog:
    """A log from step lists; each step comes one day after the previous one unless a gap is given."""
    builder = EventLogBuilder()
    for case, steps in cases.items():
        at = start
        builder.case(case, start.timestamp(), "" if ended else None)
        for item in steps:
            if isinstance(item, str):
                step, gap, who = item, timedelta(days=1), None
            elif len(item) == 2:
                (step, gap), who = item, None
            else:
                step, gap, who = item
            at += gap
            builder.add(case, step, at.timestamp(), who or f"{case}.{step}")
    return builder.build()


def found(findings) -> dict[str, list[tuple[str, str]]]:
    """Per case: sorted (kind, step) pairs."""
    result: dict[str, list[tuple[str, str]]] = {}
    for d in findings.deviations():
        result.setdefault(d.case, []).append((d.kind, d.step))
    return {case: sorted(items) for case, items in result.items()}


# --- matters driven through the engine ---------------------------------------------------------


@pytest.fixture
def flow(demo_org):
    """The demo organisation with the 四议两公开 flow deployed."""
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, FLOW, "admin")
    return demo_org


@pytest.fixture
def matters(flow):
    """Three matters: conforming, a slow 商议 in 下塘村, a failed review that went back (conforming)."""
    ok = drive(flow)
    slow = drive(flow, village="QX0102", gaps={"discuss": timedelta(days=12)})
    loop = drive(flow, village="QX0201", fail_review=True)
    return flow, ok, slow, loop


def form(step: str, **changes) -> dict:
    from bench.step import HAPPY_PATH

    return {**HAPPY_PATH[step], **changes}


def drive(
    sessions,
    village: str = "QX0101",
    start: datetime = T0,
    gaps: dict[str, timedelta] | None = None,
    fail_review: bool = False,
    stop_after: str | None = None,
) -> int:
    """A matter along the full path with the clock set: each step one day after the previous one
    (``gaps`` overrides), optionally failing the first review; returns the instance id."""
    from engine import api, clock

    try:
        clock.clock.set(start)
        with sessions() as session, session.begin():
            result = api.start(session, "four_deliberations", village, f"{SLUG[village]}.secretary")
    finally:
        clock.clock.set(None)
    return advance(sessions, result.instance_id, start, gaps, fail_review, stop_after)


def advance(
    sessions,
    instance_id: int,
    at: datetime,
    gaps: dict[str, timedelta] | None = None,
    fail_review: bool = False,
    stop_after: str | None = None,
) -> int:
    """Complete the matter's open tasks one after another from ``at`` on, as in :func:`drive`."""
    from engine import clock, queries

    gaps = gaps or {}
    failed = False
    try:
        clock.clock.set(at)
        while True:
            with sessions() as session:
                tasks = [t for t in queries.open_tasks(session) if t.instance == instance_id]
                village = queries.instance(session, instance_id).village
            if not tasks:
                return instance_id
            task = tasks[0]
            clock.clock.advance(gaps.get(task.step, timedelta(days=1)))
            data = form(task.step)
            if task.step == "review" and fail_review and not failed:
                data = form("review", present=25, votes_for=5, votes_against=18, abstain=2, passed=False)
                failed = True
            actor = f"{SLUG[village]}.{ROLE_ACTOR[task.role]}"
            with sessions() as session, session.begin():
                files.complete(session, task.id, actor, data)
            if task.step == stop_after:
                return instance_id
    finally:
        clock.clock.set(None)


def append_steps(sessions, instance_id: int, steps: Iterable[str], actor: str, at: datetime) -> None:
    """Chain task_completed events onto a matter outside the engine (a migrated or rogue record)."""
    for step in steps:
        at += timedelta(days=1)
        append_event(sessions, instance_id, "task_completed", step, actor, at)


def append_event(
    sessions, instance_id: int, kind: str, step: str | None, actor: str, at: datetime, data: dict | None = None
) -> None:
    from engine.history import events
    from engine.persistence.models import Matter

    with sessions() as session, session.begin():
        instance = session.get(Matter, instance_id)
        events.append(session, instance, kind, at=at, actor=actor, step_id=step, data=data or {})


# --- a sanctioned return, a transfer and an unsanctioned repeat -----------------------------------

RETURN_REASON = "审议前请补充商议的会议记录"
TRANSFER_REASON = "书记出差，由副书记办理"


@dataclass
class Returned:
    sessions: object
    returned: int  # 上塘村: 提议, 商议, 审议 returned to 商议, 商议 transferred and redone, then to the end
    repeated: int  # 下塘村: a full path with 实施 recorded twice, without any return


def _open_task(sessions, instance_id: int, step: str) -> str:
    from engine import queries

    with sessions() as session:
        return next(t.id for t in queries.open_tasks(session) if t.instance == instance_id and t.step == step)


@pytest.fixture
def returned(flow) -> Returned:
    """Two matters of 四议两公开: one returned (退回) from 审议 to 商议 at T0+3d, its 商议 transferred
    (转办) to 上塘村副书记 at T0+4d and done by them at T0+5d; one with an unsanctioned repeat."""
    from engine import clock
    from engine.org.service import ensure_user, get_village, grant
    from engine.workspace import operations

    with flow() as session, session.begin():
        deputy = ensure_user(session, "shangtang.deputy", "上塘村副书记")
        grant(session, deputy, "party_secretary", get_village(session, "QX0101"))
    matter = drive(flow, stop_after="discuss")
    try:
        clock.clock.set(T0 + timedelta(days=3))
        with flow() as session, session.begin():
            operations.return_to(
                session, _open_task(flow, matter, "review"), "shangtang.secretary", "discuss", RETURN_REASON
            )
        clock.clock.set(T0 + timedelta(days=4))
        with flow() as session, session.begin():
            task = _open_task(flow, matter, "discuss")
            operations.transfer(session, task, "shangtang.secretary", "shangtang.deputy", TRANSFER_REASON)
        clock.clock.set(T0 + timedelta(days=5))
        with flow() as session, session.begin():
            files.complete(session, _open_task(flow, matter, "discuss"), "shangtang.deputy", form("discuss"))
    finally:
        clock.clock.set(None)
    advance(flow, matter, T0 + timedelta(days=5))
    repeated = drive(flow, village="QX0102")
    append_steps(flow, repeated, ["implement"], "xiatang.chair", T0 + timedelta(days=12))
    return Returned(flow, matter, repeated)
