"""A violation's life: it reaches the right supervisor, moves up the chain when ignored, is handled by
people or by the rectification flow, and its record cannot be changed unseen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine.errors import InvalidState, PermissionDenied, PowerlistError
from engine.supervision.queries import list_violations
from engine.supervision.violation_chain import verify
from engine.supervision.violations import act
from tests.engine.supervision.conftest import T0

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
SUBMIT = {
    "responsible_name": "张建国",
    "cause": "会议未能召开",
    "measures": "重新召开村民代表会议表决",
    "result": "已补开会议并公示决议",
    "completed_on": "2026-11-10",
}


def _forced(world) -> tuple[int, dict]:
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})
    return instance, world.violations(instance, "step_forced")[0]


def _inbox(world, username: str) -> list[int]:
    with world.sessions() as session:
        return [v.id for v in list_violations(session, username=username)]


def _act(world, violation_id: int, action: str, actor: str, note: str = "已核实", **options):
    with world.sessions() as session, session.begin():
        return act(session, violation_id, action, actor, note, **options).status


def test_an_ignored_warning_moves_up_the_chain_until_someone_takes_it(world, now):
    _instance, violation = _forced(world)
    # A red warning is the town discipline commission's at once (escalation.starts_at).
    assert violation["level"] == "town" and violation["supervisor"] == "镇纪委"
    assert _inbox(world, "dongxi.discipline") == [violation["id"]]
    assert _inbox(world, "shangtang.supervisor") == []
    assert _inbox(world, "county.discipline") == []
    world.sweep(T0 + timedelta(days=3, seconds=1))  # red: unhandled at the town after P5D working days
    assert _inbox(world, "dongxi.discipline") == [violation["id"]]
    world.sweep(T0 + timedelta(days=8))  # Tuesday 10 November: past Monday 9 November
    assert violation["id"] not in _inbox(world, "dongxi.discipline")
    assert _inbox(world, "county.discipline") == [violation["id"]]
    moved = world.detail(violation["id"])
    assert (moved["status"], moved["level"], moved["history"][-1]["actor"]) == ("escalated", "county", "system")
    with pytest.raises(PermissionDenied):  # the town commission no longer handles it
        _act(world, violation["id"], "ack", "dongxi.discipline")
    with pytest.raises(PermissionDenied):  # the village committee never did
        _act(world, violation["id"], "ack", "shangtang.supervisor")
    assert _act(world, violation["id"], "ack", "county.discipline", "已约谈村主任") == "acknowledged"
    world.sweep(T0 + timedelta(days=12))  # acknowledged: no further escalation
    assert world.detail(violation["id"])["level"] == "county"
    with pytest.raises(PowerlistError):
        _act(world, violation["id"], "rectify", "shangtang.chair", " ")  # a note is required
    assert _act(world, violation["id"], "rectify", "shangtang.chair", "已补开会议") == "rectified"
    with pytest.raises(InvalidState):
        _act(world, violation["id"], "ack", "county.discipline")
    assert _act(world, violation["id"], "close", "county.discipline", "整改到位") == "closed"
    closed = world.detail(violation["id"])
    assert closed["outcome"] == "rectified"
    assert [(e["kind"], e["actor"]) for e in closed["history"]][-4:] == [
        ("escalated", "system"),
        ("acknowledged", "county.discipline"),
        ("rectified", "shangtang.chair"),
        ("closed", "county.discipline"),
    ]


def test_the_violation_record_is_tamper_evident(world):
    _instance, violation = _forced(world)
    _act(world, violation["id"], "ack", "dongxi.discipline")
    with world.sessions() as session:
        assert verify(session).ok
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE violation SET status = 'closed', points = 0 WHERE id = :id"), {"id": violation["id"]})
    with world.sessions() as session:
        report = verify(session)
    assert not report.ok and "row was altered" in report.bad
    with world.engine.begin() as conn:
        conn.execute(
            text("UPDATE violation SET status = 'acknowledged', points = 5 WHERE id = :id"), {"id": violation["id"]}
        )
        conn.execute(
            text("UPDATE violation_event SET data = replace(data, '已核实', '未核实') WHERE violation_id = :id"),
            {"id": violation["id"]},
        )
    with world.sessions() as session:
        report = verify(session)
    assert not report.ok and "hash does not match" in report.bad


def test_a_red_violation_starts_the_rectification_flow_which_moves_it_along(rectification_flow, now):
    world = rectification_flow
    _instance, violation = _forced(world)
    flow = violation["rectification_instance"]
    assert flow is not None
    task = world.task(flow)
    assert (task.step, task.role) == ("submit_committee_chair", "committee_chair")  # the owner
    started = world.history(flow)[0]
    assert started.actor == "system" and started.data["data"]["violation_code"] == "step_forced"

    now(T0 + timedelta(days=2))
    world.complete(flow, "submit_committee_chair", SUBMIT)
    assert world.detail(violation["id"])["status"] == "rectified"
    check = {"check_result": "rework", "checkers": ["王监督"], "checked_on": "2026-11-05", "opinion": "会议记录不全"}
    world.complete(flow, "check", check)
    assert world.detail(violation["id"])["status"] == "acknowledged"  # sent back
    world.complete(flow, "submit_committee_chair", SUBMIT)
    world.complete(flow, "check", {**check, "check_result": "accepted", "opinion": ""})
    done = world.detail(violation["id"])
    assert (done["status"], done["outcome"]) == ("closed", "rectified")
    assert [e["kind"] for e in done["history"]] == [
        "raised",
        "rectification_started",
        "rectification_submitted",
        "rectification_rejected",
        "rectification_submitted",
        "closed",
    ]


def test_an_ignored_rectification_moves_up_the_chain(rectification_flow):
    world = rectification_flow
    _instance, violation = _forced(world)
    world.sweep(T0 + timedelta(days=3, seconds=1))  # nobody acknowledged it: to the town
    _act(world, violation["id"], "ack", "dongxi.discipline", "已督促村主任整改")
    world.sweep(T0 + timedelta(days=14))
    assert world.detail(violation["id"])["level"] == "town"
    world.sweep(T0 + timedelta(days=15, seconds=1))  # the owner let the rectification step lapse: to the county
    ignored = world.detail(violation["id"])
    assert (ignored["status"], ignored["level"]) == ("escalated", "county")
    assert "整改环节" in ignored["history"][-1]["data"]["note"]
    assert violation["id"] in {v["id"] for v in world.violations() if v["supervisor"] == "县纪委"}


def test_violation_commands(world, cli):
    _instance, violation = _forced(world)
    listed = cli("violations", "--as", "dongxi.discipline", "--json", check=True).json()  # red: the town's
    assert [v["id"] for v in listed] == [violation["id"]]
    assert cli("violations", "--as", "xiling.discipline", "--json", check=True).json() == []
    refused = cli("violation", "ack", str(violation["id"]), "--as", "shangtang.supervisor", "--note", "看到了")
    assert refused.code == 1 and "无权处理这条预警" in refused.err
    ok = cli("violation", "ack", str(violation["id"]), "--as", "dongxi.discipline", "--note", "已受理")
    assert ok.code == 0 and "acknowledged" in ok.out
    dismissed = cli(
        "violation", "close", str(violation["id"]), "--as", "dongxi.discipline", "--note", "误报", "--dismiss"
    )  # a red warning is dismissed by the town, not the village committee alone
    assert dismissed.code == 0
    shown = cli("violation", "show", str(violation["id"]), "--json", check=True).json()
    assert (shown["status"], shown["outcome"]) == ("closed", "dismissed")
    assert cli("violation", "verify", check=True).out.startswith("ok: 1 violations")
    assert "step_forced" not in cli("violations", "--status", "open", check=True).out
