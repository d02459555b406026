"""In a real browser: a cadre runs a 四议两公开 matter on a phone; another village sees none of it;
an administrator puts a flow into service."""

from __future__ import annotations

import re
import shutil

import pytest

from engine.catalog.examples import example_path
from tests.browser.conftest import DESKTOP, PHONE
from tests.conftest import ROOT
from tests.web.conftest import MINI, PASSWORD, png_bytes

pytestmark = pytest.mark.browser

FLOW = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
STEPS = [step.step for step in example_path(FLOW, "happy").steps]  # the happy path of examples.yaml
# Who signs in for a step the previous holder cannot open; the committee chair otherwise.
HOLDERS = {"supervise_resolution": "shangtang.supervisor", "supervise_result": "shangtang.supervisor"}
NUMBERS = {
    "members": "9",
    "present": "8",
    "votes_for": "7",
    "votes_against": "1",
    "abstain": "0",
    "posting_days": "7",
    "objections": "0",
}
CHOICES = {"passed": "true", "dual_role": "false", "objections_resolved": "true"}
DATES = {"notice_date": "2025-12-20"}  # ten days and more before the meetings (组织法第二十一条)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def fill_step(page, photo) -> None:
    """Answer every visible field of a task form and attach a photo to every attachment slot."""
    for field in page.locator("form.task-form .field[data-field]").all():
        if not field.is_visible():
            continue
        name = field.get_attribute("data-field")
        kind = (
            next(c[5:] for c in (field.get_attribute("class") or "").split() if c.startswith("kind-"))
            if "attachment" not in (field.get_attribute("class") or "")
            else "attachment"
        )
        if kind == "attachment":
            field.locator("input[type=file]").set_input_files(
                files=[{"name": f"{name}.png", "mimeType": "image/png", "buffer": photo}]
            )
        elif kind == "boolean":
            field.locator(f"input[value={CHOICES.get(name, 'true')}]").check()
        elif kind == "choice":
            if field.locator("select").count():
                field.locator("select").select_option(index=1)
            else:
                field.locator("input[type=radio]").first.check()
        elif kind == "date":
            field.locator("input").fill(DATES.get(name, "2026-01-05"))
        elif kind in ("integer", "number"):
            field.locator("input").fill(NUMBERS.get(name, "1"))
        elif kind == "money":
            field.locator("input").fill("12,000.50")
        elif kind in ("textarea", "lines"):
            field.locator("textarea").fill("村民代表一致同意按方案实施，张贴公开期满无异议。")
        else:
            field.locator("input").fill("村道硬化工程")


def test_a_cadre_runs_four_deliberations_on_a_phone(live_server, browser, artifacts, tmp_path):
    photo = png_bytes(64, 48)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.screenshot(path=artifacts / "phone-login.png")
    # The party secretary proposes, discusses and reviews; the committee chair resolves, discloses and
    # implements; a member of the supervisory committee signs both disclosures.
    sign_in(page, live_server, "shangtang.secretary")
    page.goto(f"{live_server}/start")
    page.fill("input[type=search]", "四议")
    page.locator("li.item:visible a.button", has_text="发起").first.click()
    page.fill("input[name=title]", "村道硬化工程")
    page.click("main form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/tasks/"))

    for number, step in enumerate(STEPS):
        page.wait_for_url(re.compile(r"/tasks/"))
        fill_step(page, photo)
        if number == 0:
            page.screenshot(path=artifacts / "phone-task-form.png", full_page=True)
        page.locator("#task-form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/matters/\d+$"))
        assert page.locator(".flash.success").count() == 1, page.content()[:2000]
        if number + 1 < len(STEPS):
            following = STEPS[number + 1]
            assert page.locator(f'svg [data-element-id="{following}"].current').count() == 1
            assert page.locator(f'svg [data-element-id="{step}"].done').count() == 1
            if number == 2:
                page.screenshot(path=artifacts / "phone-matter.png", full_page=True)
            link = page.locator("#current a.button", has_text="去办理")
            if link.count():
                link.first.click()
            else:
                sign_in_holder(page, live_server, HOLDERS.get(following, "shangtang.chair"))
    assert page.locator(".status.completed").count() == 1
    assert page.locator('svg [data-element-id="end_done"].done').count() == 1
    assert page.locator('svg [data-element-id="end_rejected"].skipped').count() == 1
    assert page.locator(".gallery img").count() >= 7
    page.screenshot(path=artifacts / "phone-matter-done.png", full_page=True)
    matter_url = page.url

    other = browser.new_context(viewport=PHONE, locale="zh-CN")
    stranger = other.new_page()
    sign_in(stranger, live_server, "lingtou.secretary")
    assert "村道硬化工程" not in stranger.content()
    response = stranger.goto(matter_url)
    assert response.status == 404
    stranger.screenshot(path=artifacts / "phone-other-village-404.png")
    other.close()
    context.close()


def sign_in_holder(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, base, username)
    page.goto(f"{base}/desk")
    page.locator("#todo a.cover").first.click()


def test_an_administrator_uploads_fixes_and_deploys_a_flow(live_server, browser, artifacts, tmp_path):
    folder = tmp_path / "flow"
    shutil.copytree(MINI.parent, folder)
    bpmn = (folder / MINI.name).read_text(encoding="utf-8")
    broken = bpmn.replace('id="mini_decision"', 'id="road_repair"').replace(
        'pl:role="committee_chair" pl:form="forms/disclose.json"', 'pl:role="mayor" pl:form="forms/missing.json"'
    )
    (folder / "road_repair.bpmn").write_text(broken, encoding="utf-8")

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/flows/upload")
    forms = [str(p) for p in (folder / "forms").glob("*.json")]
    page.set_input_files("input[name=files]", [str(folder / "road_repair.bpmn"), *forms])
    page.click("main form button[type=submit]")
    report = page.locator("#report")
    # Worded in Chinese, each problem at its element; the particulars are in its technical detail.
    assert "办理角色不存在" in report.inner_text() and "disclose" in report.inner_text()
    assert "mayor" in report.text_content()
    assert re.search(r"road_repair\.bpmn:\d+", report.inner_text())
    page.screenshot(path=artifacts / "admin-upload-report.png", full_page=True)

    fixed = broken.replace(
        'pl:role="mayor" pl:form="forms/missing.json"', 'pl:role="committee_chair" pl:form="forms/disclose.json"'
    )
    (folder / "road_repair.bpmn").write_text(fixed, encoding="utf-8")
    page.goto(f"{live_server}/admin/flows/upload")
    page.set_input_files("input[name=files]", [str(folder / "road_repair.bpmn"), *forms])
    page.click("main form button[type=submit]")
    assert "检查通过" in page.locator("#report").inner_text()
    assert page.locator(".diagram svg").count() == 1
    page.screenshot(path=artifacts / "admin-upload-preview.png", full_page=True)
    page.click("text=部署为新版本")
    page.wait_for_url(re.compile(r"/admin/flows/road_repair$"))
    assert "v1" in page.locator(".version").first.inner_text()
    page.screenshot(path=artifacts / "admin-flow-versions.png", full_page=True)
    context.close()
