"""On a phone (390×844): the 村监会 and the 镇三资中心 open a fund payment from their desk and read what
they approve on the summary card (the amount in yuan, the payee, the purpose, the invoice photo, the
earlier opinions named by person and office) before approving it; a step sent back says so in the
inbox and on its page, with the reason; 转办 names people by name and office, and 加签 chooses no one
for the approver."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.conftest import PHONE
from tests.conftest import ROOT
from tests.support.world import demo_county, new_database
from tests.web.conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.browser

FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
CADRE, CHAIR, SUPERVISOR = "shangtang.cadre", "shangtang.chair", "shangtang.supervisor"
BOOKKEEPER, AGENCY = "shangtang.bookkeeper", "dongxi.agency"
SECOND_SUPERVISOR = "shangtang.wuxia"  # another 村监会 member of 上塘村, to hand the review to
# People with names of their own, so that a page naming them by name and office can be told from one
# naming them by account or by office alone.
NAMES = {CHAIR: "孙建华", SUPERVISOR: "王丽", BOOKKEEPER: "冯敏", AGENCY: "钱进"}
CHAIR_LABEL = "孙建华（上塘村委会主任）"
SUPERVISOR_LABEL = "王丽（上塘村务监督委员会成员）"
AGENCY_LABEL = "钱进（东溪镇三资中心）"
USERNAME = re.compile(r"[a-z0-9]+\.[a-z0-9]+")

VOUCHER = {
    "amount_fen": 80000,
    "payee": "清溪五金店",
    "payee_account": "6222000011112222",
    "purpose": "村道路灯维修材料费",
    "expense_category": "non_productive",
    "voucher_kind": "invoice",
    "spent_on": "2026-11-20",
    "payment_method": "village_card",
    "handler_name": "赵干部",
    "witness_name": "钱干部",
    "resolution_ref": "",
}
SIGNOFF = {"signoff_approved": True, "signer_name": "孙建华", "signed_on": "2026-11-21", "opinion": "票据齐全同意支付"}
REVIEW = {
    "supervisory_approved": True,
    "reviewers": ["王丽", "周监委", "吴霞"],
    "reviewed_on": "2026-11-22",
    "seal_applied": True,
    "opinion": "监委会集体审核同意",
}
SUBMIT = {"submitted_on": "2026-11-23", "bookkeeper_name": "冯敏", "voucher_count": 3, "note": "首次报账"}
RETURN_REASON = "缺少审批单原件，请补正后重新报账"


class World:
    """The served app, and the engine on its database to bring a payment to the step under test."""

    def __init__(self, base: str, url: str, files: Path) -> None:
        from engine.persistence.db import make_engine, make_sessionmaker

        self.base, self.files = base, files
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)

    def open_task(self, instance: int):
        from engine.persistence.models import OpenTask

        with self.sessions() as session:
            return session.scalars(select(OpenTask).where(OpenTask.instance_id == instance)).one()

    def complete(self, instance: int, actor: str, data: dict, invoice: bytes | None = None) -> None:
        from engine import api
        from engine.workspace import attachments
        from tests.support.files import required_files

        row = self.open_task(instance)
        with self.sessions() as session, session.begin():
            chosen = required_files(session, row.id, actor, self.files)
            if invoice is not None:
                chosen["invoice"] = [attachments.store_upload(session, self.files, invoice, "发票.png", actor).id]
            api.complete(session, row.id, actor, data, chosen)

    def payment(self, title: str, through: tuple[tuple[str, dict], ...] = ()) -> int:
        """A fund payment in 上塘村 with its invoice a photo, signed off by the 村主任 (and through the
        further steps given): its id."""
        from engine import api

        with self.sessions() as session, session.begin():
            instance = api.start(session, "fund_payment", "QX0101", CADRE, {}, title).instance_id
        self.complete(instance, CADRE, VOUCHER, invoice=png_bytes(64, 48))
        self.complete(instance, CHAIR, SIGNOFF)
        for actor, data in through:
            self.complete(instance, actor, data)
        return instance


@pytest.fixture(scope="module")
def approver_world(tmp_path_factory) -> Iterator[World]:
    """One app for the module's journeys: the demo county with 资金支出 deployed."""
    from werkzeug.serving import make_server

    from engine.persistence.models import User
    from engine.workspace import people
    from web import create_app

    folder = tmp_path_factory.mktemp("approver")
    url = f"sqlite:///{folder / 'browser.sqlite'}"
    engine, sessions = new_database(url)
    demo_county(sessions, FUND)
    with sessions() as session, session.begin():
        for user in session.scalars(select(User).where(User.username.in_(NAMES))):
            user.display_name = NAMES[user.username]
        second = people.add_user(session, None, SECOND_SUPERVISOR, "吴霞", PASSWORD)
        second.must_change_password = False
        people.grant_role(session, None, SECOND_SUPERVISOR, "supervisory_member", "QX0101")
    engine.dispose()
    files = folder / "files"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "ATTACHMENTS_FOLDER": str(files)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found = World(f"http://127.0.0.1:{server.server_port}", url, files)
    try:
        yield found
    finally:
        found.engine.dispose()
        server.shutdown()
        thread.join(10)


def signed_in(browser, base: str, username: str):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(8000)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def open_from_desk(page, base: str, title: str, step_name: str) -> None:
    page.goto(f"{base}/desk")
    page.locator("#todo li", has_text=title).locator("a").first.click()
    page.wait_for_url("**/tasks/**")
    assert step_name in page.locator("h1").inner_text()


def summary_card(page) -> str:
    assert page.locator("#summary").count() == 1, "the task page shows no summary of the matter"
    return page.locator("#summary").inner_text()


def the_invoice_photo_shows(page) -> None:
    thumb = page.locator("#summary img.thumb")
    assert thumb.count() == 1, "the invoice is not shown as a thumbnail"
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") > 0, "the invoice's thumbnail does not load"


def test_the_committee_and_the_town_agency_read_what_they_approve_and_approve_it(approver_world, browser, artifacts):
    title = "路灯维修材料费（审核）"
    instance = approver_world.payment(title)

    context, page = signed_in(browser, approver_world.base, SUPERVISOR)
    try:
        open_from_desk(page, approver_world.base, title, "村务监督委员会审核")
        card = summary_card(page)
        assert page.locator("#summary .amount").first.inner_text().strip() == "800.00 元"
        assert "收款方" in card and "清溪五金店" in card and "村道路灯维修材料费" in card
        the_invoice_photo_shows(page)
        opinions = page.locator("#summary .opinions").inner_text()
        assert "村主任审核签字" in opinions and "票据齐全同意支付" in opinions
        assert CHAIR_LABEL in opinions and CHAIR not in card

        # 转办 names the other members by name and office; 加签 chooses no one.
        # (the options' text as written: inside a closed <details> they are not rendered)
        transfer = page.locator("select[name=to] option").evaluate_all("os => os.map(o => o.text)")
        assert "吴霞（上塘村务监督委员会成员）" in transfer
        assert not [t for t in transfer if USERNAME.search(t)], transfer
        approver = page.locator("select[name=approver]")
        assert approver.input_value() == ""
        offered = approver.locator("option").evaluate_all("os => os.map(o => [o.value, o.text, o.selected])")
        assert offered[0][0] == "" and not [o for o in offered[1:] if o[2]], offered
        assert offered[1:] and all(text.endswith("（上塘村务监督委员会成员）") for _v, text, _s in offered[1:]), offered
        assert "admin" not in [value for value, _t, _s in offered]
        page.screenshot(path=str(artifacts / "test_phone_approver_committee.png"), full_page=True)

        page.check('input[name=supervisory_approved][value="true"]')
        page.fill("textarea[name=reviewers]", "\n".join(REVIEW["reviewers"]))
        page.fill("input[name=reviewed_on]", REVIEW["reviewed_on"])
        page.check('input[name=seal_applied][value="true"]')
        page.fill("textarea[name=opinion]", REVIEW["opinion"])
        page.click("#task-form button[type=submit]")
        page.wait_for_url(f"**/matters/{instance}")
        assert "已提交" in page.locator("body").inner_text()
    finally:
        context.close()

    approver_world.complete(instance, BOOKKEEPER, SUBMIT)
    context, page = signed_in(browser, approver_world.base, AGENCY)
    try:
        open_from_desk(page, approver_world.base, title, "镇三资中心审核")
        card = summary_card(page)
        assert "800.00 元" in card and "清溪五金店" in card and "村道路灯维修材料费" in card
        the_invoice_photo_shows(page)
        opinions = page.locator("#summary .opinions").inner_text()
        assert opinions.index("票据齐全同意支付") < opinions.index("监委会集体审核同意")  # in the order given
        assert CHAIR_LABEL in opinions and SUPERVISOR_LABEL in opinions
        assert not USERNAME.search(opinions), opinions

        page.check('input[name=audit_result][value="approved"]')
        page.fill("input[name=auditor_name]", "钱进")
        page.fill("input[name=audited_on]", "2026-11-24")
        page.click("#task-form button[type=submit]")
        page.wait_for_url(f"**/matters/{instance}")
        assert "已提交" in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "test_phone_approver_town_agency.png"), full_page=True)
    finally:
        context.close()


def test_a_step_sent_back_says_so_with_its_reason(approver_world, browser, artifacts):
    title = "路灯维修材料费（退回）"
    instance = approver_world.payment(title, through=((SUPERVISOR, REVIEW), (BOOKKEEPER, SUBMIT)))

    context, page = signed_in(browser, approver_world.base, AGENCY)
    try:
        open_from_desk(page, approver_world.base, title, "镇三资中心审核")
        page.locator("details summary", has_text="退回").click()
        back = page.locator("form[action$='/return']")
        back.locator("select[name=step]").select_option("bookkeeper_submit")
        back.locator("textarea[name=reason]").fill(RETURN_REASON)
        back.locator("button[type=submit]").click()
        page.wait_for_url(f"**/matters/{instance}")
        assert "已退回" in page.locator("body").inner_text()
    finally:
        context.close()

    context, page = signed_in(browser, approver_world.base, BOOKKEEPER)
    try:
        page.goto(f"{approver_world.base}/desk")
        entry = page.locator("#todo li", has_text=title)
        assert entry.count() == 1
        assert entry.locator(".tag", has_text="被退回").count() == 1, "the desk does not say the step was sent back"
        assert RETURN_REASON in entry.inner_text()
        page.screenshot(path=str(artifacts / "test_phone_approver_returned_desk.png"), full_page=True)

        entry.locator("a").first.click()
        page.wait_for_url("**/tasks/**")
        assert "报账员报账" in page.locator("h1").inner_text()
        banner = page.locator(".reason-banner")
        assert banner.count() == 1, "the task page does not say why the step came back"
        text = banner.inner_text()
        assert "被退回" in text and RETURN_REASON in text and "镇三资中心审核" in text and AGENCY_LABEL in text
        assert banner.is_visible()
        page.screenshot(path=str(artifacts / "test_phone_approver_returned.png"), full_page=True)
    finally:
        context.close()
