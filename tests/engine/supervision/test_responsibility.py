"""Responsibility follows the step: a town step's delay is the town's, and its person's, not the village's."""

from __future__ import annotations

from datetime import timedelta

from engine import api
from engine.supervision import scores
from tests.engine.supervision.conftest import T0, shipped
from tests.engine.supervision.flows import FUND_PAYMENT

BEFORE_AUDIT = ("voucher", "finance_signoff", "supervisory_review", "bookkeeper_submit")
# town_audit: pl:timeLimit P5D, working days. Opened Monday 2 November 2026: due Monday 9 November, 24:00.
AUDIT_DUE = T0 + timedelta(days=7, hours=15)


def _at_town_audit(world, village: str, starter: str) -> int:
    with world.sessions() as session, session.begin():
        instance = api.start(session, "fund_payment", village, starter, None).instance_id
    world.run(instance, {k: FUND_PAYMENT[k] for k in BEFORE_AUDIT})
    assert world.task(instance, "town_audit").role == "town_agency"
    return instance


def test_the_town_agencys_overdue_audit_is_charged_to_the_town_and_its_user(world):
    world.sole_holders("dongxi.agency")
    world.deploy(shipped("fund_payment"))
    upper = _at_town_audit(world, "QX0101", "shangtang.secretary")
    lower = _at_town_audit(world, "QX0102", "xiatang.secretary")
    world.sweep(AUDIT_DUE + timedelta(minutes=1))

    for instance in (upper, lower):
        [overdue] = world.violations(instance, "step_overdue")
        assert overdue["step"] == "town_audit"
        assert (overdue["responsible_role"], overdue["responsible_user"]) == ("town_agency", "dongxi.agency")
        # Owned by the town agency, not by the village committee chair (村委会主任).
        assert (overdue["owner_role"], overdue["owner_user"]) == ("town_agency", "dongxi.agency")

    with world.sessions() as session:
        result = scores.scores(session, "2026Q4", "QX01")
    units = {u["unit"]: u for u in result["units"]}
    assert units["QX0101"]["deducted"] == 0 and units["QX0102"]["deducted"] == 0  # not the villages'
    assert (units["QX01"]["level"], units["QX01"]["deducted"], units["QX01"]["violations"]) == ("town", 2, 2)
    assert [t["unit"] for t in result["towns"]] == ["QX01"]
    assert {v["village"] for v in result["villages"]} == {"QX0101", "QX0102"}
    # The town user is listed once, under the town, never as a cadre of the two villages.
    agency = [c for c in result["cadres"] if c["user"] == "dongxi.agency"]
    assert [(c["unit"], c["level"], c["deducted"]) for c in agency] == [("QX01", "town", 2)]

    with world.sessions() as session:
        village_only = scores.scores(session, "2026Q4", "QX0101")
    assert [u["unit"] for u in village_only["units"]] == ["QX0101"]
    assert village_only["villages"][0]["score"] == 100 and village_only["cadres"] == []


def test_a_town_step_completed_late_is_charged_to_whoever_completed_it(world, now):
    world.deploy(shipped("fund_payment"))
    instance = _at_town_audit(world, "QX0101", "shangtang.secretary")
    now(AUDIT_DUE + timedelta(hours=3))  # done late, between two sweeps
    world.complete(instance, "town_audit", FUND_PAYMENT["town_audit"], actor="dongxi.agency")
    [late] = world.violations(instance, "step_completed_late")
    assert (late["responsible_role"], late["responsible_user"]) == ("town_agency", "dongxi.agency")
    assert (late["owner_role"], late["owner_user"]) == ("town_agency", "dongxi.agency")
    with world.sessions() as session:
        result = scores.scores(session, "2026Q4")
    units = {u["unit"]: u for u in result["units"]}
    assert units["QX0101"]["deducted"] == 0 and units["QX01"]["deducted"] == 1
    assert [(c["user"], c["unit"]) for c in result["cadres"]] == [("dongxi.agency", "QX01")]


def test_scores_command_lists_the_town_and_its_people_under_it(world, cli):
    world.sole_holders("dongxi.agency")
    world.deploy(shipped("fund_payment"))
    _at_town_audit(world, "QX0101", "shangtang.secretary")
    world.sweep(AUDIT_DUE + timedelta(minutes=1))
    shown = cli("scores", "--period", "2026Q4", "--village", "QX01", check=True).out
    lines = shown.splitlines()
    assert any(line.split()[:2] == ["town", "QX01"] and "score   99" in line for line in lines), shown
    person = [line for line in lines if "dongxi.agency" in line]
    assert len(person) == 1 and "QX01" in person[0] and "QX0101" not in person[0], shown

