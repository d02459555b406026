"""Moving running matters to a newer version of their flow (``powerlist matters migrate``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import api, queries
from engine.errors import PermissionDenied
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OpenTask
from engine.workspace import migration
from tests.conftest import MINI

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
SECRETARY, CHAIR = "shangtang.secretary", "shangtang.chair"
FLOW = "mini_decision"


def flow_version(tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    """A copy of the test flow with its BPMN text edited by ``edit``."""
    folder = tmp_path / name
    shutil.copytree(MINI.parent, folder)
    bpmn = folder / MINI.name
    text = bpmn.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    bpmn.write_text(edited, encoding="utf-8")
    return bpmn


def with_review(text: str) -> str:
    """v2: a 审核 step by the committee chair between 提议 and 决议."""
    text = text.replace(
        "<bpmn:flowNodeRef>resolve</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>resolve</bpmn:flowNodeRef>",
    )
    text = text.replace(
        'id="f2" sourceRef="propose" targetRef="resolve"', 'id="f2" sourceRef="propose" targetRef="review"'
    )
    text = text.replace(
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
        "<bpmn:incoming>f2b</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
    )
    review = (
        '<bpmn:userTask id="review" name="审核" pl:timeLimit="P2D">'
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f2b</bpmn:outgoing></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f2b" sourceRef="review" targetRef="resolve"/>'
    )
    return text.replace('<bpmn:exclusiveGateway id="passed"', review + '<bpmn:exclusiveGateway id="passed"')


def without_propose(text: str) -> str:
    """v2: the matter goes from its start straight to 决议; 提议 is gone."""
    text = text.replace("<bpmn:flowNodeRef>propose</bpmn:flowNodeRef>", "")
    start, end = text.index('<bpmn:userTask id="propose"'), text.index('<bpmn:userTask id="resolve"')
    text = text[:start] + text[end:]
    text = text.replace('<bpmn:sequenceFlow id="f2" sourceRef="propose" targetRef="resolve"/>', "")
    text = text.replace(
        'id="f1" sourceRef="start" targetRef="propose"', 'id="f1" sourceRef="start" targetRef="resolve"'
    )
    return text.replace(
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
    )


@pytest.fixture
def v1(demo_org):
    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
    return demo_org


def deploy(sessions, path: Path) -> int:
    with sessions() as session, session.begin():
        return api.deploy_file(session, path, "admin").version


def start(sessions) -> int:
    with sessions() as session, session.begin():
        return api.start(session, FLOW, "QX0101", SECRETARY).instance_id


def open_tasks(sessions, instance_id: int) -> list[dict]:
    with sessions() as session:
        return [t for t in queries.open_tasks(session) if t.instance == instance_id]


def complete(sessions, instance_id: int, actor: str, data: dict) -> None:
    (task,) = open_tasks(sessions, instance_id)
    with sessions() as session, session.begin():
        api.complete(session, task.id, actor, data)


def snapshot(sessions, instance_id: int) -> tuple:
    """Everything a migration may change about a matter."""
    with sessions() as session:
        instance = session.get(Matter, instance_id)
        version = session.get(DefinitionVersion, instance.definition_version_id).version
        events = session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance_id)).all()
        tasks = session.execute(
            select(OpenTask.id, OpenTask.engine_task_id, OpenTask.step_id).where(OpenTask.instance_id == instance_id)
        ).all()
        return version, instance.revision, bytes(instance.state), tuple(events), tuple(tasks)


def test_a_step_added_after_the_open_step_moves_and_is_reached_later(v1, tmp_path):
    waiting = start(v1)
    assert deploy(v1, flow_version(tmp_path, "v2", with_review)) == 2
    before = snapshot(v1, waiting)

    dry = migration.migrate(v1, FLOW, 2, "admin", dry_run=True)
    assert [(m.instance_id, m.movable, m.moved, m.open_steps) for m in dry.matters] == [
        (waiting, True, False, ["propose"])
    ]
    assert snapshot(v1, waiting) == before  # a dry run writes nothing

    report = migration.migrate(v1, FLOW, 2, "admin")
    assert (report.moved, report.refused) == (1, 0)
    version, _, _, events, tasks = snapshot(v1, waiting)
    assert version == 2
    assert tasks == before[4]  # the open step keeps its open-task row
    assert events == (*before[3], migration.INSTANCE_MIGRATED)
    with v1() as session:
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.kind == migration.INSTANCE_MIGRATED))
        assert event.actor == "admin" and '"from":1' in event.data and '"to":2' in event.data
        assert api.verify_history(session).ok

    complete(v1, waiting, SECRETARY, PROPOSE)
    assert [t.step for t in open_tasks(v1, waiting)] == ["review"]
    complete(v1, waiting, CHAIR, {})
    assert [t.step for t in open_tasks(v1, waiting)] == ["resolve"]
    with v1() as session:
        assert api.verify_history(session).ok

    again = migration.migrate(v1, FLOW, 2, "admin")
    assert again.matters == []  # nothing of an older version is left running


def test_a_removed_open_step_is_refused_and_the_matter_left_alone(v1, tmp_path):
    at_propose = start(v1)
    at_resolve = start(v1)
    complete(v1, at_resolve, SECRETARY, PROPOSE)
    deploy(v1, flow_version(tmp_path, "v2", without_propose))
    before = snapshot(v1, at_propose), snapshot(v1, at_resolve)

    report = migration.migrate(v1, FLOW, 2, "admin")
    moves = {m.instance_id: m for m in report.matters}
    assert not moves[at_propose].movable and not moves[at_propose].moved
    assert [(r.code, r.params["step"]) for r in moves[at_propose].reasons] == [
        ("migration.open_step_removed", "propose")
    ]
    assert "提议" in moves[at_propose].as_dict()["reasons"][0]["message"]
    assert [(r.code, r.params["step"]) for r in moves[at_resolve].reasons] == [
        ("migration.done_step_removed", "propose")
    ]
    assert (snapshot(v1, at_propose), snapshot(v1, at_resolve)) == before
    # Left on its version, the matter goes on as before.
    complete(v1, at_propose, SECRETARY, PROPOSE)
    assert [t.step for t in open_tasks(v1, at_propose)] == ["resolve"]


def test_a_changed_role_or_required_field_of_the_open_step_is_refused(v1, tmp_path):
    start(v1)

    def edit(text: str) -> str:
        return text.replace(
            '<bpmn:lane id="lane_secretary" name="村党组织" pl:role="party_secretary">',
            '<bpmn:lane id="lane_secretary" name="村党组织" pl:role="committee_chair">',
        )

    path = flow_version(tmp_path, "v2", edit)
    form = path.parent / "forms" / "propose.json"
    form.write_text(
        form.read_text(encoding="utf-8").replace('"required": ["subject", "amount_fen"]', '"required": ["subject"]'),
        encoding="utf-8",
    )
    deploy(v1, path)
    (move,) = migration.migrate(v1, FLOW, 2, "admin", dry_run=True).matters
    assert sorted(r.code for r in move.reasons) == ["migration.form_required_changed", "migration.role_changed"]
    assert not move.movable


def test_only_an_administrator_of_the_flow_may_migrate(v1, tmp_path):
    waiting = start(v1)
    deploy(v1, flow_version(tmp_path, "v2", with_review))
    before = snapshot(v1, waiting)
    with pytest.raises(PermissionDenied):
        migration.migrate(v1, FLOW, 2, SECRETARY)
    assert snapshot(v1, waiting) == before


def test_the_command_line_migrates_and_reports(v1, cli, tmp_path):
    waiting = start(v1)
    deploy(v1, flow_version(tmp_path, "v2", with_review))

    dry = cli("matters", "migrate", "--flow", FLOW, "--to-version", "2", "--dry-run", "--json", check=True).json()
    assert (dry["dry_run"], dry["movable"], dry["moved"]) == (True, 1, 0)
    denied = cli("matters", "migrate", "--flow", FLOW, "--to-version", "2", "--as", SECRETARY)
    assert denied.code == 1 and denied.err.startswith("error:")
    backwards = cli("matters", "migrate", "--flow", FLOW, "--to-version", "2", "--from-version", "2")
    assert backwards.code == 2 and "更新的版本" in backwards.err

    done = cli("matters", "migrate", "--flow", FLOW, "--to-version", "2", "--village", "QX0101", "--as", "admin")
    assert done.code == 0, done.err
    assert f"matter {waiting} (QX0101, v1): moved to v2" in done.out
    assert snapshot(v1, waiting)[0] == 2
    with v1() as session:
        assert api.verify_history(session).ok
