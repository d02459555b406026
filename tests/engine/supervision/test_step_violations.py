"""Violations seen in the steps themselves: forced steps, waived quorum and votes, short postings,
work started too early, and broken separation of duties."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.org.service import get_unit, get_user, grant
from tests.engine.supervision.conftest import shipped
from tests.engine.supervision.flows import FOUR_DELIBERATIONS, FUND_PAYMENT, REVIEW, SEAL_USE, SUBSISTENCE_AID, VOUCHER

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
WAIVE = "台风天气，代表无法到会"


def _codes(world, instance: int) -> set[str]:
    return {v["code"] for v in world.violations(instance)}


def _grant(world, username: str, role: str) -> None:
    with world.sessions() as session, session.begin():
        grant(session, get_user(session, username), role, get_unit(session, "QX0101"))


def test_a_forced_step_is_a_red_violation_with_the_reason_as_evidence(world):
    world.sole_holders("shangtang.chair", "dongxi.agency")
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1})
    [violation] = world.violations(instance)
    assert (violation["code"], violation["severity"], violation["points"]) == ("step_forced", "red", 5)
    assert "会议无法召开" in violation["message"] and violation["responsible_user"] == "dongxi.agency"
    assert (violation["owner_role"], violation["owner_user"]) == ("committee_chair", "shangtang.chair")
    forced = next(e for e in world.history(instance) if e.kind == "task_forced")
    assert violation["evidence"] == [
        {"instance": instance, "seq": forced.seq, "kind": "task_forced", "step": "resolve", "hash": forced.hash}
    ]


def test_a_waived_quorum_is_reported_even_in_a_flow_without_meeting_rules(world):
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    short = {"members": 30, "present": 12, "votes_for": 12, "votes_against": 0, "abstain": 0}
    world.complete(instance, "resolve", short, waive=WAIVE)
    [violation] = world.violations(instance)
    assert violation["code"] == "quorum_not_met" and WAIVE in violation["message"]


def test_four_deliberations_meetings_below_quorum_or_majority(world):
    world.deploy(shipped("four_deliberations"))
    steps = FOUR_DELIBERATIONS
    # 党员大会 with too few members present
    first = world.start("four_deliberations")
    world.run(first, {k: steps[k] for k in ("propose", "discuss")})
    short = {**steps["review"], "present": 18, "votes_for": 16, "votes_against": 2, "abstain": 0}
    world.complete(first, "review", short, waive=WAIVE)
    assert _codes(world, first) == {"quorum_not_met"}
    # 村民代表会议: too few present, and "passed" with fewer than half of them in favour
    second = world.start("four_deliberations")
    world.run(second, {k: steps[k] for k in ("propose", "discuss", "review")})
    weak = {**steps["resolve"], "present": 25, "votes_for": 12, "votes_against": 10, "abstain": 3}
    world.complete(second, "resolve", weak, waive=WAIVE)
    assert _codes(world, second) == {"quorum_not_met", "vote_rule_not_met"}
    assert all(v["severity"] == "red" for v in world.violations(second))


def test_four_deliberations_posting_cut_short_and_work_started_before_it_ended(world, now):
    world.deploy(shipped("four_deliberations"))
    instance = world.start("four_deliberations")
    world.run(instance, {k: FOUR_DELIBERATIONS[k] for k in ("propose", "discuss", "review", "resolve")})
    now(datetime(2026, 11, 11, 2, 0, tzinfo=UTC))  # one day into a three-day posting from 10 November
    world.complete(instance, "disclose_resolution", FOUR_DELIBERATIONS["disclose_resolution"])
    assert _codes(world, instance) == {"posting_too_short"}
    world.complete(instance, "supervise_resolution", FOUR_DELIBERATIONS["supervise_resolution"])
    world.complete(instance, "implement", {**FOUR_DELIBERATIONS["implement"], "start_date": "2026-11-12"})
    assert _codes(world, instance) == {"posting_too_short", "implement_before_posting_end"}
    early = world.violations(instance, "implement_before_posting_end")[0]
    assert early["step"] == "implement" and early["severity"] == "red"


def test_a_posting_kept_its_full_period_raises_nothing(world, now):
    world.deploy(shipped("four_deliberations"))
    instance = world.start("four_deliberations")
    world.run(instance, {k: FOUR_DELIBERATIONS[k] for k in ("propose", "discuss", "review")})
    now(datetime(2026, 11, 9, 2, 0, tzinfo=UTC))
    world.complete(instance, "resolve", FOUR_DELIBERATIONS["resolve"])
    now(datetime(2026, 11, 12, 16, 0, tzinfo=UTC))  # 13 November, China time: three full days
    signed = ("disclose_resolution", "supervise_resolution", "implement")
    world.run(instance, {k: FOUR_DELIBERATIONS[k] for k in signed})
    assert world.violations(instance) == []


def test_the_handler_who_signs_off_their_own_payment(world):
    world.deploy(shipped("fund_payment"))
    _grant(world, "shangtang.chair", "cadre")  # the chair may also fill in vouchers
    same_person = world.start("fund_payment")
    world.complete(same_person, "voucher", VOUCHER, actor="shangtang.chair")
    world.complete(same_person, "finance_signoff", FUND_PAYMENT["finance_signoff"], actor="shangtang.chair")
    [violation] = world.violations(same_person)
    assert violation["code"] == "handler_approved_own_payment" and violation["responsible_user"] == "shangtang.chair"
    same_name = world.start("fund_payment")
    world.complete(same_name, "voucher", {**VOUCHER, "handler_name": "张建国"})
    world.complete(same_name, "finance_signoff", FUND_PAYMENT["finance_signoff"])  # signed by 张建国 too
    assert _codes(world, same_name) == {"handler_approved_own_payment"}
    clean = world.start("fund_payment")  # to another shop: a third 500 to one payee would be a split
    world.run(clean, {"voucher": {**VOUCHER, "payee": "李四五金"}, "finance_signoff": FUND_PAYMENT["finance_signoff"]})
    assert world.violations(clean) == []


def test_the_seal_keeper_who_approved_the_use_of_their_own_seal(world):
    world.deploy(shipped("seal_use"))
    _grant(world, "shangtang.chair", "cadre")
    instance = world.start("seal_use")
    world.complete(instance, "request_seal", SEAL_USE["request_seal"])
    world.complete(instance, "head_approval", SEAL_USE["head_approval"], actor="shangtang.chair")
    world.complete(instance, "stamp", SEAL_USE["stamp"], actor="shangtang.chair")
    [violation] = world.violations(instance)
    assert violation["code"] == "keeper_approved_own_seal_use" and violation["step"] == "stamp"


def test_subsistence_aid_for_a_cadre_relative_and_a_review_short_of_two_thirds(world, now):
    world.deploy(shipped("subsistence_aid"))
    now(datetime(2026, 11, 18, 2, 0, tzinfo=UTC))  # after the seven-day posting from 11 November
    steps = SUBSISTENCE_AID
    relative = world.start("subsistence_aid")
    world.run(relative, {k: steps[k] for k in ("accept_application", "town_survey", "democratic_review")})
    world.run(relative, {k: steps[k] for k in ("town_opinion", "posting")})
    world.complete(relative, "county_approval", steps["county_approval"], waive="申请人行动不便，电话核实")
    assert _codes(world, relative) == {"relative_without_full_check"}

    weak_review = world.start("subsistence_aid")
    world.run(weak_review, {k: steps[k] for k in ("accept_application", "town_survey")})
    two_thirds_missing = {**REVIEW, "votes_for": 7, "votes_against": 5}  # 7 of 12 present is under 2/3
    world.complete(weak_review, "democratic_review", two_thirds_missing, waive="多数人同意")
    assert _codes(world, weak_review) == {"vote_rule_not_met"}


def test_a_lawful_adult_villagers_meeting_is_not_a_quorum_violation(world):
    world.deploy(shipped("four_deliberations"))
    instance = world.start("four_deliberations")
    world.run(instance, {k: FOUR_DELIBERATIONS[k] for k in ("propose", "discuss", "review")})
    # 组织法 art. 22: more than half of the adult villagers make a villagers' meeting.
    lawful = {
        **FOUR_DELIBERATIONS["resolve"],
        "meeting_type": "adult_villagers_meeting",
        "notice_date": "2026-10-30",  # 组织法 art. 21: ten days' notice of a villagers' meeting
        "members": 800,
        "present": 450,
        "votes_for": 300,
        "votes_against": 100,
        "abstain": 50,
        "passed": True,
    }
    world.complete(instance, "resolve", lawful)
    assert "quorum_not_met" not in _codes(world, instance)
