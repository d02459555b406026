"""On a phone: a villager opens 我们的钱包 from the village page, reads the year's balance, the chart
(with its title) and the month table without scrolling sideways, taps a month and reads its income and
the 账上支出 line, the phone number typed in a summary masked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import PHONE, demo_site
from tests.browser.test_phone_layout import SIDEWAYS

pytestmark = pytest.mark.browser

JOURNAL = "\n".join(
    [
        "日期,凭证号,摘要,科目,收入,支出",
        "2026-11-01,,上年结转,期初余额,300000.00,",
        "2026-11-05,记-001,收村东鱼塘承包费,发包及上交收入,8000.00,",
        "2026-11-18,记-002,付保洁员工资 联系电话 13912345678,管理费用,,1500.00",
    ]
)


def prepare(session) -> None:
    from engine.public import ledger

    ledger.import_journal(session, "dongxi.agency", "QX0101", "2026-11", JOURNAL.encode("gb18030"), "11月.csv")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    with demo_site(tmp_path_factory.mktemp("wallet"), (), prepare) as base:
        yield base


def test_a_villager_reads_the_wallet_and_a_month_on_a_phone(served, browser, artifacts):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{served}/public/villages/QX0101")
        assert "我们的钱包" in page.locator("#wallet-glance").inner_text()
        page.goto(f"{served}/public/villages/QX0101/wallet?year=2026")
        assert page.locator("#closing").inner_text() == "306,500.00 元"
        assert page.locator("svg.wallet-chart title").first.text_content() == "2026 年每月收入和支出"
        assert page.locator("svg.wallet-chart").is_visible()
        assert page.evaluate(SIDEWAYS, PHONE["width"]) <= 0
        page.screenshot(path=str(artifacts / "test_phone_public_wallet.png"), full_page=True)
        page.locator("#months a", has_text="11 月").click()
        page.wait_for_load_state()
        payments = page.locator("#payments").inner_text()
        assert "账上支出" in payments and "付保洁员工资" in payments and "13912345678" not in page.content()
        assert "收村东鱼塘承包费" in page.locator("#income-lines").inner_text()
        assert page.evaluate(SIDEWAYS, PHONE["width"]) <= 0
        page.screenshot(path=str(artifacts / "test_phone_public_wallet_month.png"), full_page=True)
    finally:
        context.close()
