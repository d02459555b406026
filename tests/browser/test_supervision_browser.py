"""In a real browser: a red 先付后审 warning (a village-card payment recorded before the fund payment's
approval) goes from raised to closed. The town discipline commission (镇纪委) handles it on a phone:
signs for it, names the village's 主任 to rectify it by a deadline, issues a 整改通知书 (preview, then
issue) and opens its PDF; the 主任 reports it rectified; the town accepts it. The county (县纪委) reads
the town's handling, the document and the risk map; the other village's 村监会 and the other town's
镇纪委 find nothing of it (404, not 403).

One served app on one SQLite database for the module, the engine clock set to Monday 2 November 2026
09:00 China time and moved on an hour per step, so every time on the pages is known.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pypdf
import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

TITLE = "村道修缮材料款"
TOWN, COUNTY, OWNER = "dongxi.discipline", "county.discipline", "shangtang.chair"
OUTSIDERS = ("xiatang.supervisor", "xiling.discipline")  # 下塘村's 村监会, 西岭镇's 镇纪委
DEADLINE = "2026-11-20"
BASIS = "村级财务管理制度（村级资金支出“先审后付”）"
NUMBER = "东溪镇纪整〔2026〕1号"


@dataclass
class Site:
    base: str
    world: object
    matter: int
    red: int  # the payment-before-approval warning in 上塘村 (QX0101)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    from werkzeug.serving import make_server

    from engine import api, clock
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from engine.supervision import evidence, rules
    from powerlist import demo
    from tests.engine.supervision.conftest import T0, World, shipped
    from tests.engine.supervision.flows import FUND_PAYMENT
    from web import create_app

    folder = tmp_path_factory.mktemp("supervision-browser")
    url = f"sqlite:///{folder / 'supervision.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock.install()
    clock.clock.set(T0)
    rules.reset()
    server = thread = None
    try:
        with sessions() as session, session.begin():
            demo.load_demo(session, deploy_flows=False)
        world = World(sessions, engine)
        world.deploy(shipped("fund_payment"))
        with sessions() as session, session.begin():
            matter = api.start(session, "fund_payment", "QX0101", "shangtang.secretary", None, TITLE).instance_id
        world.complete(matter, "voucher", FUND_PAYMENT["voucher"])  # 500.00 yuan to 王五建材店
        paid = evidence.EvidenceInput(
            kind="payment",
            at=evidence.parse_time("2026-11-02T08:30:00+08:00"),
            amount_fen=50_000,
            payee="王五建材店",
        )
        with sessions() as session, session.begin():
            raised = evidence.record(session, matter, paid, "shangtang.bookkeeper").violations
        assert [(v.code, v.severity, v.level) for v in raised] == [("payment_before_approval", "red", "town")]
        app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "browser-test", "ATTACHMENTS_FOLDER": str(folder / "attachments")}
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield Site(f"http://127.0.0.1:{server.server_port}", world, matter, raised[0].id)
    finally:
        if server is not None:
            server.shutdown()
            thread.join(10)
        clock.clock.set(None)
        rules.reset()
        engine.dispose()


def later(hours: int = 1) -> None:
    """The next step an hour later (the server reads the same engine clock)."""
    from engine import clock

    clock.clock.advance(timedelta(hours=hours))


def phone(browser):
    return browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN", is_mobile=True, has_touch=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def fits(page) -> None:
    """Nothing scrolls sideways: the page is no wider than the screen."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} is {width}px wide on a {inner}px screen"


def act(page, action: str, note: str, state: str) -> None:
    """Fill the action's form on the warning's page, send it, and wait for the state it leads to."""
    form = page.locator(f"#form-{action}")
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f'#state[data-state="{state}"]')
    assert page.locator(".flash.success").count() == 1


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages).replace("\n", "")


def test_a_red_payment_warning_from_raised_to_closed(site, browser, artifacts):
    base, red = site.base, site.red
    warning_url = f"{base}/supervise/violations/{red}"

    # 镇纪委 on a phone: the worklist first, the red warning at the top of 待我处理.
    town_context = phone(browser)
    town = town_context.new_page()
    sign_in(town, base, TOWN)
    assert re.search(r"/supervise/$", town.url), town.url
    first = town.locator("#now .sv-cards li").first
    assert "red" in first.get_attribute("class").split()
    assert "先付后审" in first.inner_text() and TITLE in first.inner_text()
    assert first.locator(".sv-colour.red").inner_text() == "红色预警"
    fits(town)
    town.screenshot(path=artifacts / "supervise-worklist-phone.png", full_page=True)
    first.locator("a.cover").click()
    town.wait_for_url(warning_url)
    assert town.locator("#state").get_attribute("data-state") == "open"
    facts = town.locator(".sv-facts").inner_text()
    assert "上塘村（QX0101）" in facts and "500.00 元" in facts and BASIS in facts and "镇纪委" in facts
    fits(town)

    later()
    act(town, "ack", "已签收，正在核实付款情况", "acknowledged")
    later()
    assign = town.locator("#form-assign")
    assign.locator("select[name=owner_role]").select_option("committee_chair")
    assign.locator("input[name=owner_user]").fill(OWNER)
    assign.locator("input[name=deadline]").fill(DEADLINE)
    act(town, "assign", "请村委会主任补办审批手续并追回款项", "acknowledged")
    assert "上塘村主任" in town.locator("#owner").inner_text()
    assert town.locator("#deadline").inner_text() == f"{DEADLINE} 23:59"

    # The 整改通知书: preview (no number yet), then issue; its PDF downloaded and read.
    later()
    town.locator("#documents-link").click()
    town.wait_for_url(f"{warning_url}/documents")
    town.locator("#issue-form textarea[name=facts]").fill("经核实，村务卡于审批完成前支付材料款。")
    town.locator("#issue-form input[name=rectify_by]").fill(DEADLINE)
    town.locator("#issue-rectification").click()
    town.wait_for_url(re.compile(r"/supervise/documents/new\?"))
    assert "〔…〕" in town.locator("main").inner_text()
    fits(town)
    town.locator("#issue").click()
    town.wait_for_url(re.compile(r"/supervise/documents/\d+$"))
    document_url = town.url
    assert NUMBER in town.locator("h1").inner_text()
    fits(town)
    with town.expect_download() as download:
        town.locator("#download-pdf").click()
    text = pdf_text(download.value.path().read_bytes())
    for expected in (NUMBER, "整改通知书", "上塘村", TITLE, "500.00 元", BASIS, "二〇二六年十一月二十日"):
        assert expected in text, expected
    printed = town_context.new_page()
    printed.goto(f"{document_url}/print")
    assert NUMBER in printed.locator("body").inner_text()
    printed.close()

    # The documents list and the risk map fit the phone too.
    town.goto(f"{base}/supervise/documents/")
    assert NUMBER in town.locator("main").inner_text()
    fits(town)
    town.goto(f"{base}/supervise/overview/risk")
    assert town.locator("#map").count() == 1
    fits(town)

    # The owner, 上塘村's 主任, reports it rectified on the warning's page: the only thing they may do.
    owner_context = phone(browser)
    owner = owner_context.new_page()
    sign_in(owner, base, OWNER)
    owner.goto(warning_url)
    assert owner.locator("form.sv-action").count() == 1 and owner.locator("#form-rectify").count() == 1
    later(24)
    act(owner, "rectify", "已补办审批手续，款项用途属实，凭证已归档", "rectified")
    owner_context.close()

    # 镇纪委 accepts the rectification: the warning is closed, its history complete.
    later()
    town.goto(warning_url)
    act(town, "accept", "整改到位，验收通过", "closed")
    assert town.locator("#form-accept").count() == 0 and town.locator("form.sv-action").count() == 0
    steps = [
        ("raised", "2026-11-02 09:00", "系统"),
        ("rectification_unavailable", "2026-11-02 09:00", "系统"),  # no 整改 flow deployed: by its deadline
        ("acknowledged", "2026-11-02 10:00", f"东溪镇纪委（{TOWN}）"),
        ("assigned", "2026-11-02 11:00", f"东溪镇纪委（{TOWN}）"),
        ("document_issued", "2026-11-02 12:00", f"东溪镇纪委（{TOWN}）"),
        ("rectified", "2026-11-03 12:00", f"上塘村主任（{OWNER}）"),
        ("rectification_accepted", "2026-11-03 13:00", f"东溪镇纪委（{TOWN}）"),
    ]
    history = town.locator("#history > li")

    def check_history(page) -> None:
        rows = page.locator("#history > li")
        assert rows.count() == len(steps), rows.all_inner_texts()
        for row, (kind, at, who) in zip(rows.all(), steps, strict=True):
            assert row.get_attribute("data-kind") == kind
            assert row.locator(".meta").first.inner_text() == at
            assert who in row.inner_text(), (kind, row.inner_text())

    check_history(town)
    assert DEADLINE in history.nth(3).inner_text()
    fits(town)
    town.screenshot(path=artifacts / "supervise-violation-phone.png", full_page=True)
    town.goto(f"{base}/supervise/")
    assert town.locator(f'#now a[href="/supervise/violations/{red}"]').count() == 0  # done
    town_context.close()

    # 县纪委 on a desktop: the closed warning with the town's handling, the document, the risk map.
    county_context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    county = county_context.new_page()
    sign_in(county, base, COUNTY)
    assert re.search(r"/supervise/$", county.url), county.url
    county.select_option("form.filters select[name=state]", "closed")
    county.locator("form.filters button[type=submit]").click()
    county.wait_for_url(re.compile(r"state=closed"))
    link = county.locator(f'.sv-table a[href="/supervise/violations/{red}"]')
    assert link.count() == 1, county.locator("main").inner_text()
    link.click()
    county.wait_for_url(warning_url)
    assert county.locator("#state").get_attribute("data-state") == "closed"
    check_history(county)
    assert county.locator("form.sv-action").count() == 0
    county.goto(f"{base}/supervise/documents/")
    assert county.locator(f'a[href="{document_url.removeprefix(base)}"]').count() >= 1
    county.goto(f"{base}/supervise/overview/risk?period=2026Q4")
    cell = county.locator('td.risk-cell a[href*="village=QX0101"][href*="flow=fund_payment"]')
    assert cell.count() == 1
    assert "red" in cell.locator("xpath=..").get_attribute("class")
    assert cell.locator(".counts").inner_text() == "红 1"
    county.screenshot(path=artifacts / "supervise-risk-map.png", full_page=True)
    county_context.close()

    # 上塘村's own 村监会 reads what the town did (a red warning is the town's: nothing for them to do).
    village_context = phone(browser)
    village = village_context.new_page()
    sign_in(village, base, "shangtang.supervisor")
    village.goto(f"{base}/supervise/?state=closed")
    village.locator(f'#others .sv-cards a[href="/supervise/violations/{red}"]').click()
    village.wait_for_url(warning_url)
    check_history(village)
    assert village.locator("form.sv-action").count() == 0
    fits(village)
    village_context.close()

    # Outside the warning's scope: not in their lists, and its pages do not exist (404, never 403).
    for outsider in OUTSIDERS:
        context = phone(browser)
        page = context.new_page()
        sign_in(page, base, outsider)
        for query in ("", "?state=closed"):
            page.goto(f"{base}/supervise/{query}")
            body = page.locator("main").inner_text()
            assert TITLE not in body and "上塘村" not in body, (outsider, query)
        for path in (f"/supervise/violations/{red}", f"/supervise/violations/{red}/documents"):
            answer = page.goto(f"{base}{path}")
            assert answer.status == 404, (outsider, path, answer.status)
            assert TITLE not in page.locator("body").inner_text()
        for path in (document_url.removeprefix(base), f"{document_url.removeprefix(base)}/pdf"):
            answer = page.request.get(f"{base}{path}", max_redirects=0)
            assert answer.status == 404, (outsider, path, answer.status)
        page.goto(f"{base}/supervise/documents/")
        assert NUMBER not in page.locator("main").inner_text()
        context.close()
