"""三级联动 as rule data: a warning starts at the level its colour says (red: the town at once), an
unhandled one moves up after working days counted over weekends, holidays and 调休, a county's own rule
set changes the delays, a colour raised later moves it up at once, and a complaint goes to the level its
complexity says (general: the village committee, complex: the town, special: the county)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import api, queries
from engine.calendar import CST
from engine.errors import FormInvalid
from engine.org.service import get_unit, get_user
from engine.persistence.models import OpenTask
from engine.supervision import rules, scores
from engine.supervision.models import Violation
from engine.supervision.queries import list_violations
from engine.supervision.violations import Finding, book_for_village, handles_now, raise_violation
from tests.conftest import ROOT
from tests.engine.supervision.conftest import T0, VILLAGE
from tests.support import files

COMPLAINT = ROOT / "processes" / "complaint" / "complaint.bpmn"
PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
SUPERVISOR, TOWN, COUNTY = "shangtang.supervisor", "dongxi.discipline", "county.discipline"
# Wednesday 30 September 2026, 09:00 China time: the National Day week (1–7 October) follows, and
# Saturday 10 October is worked (调休).
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 1, 0, tzinfo=UTC)


def _local(day: str, clock: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST).astimezone(UTC)


def _raise(world, code: str, at: datetime, key: str) -> int:
    with world.sessions() as session, session.begin():
        village = get_unit(session, VILLAGE)
        finding = Finding(code=code, village_id=village.id, dedup_key=f"test:{key}", message="测试")
        return raise_violation(session, book_for_village(session, village.id), finding, at).id


def _handlers(world, violation_id: int) -> list[str]:
    """Who of the village committee, the town and the county commission must handle it now."""
    with world.sessions() as session:
        violation = session.get(Violation, violation_id)
        book = book_for_village(session, violation.village_id)
        return [u for u in (SUPERVISOR, TOWN, COUNTY) if handles_now(session, book, get_user(session, u), violation)]


def _inbox(world, username: str) -> list[int]:
    with world.sessions() as session:
        return [v.id for v in list_violations(session, username=username)]


def _escalation_due(world, violation_id: int) -> datetime:
    """When the violation's pending escalation from its current level is due (an earlier level's is obsolete)."""
    level = world.detail(violation_id)["level"]
    timers = world.timers(violation_id=violation_id, kind="escalation")
    [timer] = [t for t in timers if not t.fired and t.payload["level"] == level]
    return timer.due_at.replace(tzinfo=UTC)


def test_a_red_warning_goes_to_the_town_at_once_and_its_chain_says_why(world):
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})
    [red] = world.violations(instance, "step_forced")
    assert (red["severity"], red["level"], red["supervisor"]) == ("red", "town", "镇纪委")
    assert _handlers(world, red["id"]) == [TOWN]
    assert red["id"] in _inbox(world, TOWN) and red["id"] not in _inbox(world, SUPERVISOR)
    raised = world.detail(red["id"])["history"][0]
    assert raised["kind"] == "raised"
    assert raised["data"]["routed"] == {
        "level": "town",
        "role": "town_discipline",
        "title": "镇纪委",
        "rule": "escalation.starts_at.red",
        "severity": "red",
        "calendar": "working",
        "unhandled_after": "P5D",
    }
    # Five working days at the town (Monday 2 November: to the end of Monday 9 November), then the county.
    assert _escalation_due(world, red["id"]).astimezone(CST) == datetime(2026, 11, 9, 23, 59, 59, tzinfo=CST)
    world.sweep(_local("2026-11-09", "23:00"))
    assert world.detail(red["id"])["level"] == "town"
    world.sweep(_local("2026-11-10", "00:01"))
    assert _handlers(world, red["id"]) == [COUNTY]
    # Where it is handled does not move whom it counts against: the forced step's unit keeps the points.
    with world.sessions() as session:
        result = scores.scores(session, "2026Q4", "QX")
    units = {u["unit"]: u for u in result["units"]}
    assert red["responsible_role"] == "committee_chair"  # the village's 决议 step, forced by the town agency
    assert units["QX0101"]["deducted"] == sum(v["points"] for v in world.violations(instance)) >= red["points"]
    assert units["QX01"]["deducted"] == units["QX"]["deducted"] == 0


def test_a_yellow_warning_waits_its_working_days_across_the_national_day_week(world, now):
    # The default delays; only the rectification deadline (15 calendar days, which would move it first
    # on 15 October) is put off, so that what moves it is its escalation.
    with world.sessions() as session, session.begin():
        rules.activate(session, "supervision:\n  rectification: {within: P30D}\n", "county.admin", scope="QX")
    yellow = _raise(world, "posting_too_short", BEFORE_NATIONAL_DAY, "yellow")
    assert _handlers(world, yellow) == [SUPERVISOR]
    # P7D in working days from Wednesday 30 September: 8, 9, 10 (调休 Saturday), 12, 13, 14, 15 October;
    # by the clock it would have moved on 7 October, in the middle of the holiday.
    assert _escalation_due(world, yellow).astimezone(CST) == datetime(2026, 10, 15, 23, 59, 59, tzinfo=CST)
    world.sweep(_local("2026-10-07"))
    world.sweep(_local("2026-10-15", "23:00"))
    assert world.detail(yellow)["level"] == "village"
    world.sweep(_local("2026-10-16", "00:01"))
    moved = world.detail(yellow)
    assert (moved["status"], moved["level"], moved["history"][-1]["actor"]) == ("escalated", "town", "system")
    assert _handlers(world, yellow) == [TOWN]
    # Ten more working days at the town after the day it came: 19–23, 26–30 October.
    assert _escalation_due(world, yellow).astimezone(CST) == datetime(2026, 10, 30, 23, 59, 59, tzinfo=CST)


def test_a_countys_own_rule_set_changes_the_delays_and_moves_blue_reminders_too(world):
    override = """
supervision:
  escalation:
    unhandled_after:
      blue: {village: P2D}
      yellow: {village: P3D}
      red: {town: P1D}
"""
    with world.sessions() as session, session.begin():
        rules.activate(session, override, "county.admin", scope="QX")
    blue = _raise(world, "step_due_soon", BEFORE_NATIONAL_DAY, "blue")
    yellow = _raise(world, "posting_too_short", BEFORE_NATIONAL_DAY, "yellow")
    red = _raise(world, "split_payment", BEFORE_NATIONAL_DAY, "red")
    due = {v: _escalation_due(world, v).astimezone(CST).date().isoformat() for v in (blue, yellow, red)}
    # Two working days after 30 September are 8 and 9 October; three end on the worked Saturday 10 October.
    assert due == {blue: "2026-10-09", yellow: "2026-10-10", red: "2026-10-08"}
    world.sweep(_local("2026-10-09", "23:00"))
    assert [world.detail(v)["level"] for v in (blue, yellow, red)] == ["village", "village", "county"]
    world.sweep(_local("2026-10-10", "00:01"))
    assert [world.detail(v)["level"] for v in (blue, yellow, red)] == ["town", "village", "county"]
    world.sweep(_local("2026-10-11", "00:01"))
    assert [world.detail(v)["level"] for v in (blue, yellow, red)] == ["town", "town", "county"]
    # The county changed the village's delays only: a blue reminder stays with the town, a yellow
    # warning keeps the default ten working days there (12–16, 19–23 October).
    waiting = [(t.violation_id, t.payload["level"]) for t in world.timers(kind="escalation") if not t.fired]
    assert waiting == [(yellow, "town")]
    assert _escalation_due(world, yellow).astimezone(CST).date().isoformat() == "2026-10-23"


def test_a_county_may_start_red_warnings_with_the_village_and_count_every_day(world):
    override = """
supervision:
  escalation:
    starts_at: {red: village}
    calendar: calendar
    unhandled_after: {red: P3D}
"""
    with world.sessions() as session, session.begin():
        rules.activate(session, override, "county.admin", scope="QX")
        assert rules.validate(rules.merge(rules.base_data(), rules.parse_text(override))) == []
    red = _raise(world, "split_payment", BEFORE_NATIONAL_DAY, "red")
    assert _handlers(world, red) == [SUPERVISOR]
    assert _escalation_due(world, red) == BEFORE_NATIONAL_DAY + timedelta(days=3)  # in the holiday


def test_a_rule_set_whose_levels_are_not_in_its_chain_is_refused(world):
    wrong = """
supervision:
  escalation:
    starts_at: {red: province}
    unhandled_after: {yellow: {village: P1D, town: Psoon}}
  complaints:
    flow: complaint
    step: triage
    levels: {general: town, complex: village, special: county}
"""
    with pytest.raises(rules.RulesInvalid) as refused, world.sessions() as session, session.begin():
        rules.activate(session, wrong, "county.admin", scope="QX")
    assert any("starts_at" in p for p in refused.value.problems)
    chained = rules.merge(rules.base_data(), rules.parse_text(wrong.replace("province", "town")))
    problems = rules.validate(chained)
    assert any("unhandled_after/yellow/town" in p for p in problems)
    assert any("a more complex report never goes to a lower level" in p for p in problems)


def test_a_yellow_warning_turned_red_jumps_to_the_town_at_once(world):
    instance = world.start("mini_decision")  # 提议 within P3D (calendar days) from Monday 2 November
    world.sweep(T0 + timedelta(days=3, seconds=1))
    [overdue] = world.violations(instance, "step_overdue")
    assert (overdue["severity"], overdue["level"]) == ("yellow", "village")
    world.sweep(T0 + timedelta(days=6, seconds=1))  # red_after P3D: Sunday 8 November
    jumped = world.detail(overdue["id"])
    assert (jumped["severity"], jumped["status"], jumped["level"]) == ("red", "escalated", "town")
    kinds = [e["kind"] for e in jumped["history"]]
    assert kinds[kinds.index("upgraded") + 1] == "escalated"
    moved = jumped["history"][kinds.index("upgraded") + 1]["data"]
    assert moved["set"] == {"status": "escalated", "level": "town"} and "镇纪委" in moved["note"]
    assert moved["routed"]["rule"] == "escalation.starts_at.red"
    assert _handlers(world, overdue["id"]) == [TOWN]
    # The village's yellow delay no longer applies; the town's red one does: 9–13 November.
    assert _escalation_due(world, overdue["id"]).astimezone(CST).date().isoformat() == "2026-11-13"
    world.sweep(_local("2026-11-14"))
    assert world.detail(overdue["id"])["level"] == "county"
    # A red propose step of the village is still the village's deduction.
    with world.sessions() as session:
        result = scores.scores(session, "2026Q4", "QX01")
    units = {u["unit"]: u for u in result["units"]}
    assert units["QX0101"]["deducted"] == jumped["points"] == 3 and units["QX01"]["deducted"] == 0


# --- complaints: the level their complexity says -------------------------------------------------------

START = {
    "channel": "phone",
    "received_on": "2026-11-02",
    "about": "cadres",
    "content": "村道硬化工程用料偷工减料",
    "location": "村东头新修的村道",
    "anonymous": False,
    "has_contact": False,
}
TRIAGE = {
    "reporter_name": "村民甲",
    "reporter_contact": "13812345678",
    "subject": "村道硬化工程",
    "category": "project",
    "triage_reason": "按问题性质分流",
}


def _complaint(world) -> tuple[int, str]:
    world.deploy(COMPLAINT)
    with world.sessions() as session, session.begin():
        instance = api.start(session, "complaint", VILLAGE, SUPERVISOR, START, "电话反映村道质量").instance_id
    return instance, world.task(instance, "triage").id


def _triage(world, task_id: str, **data) -> None:
    with world.sessions() as session, session.begin():
        files.complete(session, task_id, SUPERVISOR, {**TRIAGE, **data})


def _sees(world, instance: int) -> list[str]:
    """Who of the village committee, the town and the county commission has the report's step in their list."""
    found = []
    for username in (SUPERVISOR, TOWN, COUNTY, "xiling.discipline"):
        with world.sessions() as session:
            if any(t.instance == instance for t in queries.open_tasks(session, username=username)):
                found.append(username)
    return found


@pytest.mark.parametrize(
    ("complexity", "level", "step", "unit", "handler"),
    [
        ("general", "village", "handle_village", "QX0101", SUPERVISOR),
        ("complex", "town", "handle_town", "QX01", TOWN),
        ("special", "county", "handle_county", "QX", COUNTY),
    ],
)
def test_a_complaint_lands_at_the_level_its_complexity_says(world, complexity, level, step, unit, handler):
    instance, triage = _complaint(world)
    _triage(world, triage, complexity=complexity, handling_level=level)
    [task] = world.tasks(instance)
    assert task.step == step
    with world.sessions() as session:
        assert session.get(OpenTask, task.id).org_unit_id == get_unit(session, unit).id
    assert _sees(world, instance) == [handler]


def test_a_complex_or_special_complaint_is_never_kept_below_its_level(world):
    instance, triage = _complaint(world)
    for complexity, chosen, title in (("complex", "village", "镇纪委"), ("special", "town", "县纪委")):
        with pytest.raises(FormInvalid) as refused:
            _triage(world, triage, complexity=complexity, handling_level=chosen)
        [error] = refused.value.errors
        assert error.field == "handling_level" and "三级联动" in error.message and title in error.message
    assert [t.step for t in world.tasks(instance)] == ["triage"]  # nothing of the refused steps was kept
    # Higher than its complexity is allowed (村里查不清的往上交): a general report sent to the town.
    _triage(world, triage, complexity="general", handling_level="town")
    assert [t.step for t in world.tasks(instance)] == ["handle_town"]


def test_a_countys_rule_set_sends_a_category_and_a_complexity_elsewhere(world):
    override = """
supervision:
  complaints:
    flow: complaint
    step: triage
    levels: {general: village, complex: county, special: county}
    categories: {finance: complex}
"""
    with world.sessions() as session, session.begin():
        rules.activate(session, override, "county.admin", scope="QX")
    instance, triage = _complaint(world)
    with pytest.raises(FormInvalid) as refused:  # finance is at least complex, complex is the county's
        _triage(world, triage, category="finance", complexity="general", handling_level="town")
    assert "县纪委" in refused.value.errors[0].message and "按问题类别" in refused.value.errors[0].message
    with pytest.raises(FormInvalid):  # without a complexity, the category alone decides
        _triage(world, triage, category="finance", handling_level="village")
    _triage(world, triage, category="finance", handling_level="county")
    assert _sees(world, instance) == [COUNTY]
