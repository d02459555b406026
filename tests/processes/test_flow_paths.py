"""Every example path of every shipped flow, driven through the engine API by the demo users.

Each step is done by the holder of the step's role in the matter's village (or its town, or the
county); the same role elsewhere is refused; the refused variants of a step's data are refused
naming the right field. Together the paths of a flow take every one of its sequence flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import api, queries
from engine.catalog.examples import ExamplePath, ExamplesInvalid, cite, examples_path, load_examples
from engine.catalog.graph import FlowGraph, flow_graph, taken_flows
from engine.definitions.descriptions import ParsedDefinition
from engine.definitions.validate import load_definition_file
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.org.roles import role_level
from engine.persistence.models import Matter, OpenTask
from engine.runtime import forms
from engine.runtime.loaded import loaded
from engine.workspace import attachments
from powerlist.demo import COUNTY_ROLES, TOWN_ROLES, TOWN_SLUGS, TOWNS, VILLAGE_ROLES
from tests.support import files
from tests.support.matters import register_cited

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FLOWS = {path.stem: path for path in sorted(PROCESSES.glob("*/*.bpmn"))}


@cache
def definition(key: str) -> ParsedDefinition:
    report = load_definition_file(FLOWS[key])
    assert report.ok, [str(p) for p in report.problems]
    return report.definition


@cache
def graph(key: str) -> FlowGraph:
    return flow_graph(FLOWS[key].read_bytes(), str(FLOWS[key]))


@cache
def examples(key: str) -> dict[str, ExamplePath]:
    return {path.name: path for path in load_examples(examples_path(FLOWS[key]))}


PATHS = [(key, name) for key in FLOWS for name in examples(key)]


def actor(role: str, village: str) -> str:
    """The demo user holding ``role`` for a matter of ``village``."""
    for town, (_name, villages) in TOWNS.items():
        if village in villages:
            if role in VILLAGE_ROLES:
                return f"{villages[village][1]}.{VILLAGE_ROLES[role][0]}"
            if role in TOWN_ROLES:
                return f"{TOWN_SLUGS[town]}.{TOWN_ROLES[role][0]}"
            return COUNTY_ROLES[role][0]
    raise LookupError(f"no demo village {village}")


def outsider(role: str, village: str) -> str | None:
    """The holder of the same role in a village of the other town; None for county roles."""
    if role_level(role) == "county":
        return None
    other = next(code for town in TOWNS.values() for code in town[1] if code[:4] != village[:4])
    return actor(role, other)


@dataclass
class Library:
    """A SQLite database with the demo organisation and every shipped flow deployed."""

    sessions: sessionmaker[Session]
    taken: dict[tuple[str, str], set[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Library:
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist.demo import load_demo

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('flows') / 'powerlist.sqlite'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        summary = load_demo(session)
    assert not summary["skipped"], summary["skipped"]
    yield Library(sessions)
    engine.dispose()


def open_tasks(sessions: sessionmaker[Session], instance_id: int) -> list[OpenTask]:
    with sessions() as session:
        return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)))


def drive(sessions: sessionmaker[Session], key: str, example: ExamplePath) -> set[str]:
    """Run one example path to its end; the ids of the sequence flows the matter took."""
    village = example.village
    starter = example.started_by or definition(key).step(example.steps[0].step).role
    with sessions() as session, session.begin():
        numbers = register_cited(session, example, actor("town_agency", village))
        started = api.start(session, key, village, actor(starter, village), example.start, example.title)
    instance_id = started.instance_id
    for number, plain in enumerate(example.steps, 1):
        step = replace(
            plain,
            data=cite(plain.data, numbers),
            refused=tuple(replace(r, change=cite(r.change, numbers)) for r in plain.refused),
        )
        where = f"{key}/{example.name} step {number} ({step.step})"
        tasks = open_tasks(sessions, instance_id)
        assert [t.step_id for t in tasks] == [step.step], f"{where}: open tasks {[t.step_id for t in tasks]}"
        task = tasks[0]
        assert task.role == definition(key).step(step.step).role
        doer = actor(task.role, village)
        for refusal in step.refused:
            with pytest.raises(FormInvalid) as refused:
                with sessions() as session, session.begin():
                    files.complete(session, task.id, doer, refusal.data(step.data))
            errors = [(e.field, e.message) for e in refused.value.errors]
            assert any(f == refusal.field and refusal.message in m for f, m in errors), (
                f"{where}: '{refusal.title}' refused with {errors}, expected {refusal.field}: {refusal.message}"
            )
        stranger = outsider(task.role, village)
        if stranger is not None:
            with pytest.raises((PermissionDenied, NotFound)):
                with sessions() as session, session.begin():
                    files.complete(session, task.id, stranger, step.data)
        with sessions() as session, session.begin():
            complete_with_every_file(session, task.id, doer, step.data)
    assert open_tasks(sessions, instance_id) == [], f"{key}/{example.name}: steps left after the last one"
    with sessions() as session:
        info = queries.instance(session, instance_id)
        events = queries.history(session, instance_id)
        assert api.verify_history(session, instance_id).ok
    assert info.status == "completed"
    ended = [e.data["end"] for e in events if e.kind == "instance_ended"]
    assert ended == [example.end], f"{key}/{example.name}: ended at {ended}"
    flows = taken_flows(graph(key), events)
    edges = {e.id: e for e in graph(key).edges}
    reached = {edges[f].target for f in flows}
    assert {n for n in reached if graph(key).nodes[n].kind == "endEvent"} == {example.end}
    assert {step.step for step in example.steps} <= reached
    return flows


def complete_with_every_file(session: Session, task_id: str, actor: str, data: dict) -> None:
    """Complete a lawful step with a sample file in every attachment slot, the optional ones too
    (a check may require one under a condition: the minutes of a merged 一肩挑 meeting)."""
    row = session.get(OpenTask, task_id)
    schema, _text = definition_of(session, row)
    chosen = files.required_files(session, task_id, actor)
    for slot in forms.form_spec(schema).attachments:
        if slot["name"] not in chosen:
            content, filename = files.sample_for(slot["accept"])
            chosen[slot["name"]] = [attachments.store_upload(session, None, content, filename, actor).id]
    api.complete(session, task_id, actor, data, chosen)


def definition_of(session: Session, row: OpenTask):
    loaded_definition = loaded(session.get(Matter, row.instance_id).definition)
    return loaded_definition.form(loaded_definition.step(row.step_id))


def taken(library: Library, key: str, name: str) -> set[str]:
    if (key, name) not in library.taken:
        library.taken[key, name] = drive(library.sessions, key, examples(key)[name])
    return library.taken[key, name]


@pytest.mark.parametrize(("key", "name"), PATHS, ids=[f"{k}-{n}" for k, n in PATHS])
def test_example_path_runs_to_its_end(library: Library, key: str, name: str) -> None:
    flows = taken(library, key, name)
    assert flows, "the matter took no sequence flow"


@pytest.mark.parametrize("key", list(FLOWS))
def test_the_examples_take_every_sequence_flow(library: Library, key: str) -> None:
    flows = set().union(*(taken(library, key, name) for name in examples(key)))
    never = sorted(e.id for e in graph(key).edges if e.id not in flows)
    assert never == [], f"{key}: no example path takes {never}"


@pytest.mark.parametrize("key", list(FLOWS))
def test_every_flow_has_refused_examples_and_ends_everywhere(key: str) -> None:
    ends = {path.end for path in examples(key).values()}
    assert ends == {n.id for n in graph(key).of_kind("endEvent")}
    assert any(step.refused for path in examples(key).values() for step in path.steps)


def test_a_malformed_examples_file_is_refused_naming_the_place(tmp_path: Path) -> None:
    path = tmp_path / "examples.yaml"
    path.write_text("village: QX0101\npaths:\n  happy:\n    title: 正常\n    steps: []\n    end: end_done\n")
    with pytest.raises(ExamplesInvalid, match="happy: steps"):
        load_examples(path)


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_flow_on_postgresql(demo_org) -> None:
    with demo_org() as session, session.begin():
        api.deploy_file(session, FLOWS["fund_payment"], "admin")
    paths = ("tier4_town_leader", "audit_returned_then_paid")
    flows = set().union(*(drive(demo_org, "fund_payment", examples("fund_payment")[name]) for name in paths))
    assert {"flow_gw_town_leader_to_gw_ready", "flow_gw_audit_to_bookkeeper_submit"} <= flows
