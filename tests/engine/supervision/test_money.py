"""Every yuan reconciled: the decision register, citations checked against it, and money paid,
spent or settled above what was approved, cash above the limit and vouchers left unpaid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.catalog.examples import cite
from engine.errors import FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.supervision import decisions, evidence
from engine.supervision.models import Decision
from tests.engine.supervision.conftest import shipped
from tests.engine.supervision.flows import FUND_PAYMENT
from tests.support import files
from tests.support.matters import example

AGENCY = "dongxi.agency"
APPROVAL = ("voucher", "finance_signoff", "supervisory_review", "bookkeeper_submit", "town_audit")
# The codes of money: the town agency's one clerk approving, auditing and paying is warned apart.
MONEY = {
    "acceptance_panel_too_small",
    "paid_above_approved",
    "contract_above_approved",
    "settled_above_contract_without_audit",
    "payment_without_voucher",
    "payment_without_approval",
    "payment_before_approval",
    "voucher_without_payment",
    "cash_above_limit",
    "threshold_hugging",
    "split_payment",
}


def money(world, instance: int | None = None) -> list[str]:
    return sorted(v["code"] for v in world.violations(instance) if v["code"] in MONEY)


def paper(world, amount_yuan: int | None, village: str = "QX0101", kind: str = "resolution", **extra) -> str:
    with world.sessions() as session, session.begin():
        decision = decisions.record_paper(
            session,
            extra.pop("actor", AGENCY),
            village,
            kind=kind,
            amount_fen=amount_yuan * 100 if amount_yuan is not None else None,
            purpose=extra.pop("purpose", "村道硬化工程"),
            passed_on=extra.pop("passed_on", "2026-10-20"),
            note="会议记录存村档案室第3卷",
        )
        return decision.number


def big_payment(world, yuan: int, resolution: str, **voucher) -> tuple[int, dict]:
    """A payment of ``yuan`` through every approval its amount needs, up to its payment."""
    path = example(shipped("fund_payment"), "tier4_town_leader")
    steps = {s.step: cite(s.data, {"road_repair": resolution}) for s in path.steps}
    steps["voucher"] = {**steps["voucher"], "amount_fen": yuan * 100, "spent_on": "2026-11-01", **voucher}
    instance = world.start("fund_payment")
    for step, data in steps.items():  # the tiers a smaller amount does not need are skipped
        if step != "payment" and any(t.step == step for t in world.tasks(instance)):
            world.complete(instance, step, data)
    return instance, steps["payment"]


@pytest.fixture
def payments(world):
    world.deploy(shipped("fund_payment"))
    return world


def test_a_cited_resolution_must_be_in_the_villages_register_open_and_of_the_right_kind(payments, now):
    world = payments
    voucher = {**FUND_PAYMENT["voucher"], "amount_fen": 8_000_000, "expense_category": "project"}
    instance = world.start("fund_payment")

    def refused(ref: str) -> str:
        with pytest.raises(FormInvalid) as caught:
            world.complete(instance, "voucher", {**voucher, "resolution_ref": ref})
        [error] = [e for e in caught.value.errors if e.field == "resolution_ref"]
        return error.message

    assert "本村决议台账中没有编号为“2099-假-01”" in refused("2099-假-01")
    assert "本村决议台账中没有" in refused(paper(world, 100_000, village="QX0102"))  # another village's
    assert "这里须引用“四议两公开”决议" in refused(paper(world, 100_000, kind="joint_meeting"))
    closed = paper(world, 100_000)
    with world.sessions() as session, session.begin():
        decisions.close(session, AGENCY, "QX0101", closed, "工程已竣工决算")
    assert "已结项，不能再引用" in refused(closed)
    # A reason to waive legal checks does not waive a citation: it is a fact, not a judgement.
    with pytest.raises(FormInvalid):
        world.complete(instance, "voucher", {**voucher, "resolution_ref": "随便写"}, waive="急需付款")

    good = paper(world, 100_000)
    world.complete(instance, "voucher", {**voucher, "resolution_ref": good})
    assert money(world, instance) == []


def test_the_register_numbers_decisions_by_village_kind_and_year_and_only_the_town_keeps_it(payments, now):
    world = payments
    first, second = paper(world, 1000), paper(world, 2000)
    other = paper(world, 3000, kind="joint_meeting")
    assert (first, second, other) == ("QX0101-2026-决-001", "QX0101-2026-决-002", "QX0101-2026-联-001")
    assert paper(world, 1000, village="QX0102").startswith("QX0102-2026-决-001")
    with pytest.raises(PermissionDenied), world.sessions() as session, session.begin():
        decisions.record_paper(
            session, "shangtang.chair", "QX0101", kind="resolution", amount_fen=100,
            purpose="补登一份决议", passed_on="2026-10-01", note="会议记录存档",
        )  # fmt: skip
    with pytest.raises(NotFound), world.sessions() as session:
        decisions.register_of(session, "xiling.agency", "QX0101")  # another town's agency sees nothing
    with pytest.raises(FormInvalid) as caught, world.sessions() as session, session.begin():
        decisions.record_paper(
            session, AGENCY, "QX0101", kind="resolution", amount_fen=0, purpose="x", passed_on="2099-01-01", note=""
        )
    assert {e.field for e in caught.value.errors} == {"amount_fen", "purpose", "passed_on", "note"}
    with world.sessions() as session:
        rows = decisions.register_of(session, "shangtang.supervisor", "QX0101")
    assert [r.number for r in rows][-1] == first and rows[-1].source == "paper"


def test_a_payment_approved_in_the_flow_is_registered_and_revoked_with_its_matter(payments, now):
    world = payments
    approved = world.start("fund_payment")
    world.run(approved, {k: FUND_PAYMENT[k] for k in APPROVAL})
    registered = [e for e in world.history(approved) if e.kind == "decision_registered"]
    assert [e.data["kind"] for e in registered] == ["payment_approval"]
    number = registered[0].data["number"]
    assert number.startswith("QX0101-2026-付-") and registered[0].data["amount_fen"] == 50_000

    cancelled = world.start("fund_payment")
    world.run(cancelled, {k: FUND_PAYMENT[k] for k in APPROVAL})
    from engine.workspace import operations

    with world.sessions() as session, session.begin():
        task = world.task(cancelled, "payment")
        operations.reject(session, task.id, AGENCY, "收款方账号与凭证不符，不予支付")
    with world.sessions() as session:
        statuses = dict(session.execute(select(Decision.instance_id, Decision.status)).all())
    assert statuses == {approved: "open", cancelled: "revoked"}


def test_paid_above_the_voucher_and_in_cash_above_the_limit_are_warned(payments, now):
    world = payments
    resolution = paper(world, 300_000)  # two vouchers of 150,000 each cite it
    over, payment = big_payment(world, 150_000, resolution)
    world.complete(over, "payment", {**payment, "paid_amount_fen": 18_000_000, "payment_method": "cash"})
    assert money(world, over) == ["cash_above_limit", "paid_above_approved"]

    lawful, payment = big_payment(world, 150_000, resolution)
    world.complete(lawful, "payment", {**payment, "paid_amount_fen": 15_000_000, "payment_method": "bank_transfer"})
    assert money(world, lawful) == []


def test_vouchers_citing_one_resolution_may_not_spend_more_than_it_approved(payments, now):
    world = payments
    resolution = paper(world, 120_000)
    first, _ = big_payment(world, 60_000, resolution)
    assert money(world) == []
    big_payment(world, 60_000, resolution)  # exactly the approved 120,000: lawful
    assert money(world) == []
    third, _ = big_payment(world, 15_000, resolution)  # 135,000 against 120,000
    [violation] = [v for v in world.violations(third) if v["code"] == "paid_above_approved"]
    assert "批准120,000.00元" in violation["message"] and "超出15,000.00元" in violation["message"]
    with world.sessions() as session:
        [line] = [r for r in decisions.register_of(session, "shangtang.supervisor", "QX0101") if r.number == resolution]
    assert (line.paid_fen, line.balance_fen, line.over) == (13_500_000, -1_500_000, True)
    assert len(line.matters) == 3 and first in line.matters


def test_card_payments_above_the_approved_voucher_and_payments_without_a_voucher(payments, now):
    world = payments
    approved = world.start("fund_payment")
    world.run(approved, {k: FUND_PAYMENT[k] for k in APPROVAL})  # a 500-yuan voucher

    def pay(yuan: str, instance: int | None, at: str) -> list[str]:
        item = evidence.EvidenceInput(
            kind="payment", at=evidence.parse_time(at), amount_fen=evidence.parse_amount(yuan), payee="王五建材店",
            village="QX0101", transaction_id=at,
        )  # fmt: skip
        with world.sessions() as session, session.begin():
            if instance is None:  # a statement row that matches no matter
                found = evidence.store(session, item, None, world_village(session), "import", "card.csv", clock.now())
                return [v.code for v in found.violations]
            return [v.code for v in evidence.record(session, instance, item, "shangtang.bookkeeper").violations]

    assert pay("500.00", approved, "2026-11-05T10:00:00+08:00") == []  # exactly the voucher
    assert pay("0.01", approved, "2026-11-05T11:00:00+08:00") == ["paid_above_approved"]
    assert pay("300.00", None, "2026-11-06T10:00:00+08:00") == ["payment_without_voucher"]

    # As seen: 2,949 yuan of village-card payments against a 950-yuan approval.
    small = world.start("fund_payment")
    voucher = {**FUND_PAYMENT["voucher"], "amount_fen": 95_000, "payee": "赵六农资"}
    world.run(small, {k: voucher if k == "voucher" else FUND_PAYMENT[k] for k in APPROVAL})
    item = {"kind": "payment", "payee": "赵六农资", "village": "QX0101"}
    for number, yuan in enumerate(("950.00", "999.00", "1000.00")):
        at = evidence.parse_time(f"2026-11-0{number + 6}T10:00:00+08:00")
        fen = evidence.parse_amount(yuan)
        paid = evidence.EvidenceInput(at=at, amount_fen=fen, transaction_id=f"Z{number}", **item)
        with world.sessions() as session, session.begin():
            evidence.record(session, small, paid, "shangtang.bookkeeper")
    over = [v["message"] for v in world.violations(small, "paid_above_approved")]
    assert any("审批支出950.00元" in m and "共2,949.00元" in m for m in over), over


def world_village(session) -> int:
    from engine.persistence.models import OrgUnit

    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))


def test_a_voucher_left_unpaid_past_the_limit_is_warned_and_a_paid_one_is_not(payments, now):
    world = payments
    unpaid = world.start("fund_payment")
    world.run(unpaid, {k: FUND_PAYMENT[k] for k in APPROVAL})  # spent on 2026-11-02, limit 60 days
    paid = world.start("fund_payment")
    world.run(paid, {k: FUND_PAYMENT[k] for k in (*APPROVAL, "payment")})
    world.sweep(now(timedelta(days=60)))  # 1 January 2027 09:00: still within the 60th day
    assert money(world) == []
    world.sweep(now(timedelta(days=61)))
    assert money(world, unpaid) == ["voucher_without_payment"] and money(world, paid) == []


def test_a_town_user_cannot_record_a_decision_for_a_village_of_another_town_and_a_cadre_cannot_close(payments, now):
    world = payments
    number = paper(world, 1000)
    with pytest.raises(NotFound), world.sessions() as session, session.begin():
        decisions.close(session, "xiling.agency", "QX0101", number, "已经办完了")
    with pytest.raises(PermissionDenied), world.sessions() as session, session.begin():
        decisions.close(session, "shangtang.chair", "QX0101", number, "已经办完了")


def test_the_register_on_the_command_line(payments, cli):
    record = ("decisions", "record", "QX0101", "--kind", "resolution", "--purpose", "村道硬化工程")
    record += ("--passed-on", "2026-10-20", "--note", "会议记录存村档案室第3卷")
    done = cli(*record, "--amount", "120,000.00", "--as", AGENCY)
    assert done.code == 0, done.err
    assert done.out.strip() == "registered QX0101-2026-决-001"
    fraction = cli(*record, "--amount", "1.005", "--as", AGENCY)  # a fraction of a fen: refused, naming the field
    assert fraction.code == 1 and "amount_fen: 金额请填写数字，最多两位小数" in fraction.err
    refused = cli(*record, "--amount", "100", "--as", "shangtang.chair")
    assert refused.code == 1 and "登记决议" in refused.err
    listed = cli("decisions", "list", "QX0101", "--as", "shangtang.supervisor", "--json")
    assert [(r["number"], r["amount_fen"], r["paid_fen"]) for r in listed.json()] == [
        ("QX0101-2026-决-001", 12_000_000, 0)
    ]
    assert (
        cli("decisions", "close", "QX0101", "QX0101-2026-决-001", "--reason", "工程已竣工决算", "--as", AGENCY).code
        == 0
    )
    again = cli("decisions", "close", "QX0101", "QX0101-2026-决-001", "--reason", "工程已竣工决算", "--as", AGENCY)
    assert again.code == 1 and "已结项" in again.err


def test_a_meetings_resolution_is_not_undone_by_one_person(world, now):
    """The 主任 who recorded a passed resolution cannot take the step back nor 驳回 the matter
    later (which would end it without 决议公开); the lawful twin, a disclosure done, goes on."""
    from engine.workspace import operations
    from tests.support.matters import open_steps

    world.deploy(shipped("four_deliberations"))
    path = example(shipped("four_deliberations"), "happy")
    instance = world.start("four_deliberations")
    steps = iter(path.steps)
    for step in steps:
        world.complete(instance, step.step, step.data)
        if step.step == "resolve":
            break
    [registered] = [e for e in world.history(instance) if e.kind == "decision_registered"]
    number = registered.data["number"]
    assert number.startswith("QX0101-") and "-决-" in number
    from engine.workspace import matter_detail
    from web import shaping

    with world.sessions() as session:
        timeline = shaping.matter(matter_detail.matter(session, "shangtang.supervisor", instance))["timeline"]
    assert any(number in (t["detail"] or "") and t["kind_name"] == "决议登记" for t in timeline)
    resolver = [e for e in world.history(instance) if e.kind == "task_completed"][-1].actor
    with pytest.raises(InvalidState) as caught, world.sessions() as session, session.begin():
        operations.withdraw(session, instance, resolver, "会议记录写错了，撤回重填")
    assert caught.value.code == "matter.decision_stands" and number in str(caught.value)

    for step in steps:  # the disclosure and the 村监会's signing allow no 驳回 at all; 实施 does, not now
        world.complete(instance, step.step, step.data)
        if step.step == "supervise_resolution":
            break
    [row] = open_steps(world.sessions, instance)
    holder = world.holder(row.id)
    with world.sessions() as session:
        assert "reject" not in operations.available_operations(
            session, _instance(session, instance), _definition(session, instance), row.step_id
        )
    with pytest.raises(InvalidState) as caught, world.sessions() as session, session.begin():
        operations.reject(session, row.id, holder, "工程已完工，无需公开")
    assert caught.value.code == "matter.decision_stands"
    for step in steps:
        world.complete(instance, step.step, step.data)
    assert world.tasks(instance) == []


def _instance(session, instance_id: int):
    from engine.persistence.models import Matter

    return session.get(Matter, instance_id)


def _definition(session, instance_id: int):
    from engine.runtime.loaded import loaded

    return loaded(_instance(session, instance_id).definition)


def test_a_citation_in_a_start_form_is_checked_too(world, tmp_path):
    """An uploaded flow may cite a decision from its start form: the same check applies."""
    import json
    import shutil

    from engine.workspace import operations

    flow = tmp_path / "rectification"
    shutil.copytree(shipped("rectification").parent, flow)
    start_form = flow / "forms" / "start.json"
    schema = json.loads(start_form.read_text(encoding="utf-8"))
    schema["properties"]["basis_ref"] = {
        "type": "string", "title": "依据的决议", "maxLength": 40,
        "x-reference": {"register": "decision", "kinds": ["resolution"]},
    }  # fmt: skip
    start_form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    world.deploy(flow / "rectification.bpmn")
    notice = example(shipped("rectification"), "chair_rectifies").start
    with pytest.raises(FormInvalid) as caught, world.sessions() as session, session.begin():
        operations.start(session, "rectification", "QX0101", "shangtang.supervisor", {**notice, "basis_ref": "随便写"})
    assert [e.field for e in caught.value.errors] == ["basis_ref"]
    number = paper(world, 1000)
    with world.sessions() as session, session.begin():
        operations.start(session, "rectification", "QX0101", "shangtang.supervisor", {**notice, "basis_ref": number})


def _works(world, changes: dict[str, dict], name: str = "direct_award_below_audit_limit") -> int:
    """A 村级小型工程 matter driven along an example path (the 6万元 one) to its end, with ``changes``
    to some steps' data."""
    from tests.support.matters import register_cited

    path = example(shipped("small_works"), name)
    with world.sessions() as session, session.begin():
        numbers = register_cited(session, path, AGENCY)
    instance = world.start("small_works")
    for step in path.steps:
        [task] = [t for t in world.tasks(instance) if t.step == step.step]
        data = {**cite(step.data, numbers), **changes.get(step.step, {})}
        with world.sessions() as session, session.begin():
            files.complete(session, task.id, world.holder(task.id), data, every_slot=True)
    return instance


def test_a_settlement_above_the_contract_without_an_audit(payments, now):
    world = payments
    world.deploy(shipped("small_works"))
    hugging = {
        "project_setup": {"budget_fen": 8_000_000, "resolution_ref": paper(world, 80_000, purpose="村东路灯安装工程")},
        "direct_award": {"award_amount_fen": 7_990_000},
        "sign_contract": {"contract_amount_fen": 7_990_000},
    }
    over = _works(world, {**hugging, "settlement": {"settlement_amount_fen": 12_000_000}})
    assert money(world, over) == ["settled_above_contract_without_audit", "threshold_hugging"]
    [hug] = world.violations(over, "threshold_hugging")
    assert "small_works.audit_min_fen" in hug["message"] and "79,900.00元" in hug["message"]
    lawful = _works(world, {})  # a 60,000-yuan contract settled at 58,000 after acceptance
    assert money(world, lawful) == []


def test_spending_above_the_resolution_at_implementation(world, now):
    world.deploy(shipped("four_deliberations"))
    path = example(shipped("four_deliberations"), "happy")
    approved = next(s.data for s in path.steps if s.step == "resolve")["approved_amount_fen"]
    for actual, expected in ((approved + 1, ["paid_above_approved"]), (approved, [])):
        instance = world.start("four_deliberations")
        for step in path.steps:
            data = {**step.data, "actual_amount_fen": actual} if step.step == "implement" else step.data
            world.complete(instance, step.step, data)
            if step.step == "implement":
                break
        assert money(world, instance) == expected


def test_a_works_settled_above_the_panel_line_was_accepted_by_too_few(payments, now):
    world = payments
    world.deploy(shipped("small_works"))
    small = {
        "direct_award": {"award_amount_fen": 1_800_000},
        "sign_contract": {"contract_amount_fen": 1_800_000},
        "acceptance": {"panel_members": ["王监委", "孙主任"]},
    }
    over = _works(world, {**small, "settlement": {"settlement_amount_fen": 2_100_000}}, "joint_meeting_passed")
    assert money(world, over) == ["acceptance_panel_too_small", "settled_above_contract_without_audit"]
    lawful = _works(world, {**small, "settlement": {"settlement_amount_fen": 1_800_000}}, "joint_meeting_passed")
    assert money(world, lawful) == []
