"""The rule set as data (validated, versioned, per county) and the scores and grades it drives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.persistence.models import AuditLog
from engine.supervision import rules, scores
from tests.conftest import ROOT
from tests.engine.supervision.conftest import T0

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
SHORT = {"members": 30, "present": 12, "votes_for": 12, "votes_against": 0, "abstain": 0}

COUNTY = """
supervision:
  version: "2026.2-qx"
  reminder_at_percent: 50
  violations:
    step_overdue:
      title: 办理超期
      severity: yellow
      points: {yellow: 4, red: 8}
      legal_basis: 清溪县村级小微权力监督办法第七条
  deadlines:
    - {item: mini_decision, step: propose, red_after: PT12H}
"""

BROKEN = """
supervision:
  reminder_at_percent: 150
  checks:
    - id: sneaky
      code: no_such_violation
      item: mini_decision
      steps: [propose]
      when: '__import__("os").system("id")'
      message: x
    - id: unknown_key
      code: step_forced
      item: mini_decision
      steps: [propose]
      when: amount_fen > rule("mini.no_such_threshold")
      message: x
  deadlines:
    - {item: mini_decision, step: resolve, limit: P1M}
"""


def test_the_default_rule_set_and_the_example_override_are_valid():
    assert rules.validate(rules.base_data()) == []
    example = ROOT / "rules" / "examples" / "county_override.yaml"
    merged = rules.merge(rules.base_data(), rules.parse_text(example.read_text(encoding="utf-8")))
    assert rules.validate(merged) == []
    assert rules.RuleBook(merged, "x").grade(85) == ("B", None)


def test_a_broken_rule_file_is_refused_with_every_problem_and_nothing_is_stored(world):
    bad = rules.merge(rules.base_data(), rules.parse_text(BROKEN))
    problems = rules.validate(bad)
    assert any("reminder_at_percent" in p for p in problems)  # schema errors come first and alone
    fixed = BROKEN.replace("reminder_at_percent: 150", "reminder_at_percent: 50")
    with pytest.raises(rules.RulesInvalid) as refused, world.sessions() as session, session.begin():
        rules.activate(session, fixed, "admin", "QX")
    text = "\n".join(refused.value.problems)
    assert "no_such_violation" in text and "__import__" in text
    assert "mini.no_such_threshold" in text and "P1M" in text
    with world.sessions() as session:
        assert rules.versions(session) == []


def test_a_county_version_changes_points_and_deadlines_and_is_recorded(world):
    with world.sessions() as session, session.begin():
        first = rules.activate(session, COUNTY, "admin", "QX", "qingxi.yaml")
        assert (first.scope, first.version) == ("QX", 1)
    instance = world.start("mini_decision")
    assert [t.kind for t in world.timers(instance_id=instance)][:1] == ["task_reminder"]
    reminder = world.timers(instance_id=instance, kind="task_reminder")[0]
    assert reminder.due_at.replace(tzinfo=None) == (T0 + timedelta(days=1, hours=12)).replace(tzinfo=None)  # 50%
    world.sweep(T0 + timedelta(days=3, seconds=1))
    overdue = world.violations(instance, "step_overdue")[0]
    assert overdue["points"] == 4 and overdue["rule_version"] == "2026.2-qx@QX#1"
    assert overdue["legal_basis"] == "清溪县村级小微权力监督办法第七条"
    world.sweep(T0 + timedelta(days=3, hours=12))  # red after PT12H in this county
    assert world.violations(instance, "step_overdue")[0]["points"] == 8
    with world.sessions() as session, session.begin():
        second = rules.activate(session, COUNTY.replace("2026.2-qx", "2026.3-qx"), "admin", "QX", "qingxi.yaml")
        assert second.version == 2
        assert [(v.version, v.active) for v in rules.versions(session)] == [(1, False), (2, True)]
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "rules.activate")).all()
        assert [a.detail["version"] for a in logged] == [1, 2] and logged[0].actor == "admin"


def test_scores_grades_and_notices(world):
    for _ in range(2):
        instance = world.start("mini_decision")
        world.complete(instance, "propose", PROPOSE)
        world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})  # step_forced: 5 points
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.complete(instance, "resolve", SHORT, waive="台风天气")  # quorum_not_met: 10 points
    with world.sessions() as session:
        result = scores.scores(session, "2026Q4", "QX01")
    village = {v["village"]: v for v in result["villages"]}
    assert (village["QX0101"]["score"], village["QX0101"]["grade"], village["QX0101"]["notice"]) == (80, "C", "warning")
    assert (village["QX0102"]["score"], village["QX0102"]["grade"]) == (100, "A")
    cadres = {(c["user"], c["unit"]): c for c in result["cadres"]}
    assert cadres[("dongxi.agency", "QX01")]["deducted"] == 10  # a town user, listed under the town
    assert cadres[("shangtang.chair", "QX0101")]["deducted"] == 10
    with world.sessions() as session, session.begin():
        issued = scores.issue_notices(session, "2026Q4", "dongxi.discipline", "QX01")
        assert issued == [{"village": "QX0101", "grade": "C", "kind": "warning", "score": 80}]
        assert scores.issue_notices(session, "2026Q4", "dongxi.discipline", "QX01") == []  # once per period
    forced = world.violations(code="step_forced")[0]
    from engine.supervision.violations import act

    with world.sessions() as session, session.begin():
        act(session, forced["id"], "close", "dongxi.discipline", "复核为误报", dismiss=True)  # red: the town
        assert scores.scores(session, "2026Q4", "QX0101")["villages"][0]["score"] == 85


def test_rule_and_calendar_commands(world, cli, tmp_path):
    county = tmp_path / "qingxi.yaml"
    county.write_text(COUNTY, encoding="utf-8")
    assert cli("rules", "validate", str(county)).code == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN.replace("150", "50"), encoding="utf-8")
    refused = cli("rules", "validate", str(broken))
    assert refused.code == 2 and "no_such_violation" in refused.out
    assert cli("rules", "activate", str(broken), "--as", "admin").code == 2
    assert cli("rules", "activate", str(county), "--as", "admin", "--county", "QX01").code == 1  # a town
    done = cli("rules", "activate", str(county), "--as", "admin", "--county", "QX")
    assert done.code == 0 and "QX v1" in done.out
    shown = cli("rules", "show", "--county", "QX", "--json", check=True).json()
    assert shown["version"] == "2026.2-qx@QX#1" and shown["supervision"]["reminder_at_percent"] == 50
    assert cli("rules", "show", "--json", check=True).json()["supervision"]["reminder_at_percent"] == 80
    calendar = tmp_path / "2027.yaml"
    calendar.write_text("year: 2027\nholidays: [2027-01-01, 2026-10-01]\nworkdays: [2027-01-04]\n", encoding="utf-8")
    checked = cli("calendar", "validate", str(calendar))
    assert checked.code == 2 and "not in 2027" in checked.out and "is a weekday" in checked.out
    assert "2026-10-01" in cli("calendar", "show", "--year", "2026", check=True).out


def test_sweep_command_needs_simulated_time_for_as_of(world, cli):
    instance = world.start("mini_decision")
    refused = cli("sweep", "--as-of", "2026-11-06T00:00:00+08:00")
    assert refused.code == 2 and "POWERLIST_ALLOW_SIMULATED_TIME" in refused.err
    env = {"POWERLIST_ALLOW_SIMULATED_TIME": "1"}
    swept = cli("sweep", "--as-of", "2026-11-06T00:00:00+08:00", env=env)
    assert swept.code == 0, swept.err
    assert "task_due" in swept.out and "办理超期" in swept.out
    assert cli("sweep", "--as-of", "2026-11-06T00:00:00+08:00", env=env).out.strip() == "nothing due"
    # Swept only after the deadline: the reminder is stale and stays silent.
    assert [v["code"] for v in world.violations(instance)] == ["step_overdue"]
