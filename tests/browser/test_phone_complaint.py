"""On a phone: a villager's 码上举报 reaches the village supervisory committee, whose member reads the
report on the 登记分流 page (text, place, channel, date) and triages it without typing any of it
again; an anonymous report is triaged with the reporter's name and contact left empty. The reporter's
phone is not on the triage page. A villager sends a report with a photo, keeps the receipt code and
later reads the answer by it (流程到哪了), nothing of the handling; a mistyped code shows the villagers'
own not-found page, which leads back to the public pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.browser.conftest import PHONE, database_of, demo_site
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

COMPLAINT = ROOT / "processes" / "complaint" / "complaint.bpmn"
SUPERVISOR = "shangtang.supervisor"  # 上塘村 (QX0101) 村务监督委员会成员
VILLAGER_PHONE = "13812345678"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One app for the module's journeys: the demo county with the complaint flow; (address, database)."""
    folder = tmp_path_factory.mktemp("complaint")
    with demo_site(folder, (COMPLAINT,)) as base:
        yield base, database_of(folder)


@pytest.fixture(scope="module")
def served(site) -> str:
    return site[0]


def send_report(browser, base: str, what: str, where: str, phone: str = "", anonymous: bool = False) -> None:
    """A villager sends a report from the village's 码上举报 page on their phone."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{base}/public/villages/QX0101/report")
        page.fill("textarea[name=what]", what)
        page.fill("input[name=where]", where)
        page.check("input[name=about][value=cadres]")
        page.check(f"input[name=identity][value={'anonymous' if anonymous else 'named'}]")
        if phone:
            page.fill("input[name=phone]", phone)
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        assert "举报已收到" in page.locator("body").inner_text()
    finally:
        context.close()


def open_triage(page, base: str, where: str) -> None:
    """The committee member signs in on their phone and opens the report's 登记分流 from the desk."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", SUPERVISOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/")
    page.locator("a", has_text=f"码上举报：{where}").first.click()
    page.wait_for_load_state()
    if "/tasks/" not in page.url:  # the desk linked the matter: its open step is one tap on
        page.locator("a", has_text="去办理").first.click()
        page.wait_for_url("**/tasks/**")
    assert "登记分流" in page.locator("h1").inner_text()


def choose(page, name: str, value: str) -> None:
    page.locator(f"label:has(input[name={name}][value={value}])").click()


def triage(page, subject: str, reason: str) -> None:
    """Fill in only what triage decides, nothing of the report, and submit."""
    form = page.locator("#task-form")
    assert form.locator("[name=content]").count() == 0, "the form asks again for the report's content"
    assert form.locator("[name=channel]").count() == 0 and form.locator("[name=received_on]").count() == 0
    page.fill("input[name=subject]", subject)
    page.select_option("select[name=category]", "project")
    choose(page, "complexity", "general")
    choose(page, "handling_level", "village")
    page.fill("textarea[name=triage_reason]", reason)
    page.click("#task-form button[type=submit]")
    page.wait_for_url("**/matters/**")
    assert "村级核查处理" in page.locator("body").inner_text()


def test_the_committee_reads_a_villagers_report_and_triages_it_on_a_phone(served, browser, artifacts):
    what, where = "村道刚修好就裂了，怀疑施工方偷工减料", "村东头新修的村道"
    send_report(browser, served, what, where, phone=VILLAGER_PHONE)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        open_triage(page, served, where)
        card = page.locator("#summary").inner_text()
        assert what in card and where in card and "码上举报" in card and "收到日期" in card
        assert page.locator("#summary").is_visible()
        assert VILLAGER_PHONE not in page.content()
        page.screenshot(path=str(artifacts / "test_phone_complaint_triage.png"), full_page=True)
        triage(page, "村道硬化工程", "一般问题，由村务监督委员会核查")
        page.screenshot(path=str(artifacts / "test_phone_complaint.png"), full_page=True)
    finally:
        context.close()


def test_an_anonymous_report_is_triaged_with_no_reporter_on_a_phone(served, browser, artifacts):
    what, where = "村集体鱼塘承包费一直没有公开", "村西鱼塘"
    send_report(browser, served, what, where, anonymous=True)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        open_triage(page, served, where)
        card = page.locator("#summary").inner_text()
        assert what in card and "匿名举报" in card
        assert page.input_value("input[name=reporter_name]") == ""
        assert page.input_value("input[name=reporter_contact]") == ""
        triage(page, "鱼塘承包", "一般问题，由村务监督委员会核查承包合同和收款")
        page.screenshot(path=str(artifacts / "test_phone_complaint_anonymous.png"), full_page=True)
    finally:
        context.close()


def answer_the_report(url: str, code: str) -> None:
    """The committee handles the report and replies (as the engine records it)."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.models import OpenTask
    from engine.public.receipts import instance_of
    from tests.engine.public.test_complaints import PLANTED_HANDLING, PLANTED_TRIAGE, REPLY
    from tests.support import files

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        for data in (PLANTED_TRIAGE, PLANTED_HANDLING, REPLY):
            with sessions() as session, session.begin():
                matter = instance_of(session, code).id
                task = session.scalar(select(OpenTask).where(OpenTask.instance_id == matter))
                files.complete(session, task.id, SUPERVISOR, data)
    finally:
        engine.dispose()


def test_a_villager_reports_with_a_photo_and_reads_the_answer_by_the_receipt_code(site, browser, artifacts):
    from tests.engine.public.test_complaints import NEVER_SHOWN, gps_png

    base, url = site
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{base}/public/villages/QX0101/report")
        page.fill("textarea[name=what]", "村道刚修好就裂了，怀疑施工方偷工减料")
        page.fill("input[name=where]", "村东头新修的村道")
        page.check("input[name=about][value=other]")
        page.set_input_files(
            "input[name=photos]", files=[{"name": "IMG_0001.png", "mimeType": "image/png", "buffer": gps_png()}]
        )
        page.check("input[name=identity][value=anonymous]")
        page.fill("input[name=phone]", "13812345678")
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        assert "选了匿名就不能留电话" in page.locator("body").inner_text()  # refused, not dropped
        page.fill("input[name=phone]", "")
        page.set_input_files(
            "input[name=photos]", files=[{"name": "IMG_0001.png", "mimeType": "image/png", "buffer": gps_png()}]
        )
        page.click("form button[type=submit]")
        page.wait_for_url("**/public/matters/**")
        assert "举报已收到" in page.locator("body").inner_text()
        code = page.locator("code.receipt").inner_text()
        assert "正在核查，由村务监督委员会办理" in page.locator("#answer").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        answer_the_report(url, code)
        page.goto(f"{base}/public/matters/")
        page.fill("input[name=code]", code.lower())
        page.click("form.lookup button[type=submit]")
        page.wait_for_url("**/public/matters/**")
        answer = page.locator("#answer").inner_text()
        assert "部分属实" in answer and "已责令施工方返工" in answer and "村务监督委员会" in answer
        body = page.content()
        for secret in NEVER_SHOWN:
            assert secret not in body, secret
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "test_phone_public_matters_answer.png"), full_page=True)

        page.goto(f"{base}/public/matters/ABCD-EFGH-JKLM")
        assert "找不到这个页面或事项" in page.locator("h1").inner_text()
        page.locator("a", has_text="用回执码查进度").click()
        page.wait_for_url("**/public/matters/")
        page.screenshot(path=str(artifacts / "test_phone_public_matters_lookup.png"), full_page=True)
    finally:
        context.close()
