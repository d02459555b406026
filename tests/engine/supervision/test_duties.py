"""Separation of duties as rule data: incompatible roles refused when granted, incompatible steps of
one matter refused (or warned), collective steps need distinct people, and a red warning is not
dismissed by the village supervisory committee alone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.errors import FormInvalid, PermissionDenied
from engine.org.service import get_unit, grant
from engine.persistence.models import User
from engine.supervision import rules
from engine.supervision.violations import Finding, act, book_for_village, raise_violation
from engine.workspace import people
from tests.conftest import ROOT
from tests.engine.supervision.conftest import T0, VILLAGE, shipped
from tests.engine.supervision.flows import FUND_PAYMENT

APPROVAL = ("voucher", "finance_signoff", "supervisory_review", "bookkeeper_submit", "town_audit")
MAGNA_CARTA = "《中华人民共和国村民委员会组织法》第三十二条"


def _grant(world, username: str, role: str, unit: str = VILLAGE) -> None:
    with world.sessions() as session, session.begin():
        people.grant_role(session, None, username, role, unit)


def _refused_grant(world, username: str, role: str, unit: str = VILLAGE) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as refused, world.sessions() as session, session.begin():
        people.grant_role(session, None, username, role, unit)
    assert refused.value.code == "role.incompatible"
    with world.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert role not in {a.role for a in user.roles if a.org_unit.code == unit}
    return refused.value


def _legacy_grant(world, username: str, role: str, unit: str = VILLAGE) -> None:
    """A holding made before the rule (or by the demo loader): the engine's grant, unchecked."""
    with world.sessions() as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        grant(session, user, role, get_unit(session, unit))


def _new_user(world, username: str) -> None:
    with world.sessions() as session, session.begin():
        people.add_user(session, None, username, "测试用户", "powerlist-test")


# --- incompatible roles ----------------------------------------------------------------------------


def test_a_committee_member_may_not_sit_on_the_supervisory_committee(world):
    refused = _refused_grant(world, "shangtang.chair", "supervisory_member")
    text = str(refused)
    assert "村委会主任" in text and "村务监督委员会成员" in text and MAGNA_CARTA in text
    assert refused.params["held"] == "committee_chair" and refused.params["role"] == "supervisory_member"
    # Either way round, and for every committee member (cadre) too.
    _refused_grant(world, "shangtang.supervisor", "committee_chair")
    _refused_grant(world, "shangtang.cadre", "supervisory_member")
    _refused_grant(world, "shangtang.supervisor", "cadre")


def test_lawful_twins_of_the_committee_rule(world):
    _grant(world, "shangtang.chair", "supervisory_member", "QX0102")  # another village's committee
    _grant(world, "shangtang.chair", "party_secretary")  # 一肩挑 is lawful
    _grant(world, "shangtang.supervisor", "party_secretary", "QX0102")


def test_the_bookkeeper_holds_no_approving_or_supervising_role(world):
    refused = _refused_grant(world, "shangtang.bookkeeper", "committee_chair")
    assert "村报账员" in str(refused) and "村委会主任" in str(refused) and "村级财务管理制度" in str(refused)
    _refused_grant(world, "shangtang.chair", "bookkeeper")
    _refused_grant(world, "shangtang.bookkeeper", "supervisory_member")
    _grant(world, "shangtang.bookkeeper", "cadre")  # a cadre may keep the books
    _grant(world, "shangtang.bookkeeper", "committee_chair", "QX0102")


def test_one_person_cannot_collect_all_four_village_roles(world):
    _new_user(world, "all.in.one")
    _grant(world, "all.in.one", "party_secretary")
    _grant(world, "all.in.one", "committee_chair")
    _refused_grant(world, "all.in.one", "supervisory_member")
    _refused_grant(world, "all.in.one", "bookkeeper")


def test_the_town_payer_is_not_the_town_discipline_commission(world):
    refused = _refused_grant(world, "dongxi.agency", "town_discipline", "QX01")
    assert "镇三资中心" in str(refused) and "镇纪委" in str(refused)
    _grant(world, "dongxi.agency", "town_discipline", "QX02")  # another town
    _grant(world, "dongxi.agency", "town_civil_affairs", "QX01")


def test_the_command_line_gives_the_same_refusal(world, cli):
    refused = cli("user", "grant", "shangtang.chair", "supervisory_member", VILLAGE)
    assert refused.code == 1
    assert "村务监督委员会成员" in refused.err and "村委会主任" in refused.err and MAGNA_CARTA in refused.err
    assert cli("user", "grant", "shangtang.chair", "supervisory_member", "QX0102").code == 0


def test_a_county_may_switch_a_role_rule_off_and_the_rules_are_validated(world):
    problems = rules.validate(rules.base_data())
    assert problems == []
    broken = rules.merge(
        rules.base_data(),
        {
            "supervision": {
                "incompatible_roles": [
                    {"id": "nonsense", "roles": ["mayor"], "with": ["bookkeeper"], "legal_basis": "x"},
                    {"id": "levels", "roles": ["town_agency"], "with": ["bookkeeper"], "legal_basis": "x"},
                ],
                "incompatible_steps": [{"id": "fund_payment_village_signatures", "on_conflict": "sometimes"}],
            }
        },
    )
    problems = rules.validate(broken)
    assert any("on_conflict" in p for p in problems)
    broken["supervision"]["incompatible_steps"][0]["on_conflict"] = "refuse"
    problems = rules.validate(broken)
    assert any("mayor" in p for p in problems) and any("different levels" in p for p in problems)
    with world.sessions() as session, session.begin():
        rules.activate(
            session,
            "supervision:\n  incompatible_roles:\n    - {id: bookkeeper_not_approver, enabled: false}\n",
            "admin",
            "QX",
        )
    _grant(world, "shangtang.bookkeeper", "committee_chair")
    _refused_grant(world, "shangtang.chair", "supervisory_member")  # the other rules still hold


# --- incompatible steps of one matter --------------------------------------------------------------


@pytest.fixture
def payments(world):
    world.deploy(shipped("fund_payment"))
    return world


def test_one_person_may_not_sign_off_and_review_for_the_supervisory_committee(payments):
    world = payments
    _legacy_grant(world, "shangtang.chair", "supervisory_member")
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in ("voucher", "finance_signoff")})
    with pytest.raises(PermissionDenied) as refused:
        world.complete(matter, "supervisory_review", FUND_PAYMENT["supervisory_review"], actor="shangtang.chair")
    assert refused.value.code == "task.incompatible_duty"
    assert "村主任审核签字" in str(refused.value) and "村务监督委员会审核" in str(refused.value)
    # Waiving does not help: this rule refuses.
    with pytest.raises(PermissionDenied):
        world.complete(
            matter, "supervisory_review", FUND_PAYMENT["supervisory_review"], actor="shangtang.chair", waive="人手不够"
        )
    assert [t.step for t in world.tasks(matter)] == ["supervisory_review"]
    # The lawful twin: the committee's own member reviews; nothing is raised.
    world.complete(matter, "supervisory_review", FUND_PAYMENT["supervisory_review"], actor="shangtang.supervisor")
    assert world.violations(matter) == []


def test_the_supervisory_reviewer_may_not_submit_the_voucher_for_payment(payments):
    world = payments
    _legacy_grant(world, "shangtang.supervisor", "bookkeeper")
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in ("voucher", "finance_signoff")})
    world.complete(matter, "supervisory_review", FUND_PAYMENT["supervisory_review"], actor="shangtang.supervisor")
    with pytest.raises(PermissionDenied) as refused:
        world.complete(matter, "bookkeeper_submit", FUND_PAYMENT["bookkeeper_submit"], actor="shangtang.supervisor")
    assert refused.value.code == "task.incompatible_duty" and refused.value.params["other"] == "村务监督委员会审核"
    world.complete(matter, "bookkeeper_submit", FUND_PAYMENT["bookkeeper_submit"], actor="shangtang.bookkeeper")
    assert world.violations(matter) == []


def _second_clerk(world) -> None:
    _new_user(world, "dongxi.cashier")
    _grant(world, "dongxi.cashier", "town_agency", "QX01")


def test_one_town_clerk_auditing_and_paying_is_warned(payments):
    world = payments
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in APPROVAL})  # town_audit by dongxi.agency
    world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.agency")
    [warning] = world.violations(matter)
    assert warning["code"] == "incompatible_steps_one_person" and warning["severity"] == "yellow"
    assert "镇三资中心审核" in warning["message"] and "会计法" in warning["legal_basis"]
    assert world.detail(warning["id"])["points"] == 3


def test_a_town_with_a_cashier_pays_without_a_warning(payments):
    world = payments
    _second_clerk(world)
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in APPROVAL})
    world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.cashier")
    assert world.violations(matter) == []


def _town_rule(world, mode: str) -> None:
    with world.sessions() as session, session.begin():
        rules.activate(
            session,
            "supervision:\n  incompatible_steps:\n"
            f"    - {{id: fund_payment_town_approve_audit_pay, on_conflict: {mode}}}\n",
            "admin",
            "QX",
        )


def test_a_county_that_refuses_the_town_combination(payments):
    world = payments
    _town_rule(world, "refuse")
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in APPROVAL})
    with pytest.raises(PermissionDenied) as refused:
        world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.agency")
    assert refused.value.code == "task.incompatible_duty"
    _second_clerk(world)
    world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.cashier")
    assert world.violations(matter) == []


def test_a_waivable_combination_needs_a_reason_and_is_recorded(payments):
    world = payments
    _town_rule(world, "waive")
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in APPROVAL})
    with pytest.raises(PermissionDenied) as refused:
        world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.agency")
    assert refused.value.params["waivable"] is True
    assert world.violations(matter) == []
    world.complete(matter, "payment", FUND_PAYMENT["payment"], actor="dongxi.agency", waive="出纳病假，急需支付")
    [warning] = world.violations(matter)
    assert warning["code"] == "incompatible_steps_one_person" and "出纳病假" in warning["message"]


# --- collective steps ------------------------------------------------------------------------------


def test_the_supervisory_committee_reviews_with_three_different_members(payments):
    world = payments
    matter = world.start("fund_payment")
    world.run(matter, {k: FUND_PAYMENT[k] for k in ("voucher", "finance_signoff")})
    review = FUND_PAYMENT["supervisory_review"]
    for reviewers in (["王监督"], ["王监督", "王监督", "王 监督"], ["王监督", "陈监督", " 王监督 "]):
        with pytest.raises(FormInvalid) as refused:
            world.complete(matter, "supervisory_review", {**review, "reviewers": reviewers})
        assert [e.field for e in refused.value.errors] == ["reviewers"]
    world.complete(matter, "supervisory_review", {**review, "reviewers": ["王监督", "陈监督", "刘监督"]})


def _form_failures(key: str, step: str, data: dict) -> list[str]:
    from engine.runtime.forms import validate_form

    schema = json.loads((ROOT / "processes" / key / "forms" / f"{step}.json").read_text(encoding="utf-8"))
    _clean, failed = validate_form(step, schema, data, collect_checks=True)
    return [e.field for e in failed]


def _example(key: str, step: str) -> dict:
    import yaml

    text = (ROOT / "processes" / key / "examples.yaml").read_text(encoding="utf-8")
    found: list[dict] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("step") == step and isinstance(node.get("data"), dict):
                found.append(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(text))
    assert found, f"no example data for {key}.{step}"
    return found[0]


@pytest.mark.parametrize(
    ("key", "step", "field", "repeated"),
    [
        ("small_works", "acceptance", "panel_members", ["孙主任", "孙主任", "孙主任", "孙主任", "孙主任"]),
        ("subsistence_aid", "town_survey", "surveyors", ["乡镇民政员甲", "乡镇民政员甲"]),
    ],
)
def test_a_panel_counts_each_person_once(key, step, field, repeated):
    lawful = _example(key, step)
    assert field not in _form_failures(key, step, lawful)
    assert field in _form_failures(key, step, {**lawful, field: repeated})


def test_distinct_in_expressions():
    from engine.expressions import ExpressionError, compile_expression

    assert compile_expression("len(distinct(names))").evaluate({"names": ["甲", "乙", "甲", " 乙 "]}) == 2
    with pytest.raises(ExpressionError):
        compile_expression("distinct(names)").evaluate({"names": [[1], [1]]})
    with pytest.raises(ExpressionError):
        compile_expression("distinct(names)").evaluate({"names": "甲乙"})


# --- dismissing a red warning ----------------------------------------------------------------------


def _warning(world, code: str) -> int:
    with world.sessions() as session, session.begin():
        village = get_unit(session, VILLAGE)
        book = book_for_village(session, village.id)
        violation = raise_violation(
            session, book, Finding(code=code, village_id=village.id, dedup_key=f"test:{code}", message="测试"), T0
        )
        return violation.id


def _red_starts_at_the_village(world) -> None:
    """A county whose red warnings start with the village committee (escalation.starts_at), as before
    red went to the town at once: its town still decides whether one is dismissed."""
    from engine.supervision import rules

    override = "supervision:\n  escalation:\n    starts_at: {red: village}\n"
    with world.sessions() as session, session.begin():
        rules.activate(session, override, "county.admin", scope="QX")


def test_the_village_supervisory_committee_alone_may_not_dismiss_a_red_warning(world):
    _red_starts_at_the_village(world)
    red = _warning(world, "split_payment")
    with pytest.raises(PermissionDenied) as refused, world.sessions() as session, session.begin():
        act(session, red, "close", "shangtang.supervisor", "误报", dismiss=True)
    assert refused.value.code == "violation.dismiss_level" and "镇纪委" in str(refused.value)
    assert world.detail(red)["status"] == "open"
    # It may still escalate it, or close it as handled (the points stay).
    with world.sessions() as session, session.begin():
        act(session, red, "ack", "shangtang.supervisor", "已受理")
    with world.sessions() as session, session.begin():
        act(session, red, "close", "dongxi.discipline", "复核为误报", dismiss=True)
    assert (world.detail(red)["status"], world.detail(red)["outcome"]) == ("closed", "dismissed")


def test_the_village_committee_dismisses_a_yellow_warning_and_closes_a_red_one_as_handled(world, cli):
    _red_starts_at_the_village(world)
    yellow = _warning(world, "posting_too_short")
    with world.sessions() as session, session.begin():
        act(session, yellow, "close", "shangtang.supervisor", "误报", dismiss=True)
    red = _warning(world, "step_forced")
    refused = cli("violation", "close", str(red), "--as", "shangtang.supervisor", "--note", "误报", "--dismiss")
    assert refused.code == 1 and "镇纪委" in refused.err
    with world.sessions() as session, session.begin():
        act(session, red, "close", "shangtang.supervisor", "已整改完毕")
    assert world.detail(red)["outcome"] == "handled"


def test_the_secretary_who_proposed_may_not_sign_the_disclosure_for_the_supervisory_committee(world):
    from tests.support.matters import example

    world.deploy(shipped("four_deliberations"))
    _grant(world, "shangtang.secretary", "supervisory_member")  # a 书记 is not barred at grant
    matter = world.start("four_deliberations")
    steps = {s.step: s.data for s in example(shipped("four_deliberations"), "happy").steps}
    for step in ("propose", "discuss", "review", "resolve", "disclose_resolution"):
        world.complete(matter, step, steps[step], actor="shangtang.secretary" if step == "propose" else None)
    with pytest.raises(PermissionDenied) as refused:
        world.complete(matter, "supervise_resolution", steps["supervise_resolution"], actor="shangtang.secretary")
    assert refused.value.code == "task.incompatible_duty" and refused.value.params["other"] == "提议"
    world.complete(matter, "supervise_resolution", steps["supervise_resolution"], actor="shangtang.supervisor")
    assert [t.step for t in world.tasks(matter)] == ["implement"]
