"""On a phone (390×844): a "留空" field may be left empty when its condition does not hold, every
error is shown at once next to its field, the checks' summary is not green while a check fails,
仍要提交 is not offered for a statutory check, and the title typed at start is carried into 提议."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import PHONE, demo_site
from tests.conftest import ROOT
from tests.support.files import PDF
from tests.web.conftest import CHAIR, FOUR, MINI, PASSWORD, SECRETARY

pytestmark = pytest.mark.browser

FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
CADRE = "shangtang.cadre"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[str]:
    """One app for the module's journeys, with 四议两公开, 资金支出 and the mini flow."""
    with demo_site(tmp_path_factory.mktemp("forms"), (FOUR, MINI, FUND)) as base:
        yield base


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def start(page, base: str, flow: str, title: str) -> None:
    page.goto(f"{base}/start/{flow}")
    page.fill("input[name=title]", title)
    page.click("form[data-once] button[type=submit]")
    page.wait_for_url("**/tasks/**")


def error_at(page, name: str) -> str:
    slot = page.locator(f'[data-error-for="{name}"]')
    return slot.inner_text() if slot.is_visible() else ""


def test_a_cash_voucher_needs_no_account_and_every_error_shows_at_once(base, browser, artifacts, tmp_path):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    invoice = tmp_path / "发票.pdf"
    invoice.write_bytes(PDF)
    try:
        login(page, base, CADRE)
        start(page, base, "fund_payment", "村道路灯维修材料费")
        assert page.input_value("textarea[name=purpose]") == "村道路灯维修材料费"  # the title typed at start
        page.fill("input[name=amount_fen]", "800.00")
        page.fill("input[name=payee]", "某五金店")
        page.select_option("select[name=expense_category]", "non_productive")
        page.check('input[name=voucher_kind][value="invoice"]')
        page.fill("input[name=spent_on]", "2026-11-01")
        page.check('input[name=payment_method][value="village_card"]')
        page.fill("input[name=handler_name]", "赵干部")
        page.fill("input[name=witness_name]", "赵干部")
        page.set_input_files("input[name=file_invoice]", str(invoice))
        page.click("#task-form button[type=submit]")
        page.locator('[data-error-for="payee_account"]:not([hidden])').wait_for()

        # Paid by card: 收款账号 is required, and the witness check fails: both shown at once.
        assert "收款账号" in error_at(page, "payee_account")
        assert "证明人不能是经办人本人" in error_at(page, "witness_name")
        summary = page.locator("#checks-summary")
        assert "0/1" in summary.inner_text() and "fail" in (summary.get_attribute("class") or "")
        assert summary.evaluate("e => getComputedStyle(e).color") != "rgb(21, 128, 61)"
        page.screenshot(path=str(artifacts / "test_phone_forms_voucher_refused.png"), full_page=True)

        # In cash, with another witness: the account stays empty and the voucher goes through.
        page.check('input[name=payment_method][value="cash"]')
        page.fill("input[name=witness_name]", "钱干部")
        with page.expect_response(lambda r: r.url.endswith("/check")):
            page.fill("input[name=payee_account]", "")
        page.locator("#checks-summary.ok").wait_for(state="attached")
        page.click("#task-form button[type=submit]")
        page.wait_for_url("**/matters/**")
        assert "已提交" in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "test_phone_forms_cash_voucher.png"), full_page=True)
    finally:
        context.close()


def test_a_statutory_check_offers_no_waiver_and_the_title_reaches_the_proposal(base, browser, artifacts):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, base, SECRETARY)
        start(page, base, "four_deliberations", "村道硬化工程")
        assert page.input_value("input[name=matter_title]") == "村道硬化工程"  # carried into 提议
        page.screenshot(path=str(artifacts / "test_phone_forms_title_in_proposal.png"), full_page=True)

        start(page, base, "mini_decision", "修缮村道")
        page.fill("input[name=subject]", "修缮村道")
        page.fill("input[name=amount_fen]", "100")
        page.click("#task-form button[type=submit]")
        page.wait_for_url("**/matters/**")
        matter = page.url
        context.clear_cookies()
        login(page, base, CHAIR)
        page.goto(matter)  # the chair's desk holds other matters too: open this one's step
        page.locator("main a[href*='/tasks/']").first.click()
        page.wait_for_url("**/tasks/**")

        # Typed with a quorum short and too many votes: the live check marks both fields at once.
        page.fill("input[name=members]", "9")
        page.fill("input[name=present]", "3")
        page.fill("input[name=votes_against]", "0")
        page.fill("input[name=abstain]", "0")
        with page.expect_response(lambda r: r.url.endswith("/check")):
            page.fill("input[name=votes_for]", "5")
        page.locator("#checks-summary.fail").wait_for(state="attached")
        assert "1/3" in page.locator("#checks-summary").inner_text()
        assert "三分之二" in error_at(page, "present") and "票数之和" in error_at(page, "votes_for")

        # Submitted anyway: refused with both errors, and no 仍要提交 for a statutory quorum.
        page.click("#task-form button[type=submit]")
        page.locator("[role=alert]").first.wait_for()
        assert "三分之二" in error_at(page, "present") and "票数之和" in error_at(page, "votes_for")
        assert page.locator("input[name=waive]").count() == 0
        summary = page.locator("#checks-summary")
        assert "1/3" in summary.inner_text() and "fail" in (summary.get_attribute("class") or "")
        page.screenshot(path=str(artifacts / "test_phone_forms_no_waiver.png"), full_page=True)
    finally:
        context.close()
