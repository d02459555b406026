"""小型工程 by the catalogue (§F3): who decides by budget, the “两委” joint meeting, the minimum bidders
of a 比选, one inspection per month of works, and payments that cite their 先审后付 approval.

Each abuse is refused naming the field at fault; its lawful twin goes on to the next step. Driven
through engine.api by the demo users, like the example paths (tests/processes/test_flow_paths.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ruleset import rule
from tests.processes.driver import StepDriver, refused_on
from tests.processes.test_flow_paths import (
    Library,
    actor,
    examples,
    library,  # noqa: F401  (the module's database fixture)
)
from tests.support.matters import register_cited

KEY = "small_works"
VILLAGE = "QX0101"
FORMS = Path(__file__).resolve().parents[2] / "processes" / KEY / "forms"


def lawful(path: str, step: str) -> dict:
    """The data of ``step`` (its first occurrence) on the example path ``path``."""
    return dict(next(s.data for s in examples(KEY)[path].steps if s.step == step))


def purchase(**changes) -> dict:
    """A set-up below the resolution line, citing nothing."""
    return {**lawful("joint_meeting_passed", "project_setup"), "resolution_ref": "", **changes}


class Works(StepDriver):
    """One small_works matter of the demo village, done step by step by the holders of each step."""

    def __init__(self, lib: Library, title: str = "小型工程"):
        super().__init__(lib, KEY, "committee_chair", title, VILLAGE)


@pytest.fixture(scope="module")
def register(library: Library) -> dict[str, str]:  # noqa: F811
    """A passed 四议两公开 resolution and an approved 先审后付 payment of the demo village, by name."""
    with library.sessions() as session, session.begin():
        return register_cited(session, examples(KEY)["resolution_at_line"], actor("town_agency", VILLAGE))


@pytest.fixture
def works(library: Library) -> Iterator[Works]:  # noqa: F811
    yield Works(library)


def to_inspection(works: Works) -> Works:
    """The 1,500-yuan purchase up to its inspection step."""
    works.done("project_setup", lawful("direct_purchase", "project_setup"))
    works.done("direct_award", lawful("direct_purchase", "direct_award"))
    works.done("sign_contract", lawful("direct_purchase", "sign_contract"))
    return works


# --- who decides, by budget ------------------------------------------------------------------------


def test_the_tier_lines_are_rule_data_and_the_resolution_line_is_the_four_deliberations_one() -> None:
    assert rule("small_works.joint_meeting_min_fen") == 200000
    assert rule("four_deliberations.min_amount_fen") == 5000000


@pytest.mark.parametrize(
    ("budget_fen", "next_step"),
    [
        (150000, "direct_award"),  # 1,500 yuan: decided directly, no meeting, no resolution
        (199999, "direct_award"),  # just under 2,000
        (200000, "joint_meeting"),  # exactly 2,000 belongs to the upper tier
        (3000000, "joint_meeting"),
        (4999999, "joint_meeting"),  # just under 50,000
    ],
)
def test_below_the_resolution_line_no_resolution_is_asked(works: Works, budget_fen: int, next_step: str) -> None:
    works.done("project_setup", purchase(budget_fen=budget_fen))
    assert works.steps() == [next_step]


def test_at_the_resolution_line_the_set_up_cites_a_passed_resolution(works: Works, register: dict) -> None:
    at_line = lawful("resolution_at_line", "project_setup")
    assert at_line["budget_fen"] == rule("four_deliberations.min_amount_fen")
    errors = works.refused("project_setup", {**at_line, "resolution_ref": ""})
    assert refused_on(errors, "resolution_ref", "四议两公开", "无决议不得立项")
    errors = works.refused("project_setup", {**at_line, "resolution_ref": "随便写"})
    assert refused_on(errors, "resolution_ref", "随便写")
    errors = works.refused("project_setup", {**at_line, "resolution_ref": register["line_paid"]})
    assert refused_on(errors, "resolution_ref", register["line_paid"])
    works.done("project_setup", {**at_line, "resolution_ref": register["line_resolution"]})
    assert works.steps() == ["direct_award"], "a resolution decides the project: no joint meeting"


# --- the “两委” joint meeting ------------------------------------------------------------------------


def test_a_joint_meeting_without_quorum_is_refused(works: Works) -> None:
    works.done("project_setup", purchase())
    meeting = lawful("joint_meeting_passed", "joint_meeting")
    errors = works.refused("joint_meeting", {**meeting, "members": 7, "present": 3, "votes_for": 3, "votes_against": 0})
    assert refused_on(errors, "present", "过半数成员到会")
    works.done("joint_meeting", {**meeting, "members": 7, "present": 4, "votes_for": 4, "votes_against": 0})
    assert works.steps() == ["direct_award"], "4 of 7 present, all 4 in favour: more than half of the members"


def test_a_joint_meeting_passes_only_with_more_than_half_of_the_members_in_favour(works: Works) -> None:
    works.done("project_setup", purchase())
    meeting = {**lawful("joint_meeting_passed", "joint_meeting"), "members": 7, "present": 5}
    errors = works.refused("joint_meeting", {**meeting, "votes_for": 3, "votes_against": 2, "passed": True})
    assert refused_on(errors, "passed", "表决结果与票数不符")
    works.done("joint_meeting", {**meeting, "votes_for": 4, "votes_against": 1, "passed": True})
    assert works.steps() == ["direct_award"]


def test_a_joint_meeting_that_does_not_pass_ends_the_project(works: Works) -> None:
    works.done("project_setup", purchase())
    meeting = lawful("joint_meeting_passed", "joint_meeting")
    works.done("joint_meeting", {**meeting, "present": 6, "votes_for": 3, "votes_against": 3, "passed": False})
    assert works.steps() == []
    assert works.ended_at() == ["end_not_approved"]


# --- 比选 with the minimum number of bidders --------------------------------------------------------


def test_a_comparison_with_too_few_bidders_is_refused(works: Works) -> None:
    works.done("project_setup", lawful("direct_purchase", "project_setup"))
    award = lawful("direct_purchase", "direct_award")
    assert award["selection_method"] == "comparison"
    minimum = rule("small_works.min_bidders")
    errors = works.refused("direct_award", {**award, "bidders_count": minimum - 1})
    assert refused_on(errors, "bidders_count", "比选的参与单位少于规定数量")
    works.done("direct_award", {**award, "bidders_count": minimum})
    assert works.steps() == ["sign_contract"]


# --- one inspection per started month ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"inspection_dates": ["2025-04-28", "2025-06-25"]}, "inspection_dates", "检查次数不足"),
        ({"inspection_dates": ["2025-04-28", "2025-04-28", "2025-06-25"]}, "inspection_dates", "检查次数不足"),
        ({"inspection_dates": ["2025-04-20", "2025-04-28", "2025-06-25"]}, "inspection_dates", "每个月都须有检查"),
        ({"inspection_dates": ["2025-04-20", "2025-04-28", "2025-05-20"]}, "inspection_dates", "检查次数不足"),
        ({"inspection_dates": ["2025-05-02", "2025-05-20", "2025-06-25"]}, "inspection_dates", "检查次数不足"),
        ({"inspection_dates": ["2025-04-10", "2025-05-20", "2025-06-25"]}, "inspection_dates", "开工至完工期间"),
        ({"inspection_dates": ["2025-04-28", "2025-05-20", "2025-07-02"]}, "inspection_dates", "开工至完工期间"),
        (
            {"started_on": "2025-04-05", "inspection_dates": ["2025-04-28", "2025-05-20", "2025-06-25"]},
            "started_on",
            "合同签订日期",
        ),
        (
            {"started_on": "2025-04-30", "inspection_dates": ["2025-05-01"], "completed_on": "2025-05-01"},
            "inspection_dates",
            "检查次数不足",
        ),
        ({"completed_on": "2025-04-14", "inspection_dates": ["2025-04-14"]}, "completed_on", "不得早于开工日期"),
    ],
    ids=[
        "a-month-skipped",
        "one-day-twice",
        "the-middle-month-skipped-another-twice",
        "none-in-the-last-month",
        "none-in-the-first-month",
        "before-start",
        "after-completion",
        "before-contract",
        "two-months-one-check",
        "completed-before-start",
    ],
)
def test_too_few_inspections_are_refused(works: Works, changes: dict, field: str, words: str) -> None:
    to_inspection(works)
    base = {**lawful("direct_award_below_audit_limit", "inspect_construction")}
    errors = works.refused("inspect_construction", {**base, **changes})
    assert refused_on(errors, field, words), errors


@pytest.mark.parametrize(
    "changes",
    [
        {
            "started_on": "2025-04-15",
            "inspection_dates": ["2025-04-28", "2025-05-20", "2025-06-25"],
            "completed_on": "2025-06-28",
        },
        {"started_on": "2025-04-30", "inspection_dates": ["2025-04-30", "2025-05-01"], "completed_on": "2025-05-01"},
        {"started_on": "2025-12-20", "inspection_dates": ["2025-12-28", "2026-01-15"], "completed_on": "2026-01-20"},
        {
            "started_on": "2025-04-15",
            "inspection_dates": ["2025-06-25", "2025-04-20", "2025-05-20", "2025-04-28"],
            "completed_on": "2025-06-28",
        },
        {"started_on": "2025-04-10", "inspection_dates": ["2025-04-12"], "completed_on": "2025-04-20"},
    ],
    ids=["three-months", "two-days-two-months", "over-the-new-year", "one-month-twice-in-any-order", "within-a-month"],
)
def test_one_inspection_in_every_month_goes_on_to_acceptance(works: Works, changes: dict) -> None:
    to_inspection(works)
    works.done("inspect_construction", {**lawful("direct_award_below_audit_limit", "inspect_construction"), **changes})
    assert works.steps() == ["acceptance"]


# --- payments go through 先审后付 ----------------------------------------------------------------


def test_the_citations_are_register_references_of_their_kind() -> None:
    setup = json.loads((FORMS / "project_setup.json").read_text(encoding="utf-8"))
    payment = json.loads((FORMS / "payment.json").read_text(encoding="utf-8"))
    reference = setup["properties"]["resolution_ref"]["x-reference"]
    assert reference == {"register": "decision", "kinds": ["resolution"]}
    assert "必填" not in setup["properties"]["resolution_ref"]["description"]
    assert payment["properties"]["fund_payment_ref"]["x-reference"] == {
        "register": "decision",
        "kinds": ["payment_approval"],
    }
    assert "先审后付" in payment["properties"]["fund_payment_ref"]["description"]


def test_a_payment_cites_an_approved_payment_matter(works: Works, register: dict) -> None:
    to_inspection(works)
    works.done("inspect_construction", lawful("direct_purchase", "inspect_construction"))
    works.done("acceptance", lawful("direct_purchase", "acceptance"))
    works.done("settlement", lawful("direct_purchase", "settlement"))
    payment = lawful("direct_purchase", "payment")
    errors = works.refused("payment", {**payment, "fund_payment_ref": "随便写"})
    assert refused_on(errors, "fund_payment_ref", "随便写")
    errors = works.refused("payment", {**payment, "fund_payment_ref": register["line_resolution"]})
    assert refused_on(errors, "fund_payment_ref", register["line_resolution"])
    works.done("payment", {**payment, "fund_payment_ref": register["line_paid"]})
    assert works.steps() == ["final_accounts"]


def test_a_skipped_middle_month_is_not_made_up_by_another_month_checked_twice(works: Works) -> None:
    """Three inspections for three months, the first and last months covered: May still had none."""
    to_inspection(works)
    base = lawful("joint_meeting_passed", "inspect_construction")
    assert (base["started_on"][:7], base["completed_on"][:7]) == ("2025-04", "2025-06")
    errors = works.refused(
        "inspect_construction", {**base, "inspection_dates": ["2025-04-20", "2025-04-28", "2025-06-25"]}
    )
    assert refused_on(errors, "inspection_dates", "检查次数不足", "每个月都须有检查"), errors
    works.done("inspect_construction", {**base, "inspection_dates": ["2025-04-20", "2025-05-28", "2025-06-25"]})
    assert works.steps() == ["acceptance"]


# --- who signs the acceptance, by contract amount ---------------------------------------------


def to_acceptance(works: Works, amount_fen: int) -> Works:
    """A works of ``amount_fen`` (decided by the joint meeting) up to its acceptance."""
    works.done("project_setup", purchase(budget_fen=amount_fen))
    works.done("joint_meeting", lawful("joint_meeting_passed", "joint_meeting"))
    works.done("direct_award", {**lawful("joint_meeting_passed", "direct_award"), "award_amount_fen": amount_fen})
    works.done("sign_contract", {**lawful("joint_meeting_passed", "sign_contract"), "contract_amount_fen": amount_fen})
    works.done("inspect_construction", lawful("joint_meeting_passed", "inspect_construction"))
    return works


def test_the_acceptance_panel_line_is_rule_data() -> None:
    assert rule("small_works.acceptance_panel_min_fen") == 2000000
    assert rule("small_works.min_acceptance_panel") == 5
    assert rule("small_works.min_acceptance_signers") == 2


def test_from_twenty_thousand_yuan_the_acceptance_needs_a_panel_of_five(works: Works) -> None:
    to_acceptance(works, rule("small_works.acceptance_panel_min_fen"))
    acceptance = lawful("joint_meeting_passed", "acceptance")
    errors = works.refused("acceptance", {**acceptance, "panel_members": ["孙主任", "张书记", "党员甲", "代表乙"]})
    assert refused_on(errors, "panel_members", "验收小组人数少于规定人数"), errors
    errors = works.refused("acceptance", {**acceptance, "panel_members": ["王监委", "孙主任"]})
    assert refused_on(errors, "panel_members", "验收小组人数少于规定人数"), errors
    errors = works.refused(
        "acceptance", {**acceptance, "panel_members": ["孙主任", "张书记", "党员甲", "代表乙", " 孙主任 "]}
    )
    assert refused_on(errors, "panel_members", "同一人只算一次"), errors
    works.done("acceptance", {**acceptance, "panel_members": ["孙主任", "张书记", "党员甲", "代表乙", "代表丙"]})
    assert works.steps() == ["settlement"]


def test_below_twenty_thousand_yuan_the_village_monitor_and_the_head_may_sign_alone(works: Works) -> None:
    to_acceptance(works, rule("small_works.acceptance_panel_min_fen") - 1)  # 19,999.99 yuan
    acceptance = lawful("joint_meeting_passed", "acceptance")
    errors = works.refused("acceptance", {**acceptance, "panel_members": ["孙主任"]})
    assert refused_on(errors, "panel_members", "验收小组人数少于规定人数"), errors
    errors = works.refused("acceptance", {**acceptance, "panel_members": ["孙主任", " 孙主任 "]})
    assert refused_on(errors, "panel_members", "同一人只算一次"), errors
    works.done("acceptance", {**acceptance, "panel_members": ["王监委", "孙主任"]})
    assert works.steps() == ["settlement"]
