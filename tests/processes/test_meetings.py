"""Meetings by the law: quorum, votes, notice and the order of the meetings, refused with the field
at fault and the legal basis; the lawful twin of each abuse goes through. Driven through engine.api
by the demo users, like the example paths (tests/processes/test_flow_paths.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.ruleset import rule_values
from engine.runtime import forms
from tests.processes.driver import StepDriver, refused_on
from tests.processes.test_flow_paths import (
    Library,
    actor,
    examples,
    library,  # noqa: F401  (the module's database fixture)
)
from tests.support import files

KEY = "four_deliberations"
VILLAGE = "QX0101"
PARTY_RULES = "《中国共产党支部工作条例（试行）》第十一条"
VILLAGERS_MEETING_LAW = "《村民委员会组织法》第二十一条"
ARCHIVES_LAW = "《村民委员会组织法》第三十四条"


def happy(step: str) -> dict:
    """The lawful data of ``step`` on the example path ``happy``."""
    return dict(next(s.data for s in examples(KEY)["happy"].steps if s.step == step))


class Matter(StepDriver):
    """One four_deliberations matter of the demo village, done step by step by the demo holders."""

    def __init__(self, lib: Library, title: str):
        super().__init__(lib, KEY, "party_secretary", title, VILLAGE)

    def through(self, *steps: str, **changes: dict) -> Matter:
        for step in steps:
            self.done(step, {**happy(step), **changes.get(step, {})})
        return self


@pytest.fixture
def matter(library: Library) -> Iterator[Matter]:  # noqa: F811
    yield Matter(library, "村道硬化工程")


# --- 党员大会: 应到会有表决权党员的过半数赞成 ---------------------------------------------------


def test_party_meeting_needs_more_than_half_of_the_members_in_favour(matter):
    matter.through("propose", "discuss")
    thirty_members = {**happy("review"), "members": 30, "present": 21}
    thirty_members.update(votes_for=11, votes_against=8, abstain=2)
    errors = matter.refused("review", {**thirty_members, "passed": True})
    assert refused_on(errors, "passed", PARTY_RULES), errors
    # 11 of 30 is no majority of the members, so recorded as failed it goes back to 商议
    matter.done("review", {**thirty_members, "passed": False})
    assert matter.task().step_id == "discuss"


def test_party_meeting_lawful_twin_passes(matter):
    matter.through("propose", "discuss")
    matter.done(
        "review",
        {**happy("review"), "members": 30, "present": 21, "votes_for": 16, "votes_against": 4, "abstain": 1},
    )
    assert matter.task().step_id == "resolve"


# --- 两委联席会议: 过半数成员到会, 赞成票超过全体成员一半 -----------------------------------------


def test_joint_meeting_of_three_out_of_seven_is_refused(matter):
    matter.through("propose")
    errors = matter.refused("discuss", {**happy("discuss"), "present": 3, "votes_for": 3, "votes_against": 0})
    assert refused_on(errors, "present", "过半数成员到会", "少数服从多数"), errors


def test_joint_meeting_majority_counts_the_members(matter):
    matter.through("propose")
    four_of_seven = {**happy("discuss"), "present": 4, "votes_for": 3, "votes_against": 1, "abstain": 0}
    errors = matter.refused("discuss", {**four_of_seven, "passed": True})
    assert refused_on(errors, "passed", "全体成员", "少数服从多数") or refused_on(errors, "passed", "应到成员"), errors
    matter.done("discuss", {**four_of_seven, "votes_for": 4, "votes_against": 0})
    assert matter.task().step_id == "review"


def test_merged_dual_role_meeting_needs_its_minutes_and_sign_in_sheet(matter):
    merged = {
        **happy("propose"),
        "dual_role": True,
        "meeting_date": "2025-03-03",
        "meeting_place": "村委会议室",
        "chair_name": "张书记",
        "recorder_name": "李会计",
        "members": 7,
        "present": 6,
        "votes_for": 5,
        "votes_against": 1,
        "abstain": 0,
        "passed": True,
    }
    errors = matter.refused("propose", merged)  # only the required slots get files: none here
    assert refused_on(errors, "dual_role", "会议记录", ARCHIVES_LAW), errors
    assert refused_on(errors, "dual_role", "签到表", ARCHIVES_LAW), errors
    errors = matter.refused("propose", {**merged, "present": 3, "votes_for": 3, "votes_against": 0})
    assert refused_on(errors, "present", "过半数成员到会"), errors
    matter.done("propose", merged)  # with both files: 商议 is merged into 提议
    assert matter.task().step_id == "review"


def test_the_plain_proposal_needs_no_meeting_files(matter):
    task = matter.task()
    with matter.lib.sessions() as session, session.begin():
        files.complete(session, task.id, actor("party_secretary", VILLAGE), happy("propose"))
    assert matter.task().step_id == "discuss"


# --- notice and the order of the meetings ---------------------------------------------------------


def test_meeting_before_its_notice_and_on_the_day_of_it_are_refused(matter):
    matter.through("propose", "discuss")
    before = matter.refused("review", {**happy("review"), "notice_date": "2025-03-11"})
    assert refused_on(before, "notice_date", "通知日期须早于会议日期"), before
    same_day = matter.refused("review", {**happy("review"), "notice_date": "2025-03-10"})
    assert refused_on(same_day, "notice_date", "至少提前3天"), same_day
    matter.done("review", {**happy("review"), "notice_date": "2025-03-07"})  # exactly three days
    same_day = matter.refused("resolve", {**happy("resolve"), "notice_date": "2025-03-16"})
    assert refused_on(same_day, "notice_date", "至少提前3天告知代表"), same_day
    matter.done("resolve", {**happy("resolve"), "notice_date": "2025-03-13"})
    assert matter.task().step_id == "disclose_resolution"


def test_villagers_meeting_needs_ten_days_notice(matter):
    matter.through("propose", "discuss", "review")
    villagers = {
        **happy("resolve"),
        "meeting_type": "villagers_meeting",
        "members": 320,
        "present": 220,
        "votes_for": 150,
        "votes_against": 60,
        "abstain": 10,
        "meeting_date": "2025-03-21",
    }
    errors = matter.refused("resolve", {**villagers, "notice_date": "2025-03-12"})
    assert refused_on(errors, "notice_date", "提前10天", VILLAGERS_MEETING_LAW), errors
    matter.done("resolve", {**villagers, "notice_date": "2025-03-11"})
    assert matter.task().step_id == "disclose_resolution"


def test_meetings_must_follow_one_another(matter):
    matter.through("propose")
    errors = matter.refused("discuss", {**happy("discuss"), "meeting_date": "2025-02-28"})
    assert refused_on(errors, "meeting_date", "不得早于提议日期", "依次进行"), errors
    matter.through("discuss")
    errors = matter.refused("review", {**happy("review"), "notice_date": "2025-02-26", "meeting_date": "2025-03-01"})
    assert refused_on(errors, "meeting_date", "不得早于“两委”商议"), errors
    matter.through("review")
    errors = matter.refused("resolve", {**happy("resolve"), "notice_date": "2025-03-02", "meeting_date": "2025-03-09"})
    assert refused_on(errors, "meeting_date", "不得早于党员大会审议"), errors
    matter.done("resolve", {**happy("resolve"), "notice_date": "2025-03-07", "meeting_date": "2025-03-10"})  # same day
    assert matter.task().step_id == "disclose_resolution"


def test_a_county_sets_its_own_notice_period(matter, tmp_path, monkeypatch):
    (tmp_path / "flows.yaml").write_text("meetings.representatives_notice_days: 5\n", encoding="utf-8")
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    rule_values.cache_clear()
    try:
        matter.through("propose", "discuss", "review")
        errors = matter.refused("resolve", happy("resolve"))  # four days is lawful by default, not here
        assert refused_on(errors, "notice_date", "通知过晚"), errors
        matter.done("resolve", {**happy("resolve"), "notice_date": "2025-03-11"})
    finally:
        monkeypatch.delenv("POWERLIST_RULES_DIR")
        rule_values.cache_clear()


# --- the checks' data ---------------------------------------------------------------------------------


def test_checks_read_earlier_steps_only_when_given():
    schema = {
        "type": "object",
        "properties": {"meeting_date": {"type": "string"}},
        "x-checks": [
            {
                "expr": '"proposed_on" not in earlier or earlier.proposed_on <= meeting_date',
                "message": "会议日期不得早于提议日期",
                "fields": ["meeting_date"],
            }
        ],
    }
    data = {"meeting_date": "2025-03-01"}
    assert [r.ok for r in forms.run_checks(schema, data)] == [None]  # a preview cannot tell yet
    assert [r.ok for r in forms.run_checks(schema, data, {"earlier": {"proposed_on": "2025-02-01"}})] == [True]
    assert [r.ok for r in forms.run_checks(schema, data, {"earlier": {"proposed_on": "2025-03-02"}})] == [False]
    # a form's own field wins over a context name
    own = {**data, "earlier": {"proposed_on": "2025-01-01"}}
    assert [r.ok for r in forms.run_checks(schema, own, {"earlier": {"proposed_on": "2025-03-02"}})] == [True]


def test_every_meeting_rule_names_its_field_and_cites_its_basis():
    import json
    from pathlib import Path

    forms = sorted((Path(__file__).resolve().parents[2] / "processes").glob("*/forms/*.json"))
    seen = 0
    for path in forms:
        schema = json.loads(path.read_text(encoding="utf-8"))
        for check in schema.get("x-checks", []):
            expr = check["expr"]
            if not any(w in expr for w in ("earlier.", "notice_date", 'rule("meetings.', "attached", "* 2 > members")):
                continue
            seen += 1
            assert check["fields"] and check["fields"][0] in schema["properties"], (path, expr)
            basis = ("《", "“四议两公开”", "少数服从多数", "议事规则", "农经发")
            assert any(b in check["message"] for b in basis), (path, check["message"])
    assert seen >= 20
