"""On a phone: what a cadre typed survives a reload, and a submit without a connection keeps the form,
says so in Chinese and goes through once when the connection returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.browser.conftest import PHONE, database_of, demo_site
from tests.web.conftest import FOUR, MINI, PASSWORD, SECRETARY

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One app for the module's journeys: its address and its database."""
    folder = tmp_path_factory.mktemp("drafts")
    with demo_site(folder, (FOUR, MINI)) as base:
        yield base, database_of(folder)


def completions(url: str, instance_id: int) -> int:
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.models import HistoryEvent

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            kinds = session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance_id)).all()
    finally:
        engine.dispose()
    return sum(kind == "task_completed" for kind in kinds)


def test_typing_survives_a_reload_and_an_offline_submit_goes_through_once(served, browser, artifacts):
    base, url = served
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", SECRETARY)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/start/mini_decision")
        page.fill("input[name=title]", "村口路灯维修")
        page.click("form[data-once] button[type=submit]")
        page.wait_for_url("**/tasks/**")
        task_url = page.url

        # Typed, then the page is left (a phone call, a reload): the typing comes back.
        page.fill("input[name=subject]", "维修村口路灯三盏")
        with page.expect_response(lambda r: r.url.endswith("/draft") and r.request.method == "PUT"):
            page.fill("input[name=amount_fen]", "1,250.00")
        page.reload()
        page.locator("#draft-notice").wait_for()
        assert "已恢复草稿" in page.locator("#draft-notice").inner_text()
        assert page.input_value("input[name=subject]") == "维修村口路灯三盏"
        assert page.input_value("input[name=amount_fen]") == "1,250.00"

        # Sent without a connection: the form stays, and says what will happen.
        context.set_offline(True)
        page.click("#task-form button[type=submit]")
        notice = page.locator("#draft-notice")
        notice.filter(has_text="网络连接中断").wait_for()
        assert "恢复连接后会自动提交" in notice.inner_text()
        assert page.url == task_url and not page.url.startswith("chrome-error")
        assert page.input_value("input[name=subject]") == "维修村口路灯三盏"
        page.screenshot(path=str(artifacts / "test_phone_drafts_offline.png"), full_page=True)

        # The connection returns: sent by itself, once, and on to the matter.
        context.set_offline(False)
        page.wait_for_url("**/matters/**")
        page.locator(".flash").first.wait_for()
        assert "已提交" in page.locator("body").inner_text()
        instance_id = int(page.url.rstrip("/").split("/")[-1])
        assert completions(url, instance_id) == 1
        page.screenshot(path=str(artifacts / "test_phone_drafts.png"), full_page=True)
    finally:
        context.close()
