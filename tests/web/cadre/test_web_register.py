"""决议台账 on the web: the town records and closes decisions, the village reads them, a voucher's
form offers only the open decisions it may cite, and a made-up number is refused on submission."""

from __future__ import annotations

import re

from engine import api
from tests.conftest import ROOT

AGENCY = "dongxi.agency"
FUND_PAYMENT = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
RECORD = {
    "action": "record",
    "village": "QX0101",
    "kind": "resolution",
    "amount": "120,000.00",
    "purpose": "村道硬化工程",
    "passed_on": "2026-10-20",
    "note": "会议记录存村档案室第3卷",
}


def test_the_town_keeps_the_register_and_the_village_reads_it(client, auth):
    auth.login(AGENCY)
    page = client.get("/decisions?village=QX0101")
    assert page.status_code == 200 and "补登纸质决议" in page.text
    done = client.post("/decisions?village=QX0101", data=RECORD, follow_redirects=True)
    assert "已登记 QX0101-2026-决-001" in done.text
    bad = client.post("/decisions?village=QX0101", data={**RECORD, "amount": "12.345", "passed_on": "明天"})
    assert bad.status_code == 400 and "最多两位小数" in bad.text and "YYYY-MM-DD" in bad.text
    auth.logout()

    auth.login("shangtang.chair")
    page = client.get("/decisions")
    assert page.status_code == 200 and "QX0101-2026-决-001" in page.text and "120,000.00" in page.text
    assert "补登纸质决议" not in page.text and "关闭这项决议" not in page.text
    forged = client.post("/decisions?village=QX0101", data={**RECORD, "purpose": "自己补登一份决议"})
    assert forged.status_code == 403
    assert client.get("/decisions?village=QX0201").status_code == 404  # another town's village
    auth.logout()

    auth.login(AGENCY)
    closed = client.post(
        "/decisions?village=QX0101",
        data={"action": "close", "number": "QX0101-2026-决-001", "reason": "工程已竣工决算"},
        follow_redirects=True,
    )
    assert "已关闭 QX0101-2026-决-001" in closed.text and "已结项" in closed.text


def test_a_voucher_cites_a_decision_chosen_from_the_register(demo_world, client, auth):
    with demo_world() as session, session.begin():
        api.deploy_file(session, FUND_PAYMENT, "admin")
    auth.login(AGENCY)
    client.post("/decisions?village=QX0101", data=RECORD)
    client.post("/decisions?village=QX0102", data={**RECORD, "village": "QX0102", "purpose": "下塘村水渠"})
    auth.logout()

    with demo_world() as session, session.begin():
        started = api.start(session, "fund_payment", "QX0101", "shangtang.cadre", {}, "村道硬化工程进度款")
    task = started.opened[0]["id"]
    auth.login("shangtang.cadre")
    form = client.get(f"/tasks/{task}").text
    options = re.findall(r'<option value="(QX\d+-[^"]+)"', form)
    assert options == ["QX0101-2026-决-001"]  # the village's own, open resolutions only
    voucher = {
        "amount_fen": "80,000.00",
        "payee": "某建设公司",
        "payee_account": "6222000011112222",
        "purpose": "村道硬化工程进度款",
        "expense_category": "project",
        "voucher_kind": "invoice",
        "spent_on": "2026-11-01",
        "payment_method": "bank_transfer",
        "handler_name": "赵干部",
        "witness_name": "钱干部",
        "resolution_ref": "2099-假-01",
    }
    refused = client.post(f"/tasks/{task}", data=voucher)
    assert refused.status_code == 400 and "本村决议台账中没有编号为“2099-假-01”" in refused.text
    # Below the 四议两公开 line "cite nothing" is a lawful choice; at or above it, it is refused.
    nothing = client.post(f"/tasks/{task}", data={**voucher, "resolution_ref": ""})
    assert nothing.status_code == 400 and "须从本村决议台账中选择" in nothing.text
    assert "不引用（未达到须引用决议的标准）" in form


def test_the_register_through_the_api(demo_world, client):
    from engine.supervision import decisions
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        decisions.record_paper(
            session, AGENCY, "QX0101", kind="resolution", amount_fen=12_000_000, purpose="村道硬化工程",
            passed_on="2026-10-20", note="会议记录存村档案室第3卷",
        )  # fmt: skip
        token = tokens.create(session, "shangtang.chair", "test", None)
    me = {"Authorization": f"Bearer {token}"}
    rows = client.get("/api/v1/villages/QX0101/decisions", headers=me).get_json()
    assert [(r["number"], r["amount_fen"], r["status"]) for r in rows] == [("QX0101-2026-决-001", 12_000_000, "open")]
    hidden = client.get("/api/v1/villages/QX0201/decisions", headers=me)
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "unit.not_found"
    assert client.get("/api/v1/villages/NOPE/decisions", headers=me).status_code == 404


def test_a_year_past_any_register_is_refused_on_the_page_and_through_the_api(demo_world, client, auth):
    """A year too large for the database was a 500; the register command refuses it, naming the field."""
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        token = tokens.create(session, "shangtang.chair", "test", None)
    huge = "999999999999999999999"
    answer = client.get(f"/api/v1/villages/QX0101/decisions?year={huge}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "decision.year" and answer.get_json()["error"]["field"] == "year"
    auth.login("shangtang.chair")
    page = client.get(f"/decisions?year={huge}")
    assert page.status_code == 400 and "年份须是 1950 到 2200 之间的整数" in page.text
    assert client.get("/decisions?year=2026").status_code == 200
