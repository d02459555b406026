"""Everything that drives a decision is covered by the record: the saved workflow and the open tasks
(state digests on history events, open tasks derived again from the state), the violations (inside
the anchors' Merkle root), and anchors made hourly when the rules say so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from engine import api
from engine.audit import anchor as anchors
from engine.audit.models import HistoryAnchor
from engine.errors import InvalidState
from engine.history.chain import GENESIS, event_hash, history_fields
from engine.history.state import state_digest
from engine.persistence.models import HistoryEvent, Matter
from engine.ruleset import rule_values
from engine.runtime.loaded import loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import dump_state, load_state
from tests.conftest import Cli
from tests.engine.supervision.conftest import T0

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
DAY = date(2026, 11, 3)


def _sql(world, *statements: tuple[str, dict]) -> None:
    """Edit the database as someone with direct access to it would."""
    engine = create_engine(world.engine.url)
    with engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), params)
    engine.dispose()


def _proposed(world) -> int:
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    return instance


def _bad(world, instance: int | None = None):
    with world.sessions() as session:
        return api.verify_history(session, instance).bad


def _edit_saved_amount(world, instance: int, amount_fen: int) -> None:
    """Change the amount inside the saved workflow, which a later gateway reads."""
    with world.sessions() as session:
        row = session.get(Matter, instance)
        definition = loaded(row.definition)
        workflow = load_state(row.state, definition.spec, definition.subprocess_specs, script_engine())
        for task in workflow.get_tasks():
            if "amount_fen" in task.data:
                task.data["amount_fen"] = amount_fen
        blob = dump_state(workflow)
    _sql(world, ("UPDATE process_instance SET state = :s WHERE id = :i", {"s": blob, "i": instance}))


def _reseal_newest_event(world, instance: int) -> None:
    """What an editor who knows the scheme does next: give the newest event the digest of the edited
    state and recompute its hash and the head, so that the chain and the digest agree again."""
    with world.sessions() as session:
        row = session.get(Matter, instance)
        events = session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance).order_by(HistoryEvent.seq)
        ).all()
        digest, prev = state_digest(session, row), GENESIS
        for event in events:
            state = digest if event.seq == row.history_seq else event.state_digest
            prev = event_hash(prev, **{**history_fields(event), "state_digest": state})
        newest_id = events[-1].id
    _sql(
        world,
        (
            "UPDATE history_event SET state_digest = :d, hash = :h WHERE id = :e",
            {"d": digest, "h": prev, "e": newest_id},
        ),
        ("UPDATE process_instance SET history_head = :h WHERE id = :i", {"h": prev, "i": instance}),
    )


def test_every_event_carries_the_digest_of_the_state_it_leaves(world):
    instance = _proposed(world)
    with world.sessions() as session:
        events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance)).all()
        assert events and all(e.state_digest is not None for e in events)
        newest = max(events, key=lambda e: e.seq)
        assert newest.state_digest == state_digest(session, session.get(Matter, instance))
    assert _bad(world) is None


def test_an_amount_edited_inside_the_saved_workflow_fails_verify(world, cli: Cli):
    instance = _proposed(world)
    _edit_saved_amount(world, instance, 120)
    bad = _bad(world)
    assert (bad.instance_id, bad.code) == (instance, "state")
    result = cli("verify")
    assert result.code == 1 and f"instance {instance}" in result.err and "without a step" in result.err


@pytest.mark.parametrize(
    ("column", "value"), [("role", "town_agency"), ("assignee", "shangtang.secretary"), ("step_id", "propose")]
)
def test_an_open_task_edited_in_place_fails_verify(world, column, value):
    instance = _proposed(world)
    task = world.task(instance).id
    _sql(world, (f"UPDATE open_task SET {column} = :v WHERE id = :t", {"v": value, "t": task}))
    bad = _bad(world, instance)
    assert (bad.instance_id, bad.code) == (instance, "state")


def test_an_open_task_given_another_role_is_found_even_when_the_newest_event_is_resealed(world):
    instance = _proposed(world)
    task = world.task(instance).id
    _sql(world, ("UPDATE open_task SET role = 'town_agency' WHERE id = :t", {"t": task}))
    _reseal_newest_event(world, instance)
    bad = _bad(world, instance)
    assert (bad.instance_id, bad.code) == (instance, "open_tasks")
    assert "has role 'town_agency' but the flow gives" in bad.reason


def test_an_open_task_deleted_and_resealed_is_found_from_the_saved_workflow(world):
    instance = _proposed(world)
    _sql(world, ("DELETE FROM open_task WHERE instance_id = :i", {"i": instance}))
    _reseal_newest_event(world, instance)
    bad = _bad(world, instance)
    assert bad.code == "open_tasks" and "has no open task" in bad.reason


def _forced(world) -> dict:
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})
    return world.violations(instance, "step_forced")[0]


def _delete_violation(world, violation_id: int) -> None:
    _sql(
        world,
        ("DELETE FROM supervision_timer WHERE violation_id = :v", {"v": violation_id}),
        ("DELETE FROM violation_event WHERE violation_id = :v", {"v": violation_id}),
        ("DELETE FROM violation WHERE id = :v", {"v": violation_id}),
    )


def test_a_violation_deleted_with_its_events_and_timers_fails_the_anchor(world, cli: Cli):
    violation = _forced(world)
    with world.sessions() as session, session.begin():
        made = anchors.make_anchor(session, DAY)
        assert made.violation_count >= 1 and made.version == 2
    _delete_violation(world, violation["id"])

    assert cli("violation", "verify", check=True).out.startswith("ok")  # its own chain cannot see it gone
    result = cli("verify", "--anchor", made.digest)
    assert result.code == 1
    assert f"violation {violation['id']}: the violation was deleted" in result.err
    with world.sessions() as session, session.begin(), pytest.raises(InvalidState, match="violation"):
        anchors.make_anchor(session, DAY + timedelta(days=1))  # anchoring now would hide the loss


def test_a_violation_event_rewritten_after_the_anchor_fails_it(world):
    violation = _forced(world)
    with world.sessions() as session, session.begin():
        digest = anchors.make_anchor(session, DAY).digest
    _sql(
        world,
        (
            "UPDATE violation_event SET data = :d WHERE violation_id = :v AND seq = 1",
            {"d": '{"set":{"severity":"blue"}}', "v": violation["id"]},
        ),
    )
    with world.sessions() as session:
        check = anchors.verify_anchor(session, digest)
    assert not check.ok and check.violation_id == violation["id"] and "event #1 was altered" in check.problem


def test_hourly_anchors_stand_beside_the_daily_one_and_each_verifies(world):
    _forced(world)
    with world.sessions() as session, session.begin():
        nine = anchors.make_anchor(session, DAY, 9)
        assert anchors.make_anchor(session, DAY, 9).id == nine.id  # once an hour
    world.start("mini_decision")
    with world.sessions() as session, session.begin():
        ten = anchors.make_anchor(session, DAY, 10)
        daily = anchors.make_anchor(session, DAY)
        with pytest.raises(Exception, match="hour must be 0–23"):
            anchors.make_anchor(session, DAY, 24)
    assert (nine.label, ten.label, daily.label) == ("2026-11-03T09", "2026-11-03T10", "2026-11-03")
    assert ten.changed_count == 1 and nine.digest != ten.digest
    with world.sessions() as session:
        for made in (nine, ten, daily):
            assert anchors.verify_anchor(session, made.digest).ok


def test_anchors_made_before_violations_were_covered_still_verify(world):
    _forced(world)
    with world.sessions() as session, session.begin():
        leaves = anchors.current_leaves(session)
        old = HistoryAnchor(
            day=DAY,
            label=DAY.isoformat(),
            version=1,
            digest=anchors.digest_of(DAY.isoformat(), anchors.root_of(leaves)),
            instance_count=len(leaves),
            event_count=sum(seq for seq, _ in leaves.values()),
            changed_count=len(leaves),
            leaves=anchors.merkle.pack(leaves),
            created_at=T0,
        )
        session.add(old)
    with world.sessions() as session:
        check = anchors.verify_anchor(session, old.digest)
    assert check.ok and check.violations == 0, str(check)


@pytest.fixture
def hourly_rules(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "anchors.yaml").write_text("anchors.every: hour\n", encoding="utf-8")
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(folder))
    rule_values.cache_clear()
    yield
    monkeypatch.delenv("POWERLIST_RULES_DIR")
    rule_values.cache_clear()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_scheduler_anchors_every_hour_when_the_rules_say_so(db_engine, sessions, hourly_rules):
    from datetime import datetime

    from engine import scheduler
    from engine.calendar import CST

    running = scheduler.start_scheduler(db_engine, interval_s=3600)
    try:
        job = running.get_job(scheduler.HOURLY_ANCHOR_JOB_ID)
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 22, 10, 0, tzinfo=CST))
        assert fire == datetime(2026, 11, 22, 10, 55, tzinfo=CST)
    finally:
        running.shutdown(wait=False)
    scheduler._anchor(db_engine, hourly=True)
    scheduler._anchor(db_engine, hourly=True)  # a second scheduler finds it made
    with sessions() as session:
        labels = session.scalars(select(HistoryAnchor.label)).all()
    assert len(labels) == 1 and "T" in labels[0]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_daily_anchors_only_by_default(db_engine):
    from engine import scheduler

    running = scheduler.start_scheduler(db_engine, interval_s=3600)
    try:
        assert running.get_job(scheduler.HOURLY_ANCHOR_JOB_ID) is None
        assert running.get_job(scheduler.ANCHOR_JOB_ID) is not None
    finally:
        running.shutdown(wait=False)


def test_the_anchor_command_prints_and_writes_a_qr_code_of_its_check_address(world, cli: Cli, tmp_path):
    _forced(world)
    made = cli("anchor", "--json", "--qr-file", str(tmp_path / "anchor.svg"), check=True).json()
    assert made["check_url"] == f"http://localhost:5000/audit/anchors?digest={made['digest']}#check"
    assert made["violations"] >= 1
    assert (tmp_path / "anchor.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    shown = cli("anchor", "--hour", "--qr", "--base-url", "https://cun.example.gov.cn", check=True).out
    assert "▀" in shown or "█" in shown
    assert "https://cun.example.gov.cn/audit/anchors?digest=" in shown
    assert cli("anchor", "--qr-file", str(tmp_path / "anchor.gif")).code == 2


def _as_before_state_digests(world, instance: int) -> None:
    """What a database written before state digests looks like: the same chain without them."""
    with world.sessions() as session:
        events = session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance).order_by(HistoryEvent.seq)
        ).all()
        prev, updates = GENESIS, []
        for event in events:
            prev = event_hash(prev, **{**history_fields(event), "state_digest": None})
            updates.append(
                ("UPDATE history_event SET state_digest = NULL, hash = :h WHERE id = :e", {"h": prev, "e": event.id})
            )
    _sql(world, *updates, ("UPDATE process_instance SET history_head = :h WHERE id = :i", {"h": prev, "i": instance}))


def test_init_seals_matters_whose_events_predate_state_digests(world, cli: Cli):
    instance = _proposed(world)
    _as_before_state_digests(world, instance)
    assert _bad(world) is None  # an old chain verifies as it did
    assert cli("doctor", "--json", check=True).json()["unsealed"] == 1
    assert "1 matter(s) sealed" in cli("init", check=True).out
    assert cli("doctor", "--json", check=True).json()["unsealed"] == 0
    assert world.history(instance)[-1].kind == "state_sealed"
    assert "sealed" not in cli("init", check=True).out  # once
    _edit_saved_amount(world, instance, 120)
    assert _bad(world).code == "state"
