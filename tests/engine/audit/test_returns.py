"""A sanctioned return (退回) and the step done again after it are a return, not a repeat: in the
conformance check of our own histories, the replay and the heatmap. A repeat without a return is
still a repeat."""

from __future__ import annotations

from datetime import timedelta

from engine.audit import replay
from engine.audit.histories import Scope, check_histories
from tests.engine.audit.conftest import RETURN_REASON, T0, found

KEY = "four_deliberations"


def test_conformance_and_heatmap_take_a_return_as_a_return_and_still_find_a_repeat(returned):
    with returned.sessions() as session:
        findings = check_histories(session, Scope(key=KEY))
        log = findings.log
    by_case = found(findings)
    assert str(returned.returned) not in by_case  # 商议 done twice, after a return: no repeat, no swap
    assert by_case[str(returned.repeated)] == [("repeat", "implement")]
    case = log.case_ids.index(str(returned.returned))
    [note] = log.returns(case)
    assert (note.step, note.target, note.reason, note.pos) == ("review", "discuss", RETURN_REASON, 2)
    steps = [log.activity(e) for e in log.events(case)]
    assert steps[:4] == ["propose", "discuss", "discuss", "review"]

    with returned.sessions() as session:
        heat = replay.heatmap(session, KEY)
    steps = {s["step"]: s for s in heat["steps"]}
    assert steps["discuss"]["returns"] == 1 and steps["discuss"]["repeat"] == 0
    assert steps["discuss"]["reworked"] == 1  # the second pass is rework, a legal one
    assert steps["implement"]["repeat"] == 1 and steps["implement"]["returns"] == 0
    assert heat["deviating_cases"] == 1


def test_replay_shows_the_return_and_the_second_pass(returned):
    with returned.sessions() as session:
        halfway = replay.replay(session, returned.returned, as_of=T0 + timedelta(days=3, hours=12))
        record = replay.replay(session, returned.returned)
    assert halfway["deviations"] == [] and [r["to"] for r in halfway["returns"]] == ["discuss"]
    [back] = record["returns"]
    assert (back["from"], back["from_name"], back["to"], back["to_name"]) == ("review", "审议", "discuss", "商议")
    assert back["reason"] == RETURN_REASON and back["by"] == "shangtang.secretary"
    discuss = [c for c in record["completions"] if c["step"] == "discuss"]
    assert [c["pass"] for c in discuss] == [1, 2]
    assert discuss[0]["returned"] is None and discuss[1]["returned"]["reason"] == RETURN_REASON
    assert discuss[1]["by"] == "shangtang.deputy"
    review = [c for c in record["completions"] if c["step"] == "review"]
    assert [c["pass"] for c in review] == [1] and review[0]["returned"] is None  # 审议 was never done
    assert record["deviations"] == []
    kinds = [p["kind"] for p in record["positions"]]
    assert "task_returned" in kinds and "task_transferred" in kinds
