"""On a phone: a villager opens 补贴去哪了 from the village page, reads the rosters (a list, no wide
table, names masked, no ID or bank number), and looks up their own household by the code on the door
plate and the last four of the head's ID; a wrong pair only says 对不上."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.browser.conftest import PHONE, demo_site

pytestmark = pytest.mark.browser


def _rosters(session) -> None:
    from powerlist import demo_subsidies

    demo_subsidies.load(session, datetime.now(UTC), random.Random(2), "small")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    with demo_site(tmp_path_factory.mktemp("subsidies"), (), _rosters) as base:
        yield base


def test_a_villager_reads_the_rosters_and_finds_their_household_on_a_phone(served, browser, artifacts):
    from powerlist.demo_subsidies import household

    code, name, number, _people, _group = household("QX0101", 1)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{served}/public/villages/QX0101")
        page.locator("#subsidies-glance a", has_text="补贴去哪了").click()
        page.wait_for_url("**/subsidies")
        body = page.locator("body").inner_text()
        assert "最低生活保障金（低保）" in body and "耕地地力保护补贴" in body
        html = page.content()  # the lists folded away too
        assert name[0] + "*" in html and name not in html and number not in html and "6228" not in html
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the roster page is {width}px wide on a {PHONE['width']}px phone"
        page.screenshot(path=str(artifacts / "test_phone_public_subsidies.png"), full_page=True)

        page.locator("a", has_text="查我家的补贴").first.click()
        page.fill("input[name=household]", code.lower())
        page.fill("input[name=check]", "9999" if number[-4:] != "9999" else "8888")
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        assert "对不上" in page.locator("#lookup-message").inner_text()
        page.fill("input[name=household]", code)
        page.fill("input[name=check]", number[-4:])
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        receipts = page.locator("#receipts").inner_text()
        assert "最低生活保障金（低保）" in receipts and "耕地地力保护补贴" in receipts and "合计" in receipts
        assert number not in page.content()
        page.screenshot(path=str(artifacts / "test_phone_public_subsidies_mine.png"), full_page=True)
    finally:
        context.close()
