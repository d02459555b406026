"""In a real browser on a phone: an administrator moves the running matters of a flow to its new
version from the flow page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE
from tests.browser.test_auditor_browser import sign_in
from tests.web.admin.test_web_migration import FLOW, PAGE, deploy_v2, start
from tests.web.conftest import ADMIN, SECRETARY

pytestmark = pytest.mark.browser


def test_an_administrator_moves_running_matters_from_a_phone(live_server, browser, tmp_path):
    from engine.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(f"sqlite:///{tmp_path / 'browser.sqlite'}")  # the live server's database
    sessions = make_sessionmaker(engine)
    waiting = start(sessions, "QX0101", SECRETARY, proposed=True)
    deploy_v2(sessions, tmp_path)
    engine.dispose()

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, ADMIN)
        page.goto(f"{live_server}/admin/flows/{FLOW}")
        page.locator(f'#v2 a[href="{PAGE}"]').click()
        page.wait_for_url(re.compile(f"{PAGE}$"))
        entry = page.locator(f"#matter-{waiting}")
        assert "可以迁移" in entry.inner_text() and "当前步骤：决议" in entry.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        page.locator("#migration-confirm button[type=submit]").click()
        page.locator("#migration-outcome").wait_for()
        assert page.locator("#migration-outcome").inner_text() == "已迁移 1 件，0 件留在原版本"
        assert "v1 → v2" in page.locator(f"#matter-{waiting}").inner_text()
    finally:
        context.close()
