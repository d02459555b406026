"""On a phone: the power list on /public/ opens an item's page, whose flowchart stays within the
screen's width (scrolled inside its frame); a village's page leads to its published decisions and
a decision's page with its result."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.browser.conftest import PHONE, demo_site
from tests.conftest import ROOT
from tests.processes.test_flow_paths import actor, complete_with_every_file, examples

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


def posted_matter(session) -> None:
    """A 四议两公开 matter of 上塘村 through both disclosures."""
    from engine import api
    from engine.persistence.models import OpenTask

    happy = {s.step: dict(s.data) for s in examples("four_deliberations")["happy"].steps}
    started = api.start(session, "four_deliberations", VILLAGE, actor("party_secretary", VILLAGE), {}, "村道硬化工程")
    for step in STEPS:
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == started.instance_id))
        assert task.step_id == step
        complete_with_every_file(session, task.id, actor(task.role, VILLAGE), happy[step])


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    with demo_site(tmp_path_factory.mktemp("items"), (FOUR,), posted_matter) as base:
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
