"""我们的钱包 on the web: what the village's money did, as villagers see it, and the staff page that
imports a month's accounts (the same engine command as ``powerlist ledger import``)."""

from __future__ import annotations

import io
import re

from tests.web.conftest import PASSWORD
from tests.web.public.test_web_villagers import APPROVAL, ONLY_SQLITE, VOUCHER, complete, deploy, start_payment

JOURNAL = "\n".join(
    [
        "日期,凭证号,摘要,科目,收入,支出",
        "2025-03-01,,上年结转,期初余额,10000.00,",
        "2025-03-05,记-001,收鱼塘承包费,发包及上交收入,2000.00,",
        "2025-03-23,VC20250323001,付路灯维修材料费,管理费用,,800.00",
        "2025-03-28,记-003,付电费,管理费用,,120.00",
    ]
)


@ONLY_SQLITE
def test_the_wallet_shows_income_spending_balance_and_each_paid_payment_with_its_approvals(client, demo_world):
    from engine.supervision import evidence

    deploy(demo_world, "fund_payment")
    paid = start_payment(demo_world, VOUCHER)
    for step, data in APPROVAL:
        complete(demo_world, paid, step, data)
    payment = {
        "paid_amount_fen": 80000,
        "paid_on": "2025-03-23",
        "payment_method": "village_card",
        "payment_reference": "VC20250323001",
        "accountant_name": "陈会计",
    }
    complete(demo_world, paid, "payment", payment)
    second = start_payment(demo_world, {**VOUCHER, "amount_fen": 25050, "purpose": "村部办公用品", "payee": "某文具店"})
    for step, data in APPROVAL:
        complete(demo_world, second, step, data)
    complete(demo_world, second, "payment", {**payment, "paid_amount_fen": 25050, "paid_on": "2025-04-02"})
    refused = start_payment(demo_world, {**VOUCHER, "purpose": "被否决的开支"})
    complete(demo_world, refused, "finance_signoff", {**APPROVAL[0][1], "signoff_approved": False, "opinion": "不合规"})
    start_payment(demo_world, {**VOUCHER, "purpose": "还在审批的开支"})
    start_payment(demo_world, {**VOUCHER, "purpose": "别村的开支"}, village="QX0102")
    item = evidence.EvidenceInput(
        kind="payment", at=evidence.parse_time("2025-03-23T10:00:00+08:00"), amount_fen=80000, payee="某五金店"
    )
    with demo_world() as session, session.begin():
        evidence.record(session, paid, item, "shangtang.bookkeeper")

    # Each paid payment with its approved amount, the offices that approved it and its card payment.
    before = client.get("/public/villages/QX0101/wallet?year=2025").get_data(as_text=True)
    assert "批准金额 800.00 元" in before and "村务卡付款 2025-03-23 800.00 元" in before
    assert "村委会主任" in before and "镇三资中心" in before and "2025-03-22" in before

    # The town's 三资中心 imports March: preview first, then confirm.
    client.post("/login", data={"username": "dongxi.agency", "password": PASSWORD})
    page = client.get("/ledger?village=QX0101")
    assert page.status_code == 200 and "上传序时账" in page.get_data(as_text=True)
    upload = {"village": "QX0101", "month": "2025-03", "action": "preview"}
    bad = client.post(
        "/ledger",
        data={**upload, "journal": (io.BytesIO(JOURNAL.replace("2025-03-28", "2025-04-28").encode()), "3月.csv")},
    )
    assert bad.status_code == 400 and "第 5 行 A 列" in bad.get_data(as_text=True), re.findall(
        r"(?s)id=\"problems\">.*?</div>", bad.get_data(as_text=True)
    )
    preview = client.post("/ledger", data={**upload, "journal": (io.BytesIO(JOURNAL.encode("gb18030")), "3月.csv")})
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "导入前核对" in shown and "920.00 元" in shown and "10,000.00 元" in shown
    encoded = re.search(r'name="data" value="([^"]+)"', shown).group(1)
    done = client.post(
        "/ledger",
        data={"village": "QX0101", "month": "2025-03", "action": "confirm", "file_name": "3月.csv", "data": encoded},
    )
    assert done.status_code == 302
    assert "3月.csv" in client.get("/ledger?village=QX0101").get_data(as_text=True)
    client.post("/logout")

    page = client.get("/public/villages/QX0101/wallet?year=2025")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "村道路灯维修材料费" in text and "村部办公用品" in text and "付电费" in text and "收鱼塘承包费" in text
    for hidden in ("被否决的开支", "还在审批的开支", "别村的开支", "6222000011112222", "付路灯维修材料费", "shangtang"):
        assert hidden not in text, hidden
    assert "某五金店 ***" in text
    # 10,000 opening + 2,000 income − (800 + 250.50 paid by flows + 120 on the books) = 10,829.50
    assert re.search(r'id="opening">10,000.00 元<', text)
    assert re.search(r'id="income">2,000.00 元<', text)
    assert re.search(r'id="spending">1,170.50 元<', text)
    assert re.search(r'id="closing"><strong class="total">10,829.50 元<', text)
    assert "批准金额 800.00 元" in text and "村务卡付款 2025-03-23 800.00 元" in text
    assert "镇三资中心" in text and "账上支出" in text
    assert "<svg" in text and "<title" in text and "<desc" in text
    march = client.get("/public/villages/QX0101/wallet?year=2025&month=3").get_data(as_text=True)
    assert "村道路灯维修材料费" in march and "村部办公用品" not in march
    assert re.search(r'id="closing"><strong class="total">11,080.00 元<', march)
    assert client.get("/public/villages/QX0101/wallet?year=abc").status_code == 404
    assert client.get("/public/villages/QX9999/wallet").status_code == 404
    glance = client.get("/public/villages/QX0101").get_data(as_text=True)
    assert 'id="wallet-glance"' in glance


@ONLY_SQLITE
def test_only_the_keepers_of_the_accounts_may_import_on_the_web(client, demo_world):
    data = {
        "village": "QX0101",
        "month": "2025-03",
        "action": "preview",
        "journal": (io.BytesIO(JOURNAL.encode()), "3月.csv"),
    }
    client.post("/login", data={"username": "shangtang.secretary", "password": PASSWORD})
    assert client.post("/ledger", data=dict(data)).status_code == 403
    client.post("/logout")
    client.post("/login", data={"username": "lingtou.bookkeeper", "password": PASSWORD})
    assert (
        client.post("/ledger", data={**data, "journal": (io.BytesIO(JOURNAL.encode()), "3月.csv")}).status_code == 404
    )
