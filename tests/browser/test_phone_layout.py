"""On a phone (320 × 640 and 390 × 844), with the demo's year of matters loaded: no page of the product
scrolls sideways, the diagram's text is readable (at least 11 px), the site has an icon, and
the diagram's full-size page ("打开大图") is a page with the drawing and zoom buttons, not a bare SVG file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.browser

PASSWORD = "powerlist-demo"
NARROW = {"width": 320, "height": 640}
PHONE = {"width": 390, "height": 844}
# how much wider than the screen the page is (a phone browser widens its layout viewport to the page, so
# window.innerWidth grows with it: compare with the screen's width)
SIDEWAYS = "width => document.documentElement.scrollWidth - Math.min(window.innerWidth, width)"


@dataclass
class Site:
    url: str
    matter: int  # a matter of 上塘村 with a step in progress
    task: str  # an open step of it, whose form asks for files
    holder: str  # who does it
    done_matter: int  # a completed matter of 上塘村
    violation: int  # a warning in 东溪镇
    receipt: str  # the public receipt code of ``matter``
    pages: dict[str, list[str]] = field(default_factory=dict)  # by user ("" for villagers)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """The demo county with the small demo year of matters, served on a free port."""
    from werkzeug.serving import make_server

    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from engine.persistence.models import Matter, OpenTask, OrgUnit
    from engine.public.receipts import receipt_for
    from engine.supervision.models import Violation
    from powerlist import demo
    from web import create_app

    folder = tmp_path_factory.mktemp("layout")
    url = f"sqlite:///{folder / 'layout.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        demo.load_demo(session)
    made = demo.load_matters(engine, "small", folder=folder / "attachments")
    assert made.matters and not made.failed, made.failed
    with sessions() as session, session.begin():
        village = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))
        town = select(OrgUnit.id).where(OrgUnit.code.in_(("QX0101", "QX0102")))
        running = (
            select(OpenTask)
            .join(Matter, Matter.id == OpenTask.instance_id)
            .where(Matter.village_id == village, Matter.status == "running")
            .order_by(OpenTask.opened_at)
        )
        # a step whose form asks for files (the attachments box), done by a village role
        task = next(t for t in session.scalars(running) if t.role in demo.VILLAGE_ROLES and _asks_for_files(session, t))
        holder = demo.holder(task.role, "QX0101")
        done = session.scalar(
            select(Matter.id).where(
                Matter.village_id == village, Matter.status == "completed"
            )
        )
        violation = session.scalar(select(Violation.id).where(Violation.village_id.in_(town)).order_by(Violation.id))
        receipt = receipt_for(session, task.instance_id)
    engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "layout-test", "ATTACHMENTS_FOLDER": str(folder / "attachments")}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    matter = task.instance_id
    pages = {
        holder: [f"/tasks/{task.id}"],
        "shangtang.chair": [
            "/desk",
            "/start",
            "/start/fund_payment",
            f"/tasks/{task.id}",
            f"/matters/{matter}",
            f"/matters/{done}",
            f"/matters/{matter}/diagram",
            "/decisions",
        ],
        "county.auditor": [
            "/audit/",
            "/audit/matters",
            "/audit/heatmap",
            f"/audit/matters/{done}",
            "/audit/conformance",
        ],
        "dongxi.discipline": [
            "/supervise/",
            "/supervise/overview/risk",
            "/supervise/overview/grades",
            "/supervise/overview/lists",
            "/supervise/search?q=%E4%B8%8A%E5%A1%98",
            f"/supervise/violations/{violation}",
        ],
        "": [
            "/public/",
            "/public/villages/QX0101",
            "/public/villages/QX0101/wallet",
            "/public/villages/QX0101/report",
            f"/public/matters/{receipt}",
        ],
        "admin": [
            "/admin/",
            "/admin/flows",
            "/admin/flows/fund_payment",
            "/admin/org",
            "/admin/users",
            "/admin/users/shangtang.chair",
        ],
    }
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", matter, task.id, holder, done, violation, receipt, pages)
    finally:
        server.shutdown()
        thread.join(10)


def _asks_for_files(session, task) -> bool:
    from engine.persistence.models import Matter
    from engine.runtime import forms
    from engine.runtime.loaded import loaded

    definition = loaded(session.get(Matter, task.instance_id).definition)
    schema, _text = definition.form(definition.step(task.step_id))
    return bool(forms.form_spec(schema).attachments)


def _signed_in(browser, site: Site, user: str, viewport: dict):
    context = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = context.new_page()
    if user:
        page.goto(f"{site.url}/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    return context, page


def test_no_page_scrolls_sideways_on_a_phone(site, browser, artifacts):
    """Every page at 320 px, then the same page at 390 px: nothing wider than the screen."""
    name = "test_no_page_scrolls_sideways_on_a_phone"
    wide = []
    for user, paths in site.pages.items():
        context, page = _signed_in(browser, site, user, NARROW)
        try:
            for path in paths:
                page.set_viewport_size(NARROW)
                answer = page.goto(site.url + path)
                if answer is None or answer.status != 200:
                    wide.append(f"{path} ({user or 'villager'}): answered {answer.status if answer else None}")
                    continue
                for viewport in (NARROW, PHONE):
                    page.set_viewport_size(viewport)
                    extra = page.evaluate(SIDEWAYS, viewport["width"])
                    if extra > 0:
                        where = f"{path.strip('/').replace('/', '_').split('?')[0]}-{viewport['width']}"
                        wide.append(f"{path} ({user or 'villager'}) at {viewport['width']} px: {extra} px too wide")
                        page.screenshot(path=str(artifacts / f"{name}-{where}.png"))
        finally:
            context.close()
    context, page = _signed_in(browser, site, site.holder, NARROW)
    page.goto(f"{site.url}/tasks/{site.task}")
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    context.close()
    assert wide == []


def test_the_diagram_is_readable_on_a_phone_and_opens_on_the_step_in_progress(site, browser, artifacts):
    context, page = _signed_in(browser, site, "shangtang.chair", PHONE)
    page.goto(f"{site.url}/matters/{site.matter}")
    box = page.locator(".diagram").first
    box.scroll_into_view_if_needed()
    smallest = page.evaluate(
        """() => { const svg = document.querySelector('.diagram svg');
             const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
             return Math.min(...[...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
               .map(t => parseFloat(getComputedStyle(t).fontSize) * scale)); }"""
    )
    assert smallest >= 11, f"the diagram's smallest text is {smallest:.1f} px"
    # the step in progress is in view inside the diagram's box
    shown = page.evaluate(
        """() => { const box = document.querySelector('.diagram').getBoundingClientRect();
             const step = document.querySelector('.diagram .current, .diagram .overdue').getBoundingClientRect();
             return step.right > box.left && step.left < box.right
               && step.bottom > box.top && step.top < box.bottom; }"""
    )
    page.screenshot(path=str(artifacts / "test_the_diagram_is_readable_on_a_phone.png"))
    assert shown, "the diagram does not open on the step in progress"

    # the full-size page ("打开大图"): the drawing in a page, with zoom buttons
    large = context.new_page()
    large.goto(f"{site.url}/matters/{site.matter}/diagram")
    assert large.evaluate("document.contentType") == "text/html"
    assert large.locator("svg.pl-diagram").count() == 1
    before = large.evaluate("document.querySelector('svg.pl-diagram').getBoundingClientRect().width")
    large.get_by_role("button", name="放大").click()
    after = large.evaluate("document.querySelector('svg.pl-diagram').getBoundingClientRect().width")
    assert after > before
    large.screenshot(path=str(artifacts / "test_the_diagram_opens_full_size.png"))
    context.close()


def test_the_site_has_an_icon(site, browser):
    context, page = _signed_in(browser, site, "", PHONE)
    page.goto(f"{site.url}/public/")
    icon = page.evaluate("document.querySelector('link[rel=icon]') && document.querySelector('link[rel=icon]').href")
    assert icon, "no <link rel=icon>"
    assert page.request.get(icon).status == 200
    answer = page.request.get(f"{site.url}/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/")
    context.close()
