"""Amounts around every threshold of the rule set: at the line, a fen under and a fen over, split in
two and in three within the window and outside it. The cases are generated from the rule data, so a
county's changed line is tested where it now lies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock
from engine.ruleset import rule
from engine.supervision import evidence, hugging
from engine.supervision.rules import base_data
from tests.engine.supervision.conftest import T0, shipped
from tests.engine.supervision.flows import FUND_PAYMENT
from tests.support.matters import example

RULES = base_data()["supervision"]
SPLIT = RULES["payments"]["split"]
LIMITS = sorted({int(rule(key)) for key in SPLIT["thresholds"]})
NEAR = int(rule(RULES["hugging"]["near"]))
WATCHED = [
    (w["item"], w["step"], key, inclusive)
    for w in RULES["hugging"]["watch"]
    for key, inclusive in [(k, False) for k in w.get("below", [])] + [(k, True) for k in w.get("upto", [])]
]


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


# --- lines the amounts are held against --------------------------------------------------------


@pytest.mark.parametrize(("item", "step", "key", "inclusive"), WATCHED, ids=[f"{w[1]}-{w[2]}" for w in WATCHED])
def test_hugging_is_flagged_just_on_the_lenient_side_of_each_line(item, step, key, inclusive):
    line = int(rule(key))
    lowest = -(-line * NEAR // 100)  # the smallest amount within NEAR percent of the line
    assert hugging.hugged(line - 1, line, NEAR, inclusive)
    assert hugging.hugged(lowest, line, NEAR, inclusive)
    assert not hugging.hugged(lowest - 1, line, NEAR, inclusive)
    assert not hugging.hugged(line + 1, line, NEAR, inclusive)  # over it: the stricter tier applies
    assert hugging.hugged(line, line, NEAR, inclusive) is inclusive  # at a "from" line it is in the tier


# --- the approval tiers of 先审后付 -------------------------------------------------------------

TIERS = [
    ("fund_payment.village_head_max_fen", "joint_meeting_approval"),
    ("fund_payment.joint_meeting_max_fen", "representatives_resolution"),
    ("fund_payment.representatives_max_fen", "town_leader_approval"),
]
TIER_CASES = [(key, step, delta) for key, step in TIERS for delta in (-1, 0, 1)]


@pytest.fixture
def payments(world):
    world.deploy(shipped("fund_payment"))
    return world


@pytest.mark.parametrize(
    ("key", "body", "delta"), TIER_CASES, ids=[f"{c[0].split('.')[1]}{c[2]:+d}" for c in TIER_CASES]
)
def test_each_tier_starts_a_fen_above_its_limit_and_an_amount_at_it_is_flagged(payments, key, body, delta):
    from engine.supervision import decisions

    world = payments
    limit = int(rule(key))
    amount = limit + delta
    voucher = {**FUND_PAYMENT["voucher"], "amount_fen": amount, "payee": f"收款方{key}{delta}"}
    if amount >= int(rule("four_deliberations.min_amount_fen")):
        with world.sessions() as session, session.begin():
            voucher["resolution_ref"] = decisions.record_paper(
                session, "dongxi.agency", "QX0101", kind="resolution", amount_fen=amount, purpose="村道硬化工程",
                passed_on="2026-10-20", note="会议记录存村档案室",
            ).number  # fmt: skip
    instance = world.start("fund_payment")
    tier_data = {s.step: s.data for s in example(shipped("fund_payment"), "tier4_town_leader").steps}
    opened = set()
    for step in ("voucher", "finance_signoff", "supervisory_review", *(b for _k, b in TIERS)):
        if not any(t.step == step for t in world.tasks(instance)):
            continue
        opened.add(step)
        world.complete(instance, step, voucher if step == "voucher" else {**tier_data, **FUND_PAYMENT}[step])
    assert (body in opened) is (delta > 0), f"{_yuan(amount)} yuan went through {opened}"
    hugged = {v["evidence"][1]["line"] for v in world.violations(instance, "threshold_hugging")}
    assert (key in hugged) is (delta <= 0), f"{_yuan(amount)} yuan against {key}: flagged {hugged}"


# --- split payments ----------------------------------------------------------------------------

SPLITS = [
    # (pieces, each piece from the limit, days apart, split?)
    ("two_over", 2, lambda limit: limit // 2 + 1, 1, True),
    ("two_at", 2, lambda limit: limit // 2, 1, False),  # together exactly the limit: within authority
    ("two_each_at_limit", 2, lambda limit: limit, 1, True),  # each exactly at the limit, together twice it
    ("three_over", 3, lambda limit: limit // 3 + 1, 1, True),
    ("two_apart", 2, lambda limit: limit // 2 + 1, 31, False),  # outside the 30-day window
]
SPLIT_CASES = [(limit, *case) for limit in LIMITS for case in SPLITS]


@pytest.mark.parametrize(
    ("limit", "name", "pieces", "piece", "apart", "split"),
    SPLIT_CASES,
    ids=[f"{c[0] // 100}-{c[1]}" for c in SPLIT_CASES],
)
def test_card_payments_split_under_a_limit_are_found_by_their_sum(world, limit, name, pieces, piece, apart, split):
    payee = f"{name}{limit}"
    found = []
    for number in range(pieces):
        at = T0 + timedelta(days=apart * number)
        item = evidence.EvidenceInput(
            kind="payment", at=at, amount_fen=piece(limit), payee=payee, village="QX0101",
            transaction_id=f"{payee}-{number}",
        )  # fmt: skip
        with world.sessions() as session, session.begin():
            from sqlalchemy import select

            from engine.persistence.models import OrgUnit

            village = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))
            recorded = evidence.store(session, item, None, village, "import", "card.csv", clock.now())
            found += [v for v in recorded.violations if v.code == "split_payment"]
    at_this_limit = [v for v in found if f"{_yuan(limit)}元" in v.message]
    assert bool(at_this_limit) is split, [v.message for v in found]


VOUCHER_CASES = [(limit, *case) for limit in LIMITS[:2] for case in SPLITS[:3]]


@pytest.mark.parametrize(
    ("limit", "name", "pieces", "piece", "apart", "split"),
    VOUCHER_CASES,
    ids=[f"{c[0] // 100}-{c[1]}" for c in VOUCHER_CASES],
)
def test_the_flows_own_vouchers_split_under_a_limit_are_found_as_they_are_submitted(
    payments, limit, name, pieces, piece, apart, split
):
    world = payments
    payee = f"{name}{limit}"
    for _ in range(pieces):
        instance = world.start("fund_payment")
        world.complete(instance, "voucher", {**FUND_PAYMENT["voucher"], "amount_fen": piece(limit), "payee": payee})
    messages = [v["message"] for v in world.violations(code="split_payment") if payee in v["message"]]
    assert bool([m for m in messages if f"{_yuan(limit)}元" in m]) is split, messages
