"""In a real browser: the county discipline commission replays a matter step by step with the
buttons and watches the diagram change, looks at the heatmap and checks an uploaded log."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

LOG = "case,activity,timestamp,resource\nA,提议,2026-03-03 09:00,张三\nA,决议,2026-03-05 09:00,李四\nB,提议,soon,王五\n"


@pytest.fixture
def audited(tmp_path) -> Iterator[tuple[str, object]]:
    """The auditor pages over seeded matters, served on 127.0.0.1 at a free port."""
    from werkzeug.serving import make_server

    from tests.web.auditor.conftest import build_world

    world = build_world(tmp_path)
    world.app.config.update(TESTING=False, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", world
    finally:
        server.shutdown()
        thread.join(10)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def state(page, element: str) -> str:
    classes = (page.locator(f'#replay svg [data-element-id="{element}"]').get_attribute("class") or "").split()
    return next((c for c in classes if c in ("done", "current", "overdue", "skipped")), "none")


def test_county_discipline_replays_a_matter(audited, browser, artifacts):
    base, world = audited
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, base, "county.discipline")
    page.goto(f"{base}/audit/matters")
    page.locator(f'a.cover[href="/audit/matters/{world.loop}"]').click()
    page.wait_for_url(re.compile(rf"/audit/matters/{world.loop}$"))
    assert "第 22 / 22 条" in page.locator("#replay .position").inner_text()
    assert state(page, "end_done") == "done"

    page.locator('#replay a[data-step="first"]').click()
    page.wait_for_url(re.compile(r"pos=0"))
    assert state(page, "propose") == "current" and state(page, "discuss") == "none"
    page.locator('#replay a[data-step="next"]').click()
    page.wait_for_url(re.compile(r"pos=1"))
    assert state(page, "propose") == "done" and state(page, "discuss") == "current"
    assert "第 2 / 22 条" in page.locator("#replay .position").inner_text()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"pos=2"))
    page.locator('#replay a[data-step="next"]').click()
    page.wait_for_url(re.compile(r"pos=3"))
    assert state(page, "discuss") == "done" and state(page, "review") == "current"
    page.locator('#replay a[data-step="prev"]').click()
    page.wait_for_url(re.compile(r"pos=2"))
    assert state(page, "discuss") == "current"

    play = page.locator("#replay [data-play]")
    assert play.is_visible()
    play.click()
    page.wait_for_url(re.compile(r"pos=4"), timeout=10_000)
    page.locator("#replay [data-play]").click()  # pause
    page.wait_for_function("document.querySelector('#replay [data-play]').getAttribute('aria-pressed') === 'false'")
    page.screenshot(path=artifacts / "auditor-replay-phone.png", full_page=True)

    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/audit/matters/{world.slow}?pos=4")
    assert state(page, "discuss") == "done" and page.locator(".kind-tag.overdue").count() >= 1
    page.screenshot(path=artifacts / "auditor-replay.png", full_page=True)

    page.goto(f"{base}/audit/heatmap?flow=four_deliberations")
    assert page.locator('svg [data-element-id="discuss"].heat-1').count() == 1
    assert "超时 20%" in page.locator(".diagram.heat").inner_text()
    page.screenshot(path=artifacts / "auditor-heatmap.png", full_page=True)

    page.goto(f"{base}/audit/conformance?flow=four_deliberations")
    page.locator("#upload input[name=log]").set_input_files(
        files=[{"name": "log.csv", "mimeType": "text/csv", "buffer": LOG.encode()}]
    )
    page.locator("#upload button[type=submit]").click()
    page.wait_for_url(re.compile(r"/audit/conformance/jobs/"))
    page.locator("table.rejected").wait_for(timeout=10_000)
    assert "4" in page.locator("table.rejected td.num").first.inner_text()
    assert page.locator(".kind-tag.skip").count() >= 1
    page.screenshot(path=artifacts / "auditor-conformance.png", full_page=True)
    context.close()
