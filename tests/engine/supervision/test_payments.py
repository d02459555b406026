"""Payment evidence: approve before pay (先审后付), village-card statements, split payments."""

from __future__ import annotations

from datetime import UTC, datetime

from engine import api
from engine.supervision import evidence
from tests.engine.supervision.conftest import shipped
from tests.engine.supervision.flows import FUND_PAYMENT

APPROVAL = ("voucher", "finance_signoff", "supervisory_review", "bookkeeper_submit", "town_audit")


def _pay(world, instance: int, yuan: str, payee: str = "王五建材店", at: str = "2026-11-03T10:00:00+08:00"):
    item = evidence.EvidenceInput(
        kind="payment", at=evidence.parse_time(at), amount_fen=evidence.parse_amount(yuan), payee=payee
    )
    with world.sessions() as session, session.begin():
        return [v.code for v in evidence.record(session, instance, item, "shangtang.bookkeeper").violations]


def test_payments_before_or_without_approval_are_red_and_kept_in_the_matters_history(world):
    world.deploy(shipped("fund_payment"))
    pending = world.start("fund_payment")
    world.complete(pending, "voucher", FUND_PAYMENT["voucher"])
    assert _pay(world, pending, "500.00") == ["payment_before_approval"]
    recorded = [e for e in world.history(pending) if e.kind == "evidence_recorded"]
    assert len(recorded) == 1 and recorded[0].actor == "shangtang.bookkeeper"
    assert recorded[0].data["evidence"]["amount_fen"] == 50_000
    [violation] = world.violations(pending)
    assert violation["evidence"][0]["seq"] == recorded[0].seq and violation["severity"] == "red"

    rejected = world.start("fund_payment")
    world.complete(rejected, "voucher", FUND_PAYMENT["voucher"])
    world.complete(
        rejected, "finance_signoff", {**FUND_PAYMENT["finance_signoff"], "signoff_approved": False, "opinion": "无发票"}
    )
    assert _pay(world, rejected, "500.00", at="2026-11-04T10:00:00+08:00") == ["payment_without_approval"]

    approved = world.start("fund_payment")
    world.run(approved, {k: FUND_PAYMENT[k] for k in APPROVAL})
    # (to another payee: three payments of 500 to one payee within 30 days would be a split of 1,500)
    assert _pay(world, approved, "500.00", payee="李四五金", at="2026-11-05T10:00:00+08:00") == []
    assert _pay(world, approved, "500.00", payee="李四五金", at="2026-11-05T10:00:00+08:00") == []  # once
    assert len([e for e in world.history(approved) if e.kind == "evidence_recorded"]) == 1
    with world.sessions() as session:
        assert api.verify_history(session).ok


def test_a_card_statement_is_matched_by_reference_and_unmatched_rows_are_kept(world, cli, tmp_path):
    world.deploy(shipped("fund_payment"))
    paid = world.start("fund_payment")
    world.run(paid, {k: FUND_PAYMENT[k] for k in (*APPROVAL, "payment")})  # records CARD-20261109-001
    first, second = world.start("mini_decision"), world.start("mini_decision")
    statement = tmp_path / "card.csv"
    statement.write_text(
        "交易流水号,村代码,交易时间,收款方,金额,关联事项\n"
        "T1,QX0101,2026-11-09 10:00,王五建材店,500.00,CARD-20261109-001\n"
        f"T2,QX0101,2026-11-10 09:00,李四五金,950.00,PL{first}\n"
        f"T3,QX0101,2026-11-12 15:30,李四五金,980.00,PL{second}\n"
        "T4,QX0101,2026-11-13 11:00,赵六,300.00,X-999\n",
        encoding="utf-8",
    )
    result = cli("evidence", "import", str(statement), "--as", "shangtang.bookkeeper", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert [(r["line"], r["instance"]) for r in report["matched"]] == [(2, paid), (3, first), (4, second)]
    assert [(r["line"], r["payee"], r["reason"]) for r in report["unmatched"]] == [
        (5, "赵六", "no matter with reference X-999")
    ]
    codes = sorted(v["code"] for v in world.violations())
    # Two running mini matters paid before approval, a payment with no matter at all, and two
    # payments to one payee just under the 1,000-yuan village-head limit that together cross it;
    # and the town agency's one demo clerk both audited and paid (a separation-of-duties warning).
    assert codes == [
        "incompatible_steps_one_person",
        "payment_before_approval",
        "payment_before_approval",
        "payment_without_voucher",
        "split_payment",
    ]
    split = world.violations(code="split_payment")[0]
    assert sorted(e["amount_fen"] for e in split["evidence"] if "amount_fen" in e) == [95_000, 98_000]

    again = cli("evidence", "import", str(statement), "--as", "shangtang.bookkeeper")
    assert again.code == 0 and "0 matched, 0 unmatched, 4 already recorded" in again.out
    assert len(world.violations()) == 5  # the four above and the town clerk's separation-of-duties warning

    broken = tmp_path / "broken.csv"
    broken.write_text("at,payee,amount\n2026-11-40,某人,12.345\n", encoding="utf-8")
    bad = cli("evidence", "import", str(broken))
    assert bad.code == 2 and "line 2" in bad.err


def test_evidence_from_the_command_line(world, cli):
    instance = world.start("mini_decision")
    result = cli(
        "evidence",
        str(instance),
        "--kind",
        "payment",
        "--amount",
        "1,200.00",
        "--payee",
        "王五",
        "--at",
        "2026-11-03T10:00:00+08:00",
        "--reference",
        "CARD-7",
        "--as",
        "shangtang.bookkeeper",
        "--json",
    )
    assert result.code == 0, result.err
    assert [v["code"] for v in result.json()["violations"]] == ["payment_before_approval"]
    history = cli("history", str(instance), "--json", check=True).json()["events"]
    assert history[-1]["kind"] == "evidence_recorded" and history[-1]["data"]["evidence"]["amount_fen"] == 120_000
    assert cli("evidence", str(instance), "--amount", "abc", "--payee", "王五").code == 2
    assert cli("evidence", "999999", "--amount", "1.00", "--payee", "王五").code == 1
    assert datetime(2026, 11, 3, 2, tzinfo=UTC) == evidence.parse_time("2026-11-03T10:00:00+08:00")


def test_split_payments_are_judged_by_their_sum_over_the_limit_at_the_boundary(world):
    """Two payments of exactly 1,000.00 yuan to one payee when the village head's limit is ≤ 1,000 yuan
    exceed it together; two of 500.00 do not come near it; a single 1,000.00 is within it."""
    world.deploy(shipped("fund_payment"))
    first, second, third = (world.start("fund_payment") for _ in range(3))
    assert "split_payment" not in _pay(world, first, "1000.00", payee="李四五金", at="2026-11-03T10:00:00+08:00")
    codes = _pay(world, second, "1000.00", payee="李四五金", at="2026-11-10T10:00:00+08:00")
    assert "split_payment" in codes
    [split] = world.violations(code="split_payment")
    assert sorted(e["amount_fen"] for e in split["evidence"] if "amount_fen" in e) == [100_000, 100_000]
    # the lawful twin: small amounts far under the limit to another payee
    assert "split_payment" not in _pay(world, third, "500.00", payee="赵六", at="2026-11-03T10:00:00+08:00")
    assert "split_payment" not in _pay(world, third, "500.00", payee="赵六", at="2026-11-04T10:00:00+08:00")


def test_split_vouchers_are_caught_as_they_are_submitted_before_any_money_moves(world):
    """Two vouchers of exactly 1,000.00 yuan to one payee (the village head's limit) within the window:
    the second raises a split warning at once; a voucher to another payee raises nothing."""
    world.deploy(shipped("fund_payment"))
    voucher = {**FUND_PAYMENT["voucher"], "amount_fen": 100_000, "payee": "李四五金"}
    first, second, other = (world.start("fund_payment") for _ in range(3))
    world.complete(first, "voucher", voucher)
    world.complete(other, "voucher", {**voucher, "payee": "赵六"})
    assert world.violations(code="split_payment") == []
    world.complete(second, "voucher", voucher)
    [split] = world.violations(code="split_payment")
    assert split["instance"] == second and split["step"] == "voucher"
    assert sorted(e["amount_fen"] for e in split["evidence"]) == [100_000, 100_000]
    assert {e["instance"] for e in split["evidence"]} == {first, second}
