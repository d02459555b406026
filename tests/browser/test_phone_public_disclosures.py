"""On a phone: a villager opens 三务公开 from the village page and reads last month's finance disclosure,
posted on time after the 村监会 signed it: the calendar, the content, its digest to check the board
against; the page fits the phone's width."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.browser.conftest import PHONE, demo_site

pytestmark = pytest.mark.browser


def _post_last_month(session) -> None:
    from engine import clock
    from engine.calendar import CST, as_local_day
    from engine.public import disclosures

    rules = disclosures.calendar_rules()
    month = disclosures.periods_ended(rules, "finance", as_local_day(clock.now()), 1)[0]
    try:
        clock.clock.set(datetime.combine(month.last + timedelta(days=2), time(10), CST).astimezone(UTC))
        row = disclosures.prepare(
            session, "shangtang.bookkeeper", "QX0101", "finance", month.key, note="本月无大额支出"
        )
        disclosures.review(
            session, "shangtang.supervisor", "QX0101", "finance", month.key, revision=row.revision, approve=True
        )
        disclosures.post(
            session, "shangtang.cadre", "QX0101", "finance", month.key, places=["村务公开栏", "村民微信群"]
        )
    finally:
        clock.clock.set(None)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    with demo_site(tmp_path_factory.mktemp("disclosures"), (), _post_last_month) as base:
        yield base


def test_a_villager_reads_the_months_finance_disclosure_and_its_digest_on_a_phone(served, browser, artifacts):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{served}/public/villages/QX0101")
        assert "财务公开" in page.locator("#disclosures-latest").inner_text()
        page.click("#disclosures-latest h2 a")
        page.wait_for_load_state()
        posted = page.locator("li.disclosure[data-kind=finance]").first
        assert "按时公开" in posted.inner_text() and "村务公开栏、村民微信群" in posted.inner_text()
        posted.locator("summary").click()
        digest = posted.locator(".digest code").inner_text()
        assert len(digest) == 64 and "本月无大额支出" in posted.inner_text()
        assert "未公开" in page.locator("#calendar").inner_text()  # the quarters nobody posted
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "test_phone_public_disclosures.png"), full_page=True)
    finally:
        context.close()
