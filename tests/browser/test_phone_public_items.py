"""On a phone: the power list on /public/ opens an item's page, whose flowchart stays within the
screen's width (scrolled inside its frame); a village's page leads to its published decisions and
a decision's page with its result."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import PHONE, database_of, demo_site
from tests.conftest import ROOT
from tests.engine.public.test_published_decisions import DrivenMatter, Library

pytestmark = pytest.mark.browser

FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
VILLAGE = "QX0101"
STEPS = (
    "propose",
    "discuss",
    "review",
    "resolve",
    "disclose_resolution",
    "supervise_resolution",
    "implement",
    "disclose_result",
)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """The demo county with 四议两公开 and a matter of 上塘村 through both disclosures."""
    from engine.persistence.db import make_engine, make_sessionmaker

    folder = tmp_path_factory.mktemp("items")
    with demo_site(folder, (FOUR,)) as base:
        engine = make_engine(database_of(folder))
        matter = DrivenMatter(Library(make_sessionmaker(engine)))
        for step in STEPS:
            matter.done(step)
        engine.dispose()
        yield base


def test_on_a_phone_an_item_opens_its_flowchart_and_a_village_its_decisions(browser, served, artifacts):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{served}/public/")
        page.locator("#power-list a", has_text="四议两公开").click()
        page.wait_for_url("**/public/items/four_deliberations")
        chart = page.locator(".item-chart")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert page.locator(".item-chart svg").bounding_box()["height"] > 100  # drawn, not collapsed
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        )  # the page itself does not scroll sideways
        assert "办理步骤" in page.locator("#steps").inner_text()
        page.screenshot(path=str(artifacts / "phone_public_item.png"), full_page=False)

        page.goto(f"{served}/public/villages/{VILLAGE}")
        page.locator("#decisions a", has_text="村道硬化工程").first.click()
        page.wait_for_url(f"**/public/villages/{VILLAGE}/decisions/*")
        text = page.locator("main, body").first.inner_text()
        assert "同意实施村道硬化工程" in text and "办理结果" in text
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.goto(f"{served}/public/villages/{VILLAGE}/decisions")
        assert "村道硬化工程" in page.locator("#decisions").inner_text()
        page.screenshot(path=str(artifacts / "phone_public_decisions.png"), full_page=True)
    finally:
        context.close()
