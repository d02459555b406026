"""我们的钱包 on the web: what the village's money did, as villagers see it."""

from __future__ import annotations

import re

from tests.web.test_web_villagers import APPROVAL, ONLY_SQLITE, VOUCHER, complete, deploy, start_payment


@ONLY_SQLITE
def test_the_wallet_shows_only_paid_payments_with_monthly_totals(client, world):
    from engine.supervision import evidence

    deploy(world, "fund_payment")
    paid = start_payment(world, VOUCHER)
    for step, data in APPROVAL:
        complete(world, paid, step, data)
    payment = {
        "paid_amount_fen": 80000,
        "paid_on": "2025-03-23",
        "payment_method": "village_card",
        "payment_reference": "VC20250323001",
        "accountant_name": "陈会计",
    }
    complete(world, paid, "payment", payment)
    second = start_payment(world, {**VOUCHER, "amount_fen": 25050, "purpose": "村部办公用品", "payee": "某文具店"})
    for step, data in APPROVAL:
        complete(world, second, step, data)
    complete(world, second, "payment", {**payment, "paid_amount_fen": 25050, "paid_on": "2025-04-02"})
    refused = start_payment(world, {**VOUCHER, "purpose": "被否决的开支"})
    complete(world, refused, "finance_signoff", {**APPROVAL[0][1], "signoff_approved": False, "opinion": "不合规"})
    start_payment(world, {**VOUCHER, "purpose": "还在审批的开支"})
    start_payment(world, {**VOUCHER, "purpose": "别村的开支"}, village="QX0102")
    item = evidence.EvidenceInput(
        kind="payment", at=evidence.parse_time("2025-03-23T10:00:00+08:00"), amount_fen=80000, payee="某五金店"
    )
    with world() as session, session.begin():
        evidence.record(session, paid, item, "shangtang.bookkeeper")

    page = client.get("/public/villages/QX0101/wallet")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "村道路灯维修材料费" in text and "村部办公用品" in text
    for hidden in ("被否决的开支", "还在审批的开支", "别村的开支", "6222000011112222"):
        assert hidden not in text, hidden
    assert "某五金店 ***" in text
    assert re.search(r"<td>2025-03</td><td class=\"num\">1</td><td class=\"num\">800.00 元</td>", text)
    assert re.search(r"<td>2025-04</td><td class=\"num\">1</td><td class=\"num\">250.50 元</td>", text)
    assert re.search(r'class="total">1,?050.50 元<', text)
    assert client.get("/public/villages/QX9999/wallet").status_code == 404
