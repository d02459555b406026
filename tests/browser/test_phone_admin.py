"""On a phone, an administrator puts a third-party flow into service: the refusal worded in Chinese with
the conventions guide one tap away, the diff against the version in service before deploying, the
version's ZIP, and showing the flow to villagers only after checking its category and number."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from tests.browser.conftest import PHONE, demo_site
from tests.conftest import ROOT
from tests.web.conftest import ADMIN, FOUR, MINI, PASSWORD, SECRETARY

pytestmark = pytest.mark.browser
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """One app for the module's journeys."""
    with demo_site(tmp_path_factory.mktemp("admin"), (FOUR, MINI)) as base:
        yield base


def upload(page, base: str, name: str) -> None:
    page.goto(f"{base}/admin/flows/upload")
    page.set_input_files("input[name=files]", str(FIXTURES / name))
    page.click("form[data-once] button[type=submit]")
    page.wait_for_load_state()


def test_an_administrator_reviews_deploys_downloads_and_publishes_a_flow(served, browser, artifacts):
    base = served
    context = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")

        # A flow waiting for a reply nothing sends: refused, in Chinese, naming the element and its line.
        upload(page, base, "stuck_messages.bpmn")
        report = page.locator("#report")
        assert "平台里没有任何东西能触发这个元素" in report.inner_text()
        assert "wait_reply" in report.inner_text() and "stuck_messages.bpmn:15" in report.inner_text()
        page.locator("#report a.guide-link").first.click()
        page.wait_for_url("**/admin/conventions#untriggerable")
        assert page.locator("#untriggerable").is_visible()
        assert "平台无法触发的元素" in page.locator("#untriggerable").inner_text()

        # The first version, then a second one: the diff shows before the deploy button.
        upload(page, base, "notice_v1.bpmn")
        assert "这个元素不会做任何事" in page.locator("#warnings").inner_text()
        page.click("button:has-text('部署为新版本')")
        page.wait_for_url("**/admin/flows/village_notice")
        upload(page, base, "notice_v2.bpmn")
        changes = page.locator("#changes").inner_text()
        assert "与正在使用的第 1 版相比" in changes and "新增「监委会审核」" in changes
        assert "分类：未分类 → 小职责" in changes
        page.click("button:has-text('部署为新版本')")
        page.wait_for_url("**/admin/flows/village_notice")

        # The version in service downloads as a ZIP of its BPMN.
        with page.expect_download() as download:
            page.click("a:has-text('下载 BPMN 和表单（zip）')")
        archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
        assert archive.namelist() == ["village_notice/village_notice.bpmn"]
        assert b'pl:number="Z09"' in archive.read("village_notice/village_notice.bpmn")

        # Not on the villagers' list until reviewed; then on it.
        assert "还没有向村民公示" in page.locator("#listing").inner_text()
        page.check("#listing input[name=reviewed]")
        page.click("#listing button:has-text('向村民公示')")
        page.wait_for_url("**/admin/flows/village_notice")
        assert "已公示" in page.locator("#listing").inner_text()
        page.screenshot(path=str(artifacts / "test_phone_admin_published.png"), full_page=True)
        page.goto(f"{base}/public/")
        assert "村务通知发布" in page.content()

        # Granting a role offers only the units of the role's level.
        page.goto(f"{base}/admin/users/{SECRETARY}")
        page.select_option("#grant-role", "town_agency")
        offered = page.locator("#grant-unit optgroup:not([disabled]) option").all_inner_texts()
        assert offered and all("镇" in name for name in offered)
        page.screenshot(path=str(artifacts / "test_phone_admin_grant.png"), full_page=True)
    finally:
        context.close()
