"""No personal number typed into a matter ever reaches a villagers' page.

One database holds the demo county with every shipped flow shown to villagers; the example paths of
every flow (enough of them to fill every field their examples fill) are run with resident ID, mobile,
landline and bank card numbers, in the spellings people type, planted in every free-text field of
every form (the start form and the title too; an ID number field takes a planted ID number), and
two 码上举报 reports carry them in what and where and a phone, one named and one anonymous, and a 低保
roster imported from a spreadsheet carries them in its names, ID numbers, groups and bank cards. Then every
page under /public/ is visited, from the board and each village's page, following every link and
every GET form (the receipt lookup with each matter's receipt code), and none may show a planted
number in any spelling, nor a planted person's name in full (the progress pages above all; the
wallet names payees on purpose). No page of the site shows a planted number to someone not logged in.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from sqlalchemy import select

from tests.support import planting

VILLAGES = ("QX0101", "QX0102", "QX0201", "QX0202")
MAX_PAGES = 4000

# The pages the crawl must reach: name -> a pattern of the page's path. A page whose route does not
# exist yet is skipped (saying so); once its route exists the crawl must reach it.
EXPECTED = {
    "board": r"^/public/$",
    "village": r"^/public/villages/[^/]+$",
    "village QR code": r"^/public/villages/[^/]+/qr\.svg$",
    "report form": r"^/public/villages/[^/]+/report$",
    "receipt lookup": r"^/public/matters/$",
    "progress": r"^/public/matters/[^/]+$",
    "wallet": r"^/public/villages/[^/]+/wallet$",
    "subsidies": r"^/public/villages/[^/]+/subsidies",
    "disclosures": r"^/public/villages/[^/]+/disclosures",
    "decisions": r"^/public/villages/[^/]+/decisions",
    "item": r"^/public/(?:villages/[^/]+/)?items?/[^/]+",
}


# Pages that show a person's name on purpose, in full: path pattern -> why. On every other public page
# (a matter's progress above all) a name typed into a form shows masked (张*丰) or not at all. None does:
# the wallet names an organisation paid in full but a person (陈建社, 村民王芳, 某五金店张三丰) masked.
NAMES_SHOWN: dict[str, str] = {}

# What a page's address is filled with when every route of the site is tried without logging in.
SAMPLES: dict[str, object] = {
    "code": "QX0101",
    "village": "QX0101",
    "key": "fund_payment",
    "version": 1,
    "username": "shangtang.secretary",
    "sha256": "0" * 64,
}


class _Links(HTMLParser):
    """The links of a page: hrefs, sources, and GET forms with their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        for key in ("href", "src", "xlink:href"):
            if found.get(key):
                self.links.append(found[key])
        if tag == "form" and (found.get("method") or "get").lower() == "get":
            self._form = (found.get("action") or "", {})
            self.forms.append(self._form)
        elif tag == "form":
            self._form = None
        elif tag in ("input", "select", "textarea") and self._form is not None and found.get("name"):
            if (found.get("type") or "").lower() not in ("submit", "button", "image"):
                self._form[1][found["name"]] = found.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _public(base: str, link: str) -> str | None:
    """The link as a path (and query) on this site under /public/, else None."""
    parts = urlsplit(urljoin(base, link))
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "localhost"):
        return None
    if not parts.path.startswith("/public/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _covering(paths: list) -> list:
    """Enough of a flow's example paths to fill every form it has with every field its examples fill
    (the first path, then each one with a step or a field not filled yet): each path takes time."""
    chosen, filled = [], set()
    for path in paths:
        forms = {("start", name) for name in path.start} | {(s.step, name) for s in path.steps for name in s.data}
        if not chosen or forms - filled:
            chosen.append(path)
            filled |= forms
    return chosen


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo county, the example paths of every flow run with planted numbers, two planted reports and
    a planted roster: (app, receipt codes, planter, what failed, where the reports' receipts led)."""
    from engine import clock
    from engine.errors import PowerlistError
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from engine.persistence.models import DefinitionVersion, Matter, OpenTask, User
    from engine.public import receipts, subsidies
    from engine.runtime.loaded import loaded
    from powerlist import demo
    from tests.support.webapp import make_app
    from web.db import EXTENSION

    folder = tmp_path_factory.mktemp("privacy")
    url = f"sqlite:///{folder / 'powerlist.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        demo.load_demo(session)
    with sessions() as session:
        definitions = {}
        for row in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.version)):
            definitions[row.key] = loaded(row)

    planter = planting.Planter()
    failed: list[str] = []
    now = clock.clock.now()
    restore = clock.clock._fixed
    rng = random.Random(13)
    try:
        for key, paths in demo._examples().items():
            definition = definitions[key]
            for number, path in enumerate(_covering(paths)):
                tried: list[str] = []  # a date moved onto a holiday, or an empty field that must stay empty
                for empty, moved in ((True, True), (True, False), (False, False)):
                    where = f"{key}/{path.name}"
                    start_schema, _text = definition.start_form()
                    steps = tuple(
                        replace(
                            step,
                            data=planter.form(
                                definition.form(definition.step(step.step))[0], step.data, f"{where}/{step.step}", empty
                            ),
                        )
                        for step in path.steps
                    )
                    planted = replace(
                        path, steps=steps, start=planter.form(start_schema, path.start, f"{where}/start", empty)
                    )
                    title = (path.title or definition.name) + "，" + planter.next_fitting(None)
                    village = path.village if number % 2 == 0 else VILLAGES[(VILLAGES.index(path.village) + 1) % 4]
                    plan = demo.Plan(key, planted, village, now - timedelta(days=60 + number), title=title)
                    try:
                        demo.run_plan(sessions, plan, rng, now, moved=moved, folder=folder / "files")
                        break
                    except (PowerlistError, RuntimeError) as exc:
                        tried.append(f"{where} (empty fields planted: {empty}, dates moved: {moved}): {exc}")
                else:
                    failed += tried
    finally:
        clock.clock.set(restore)

    with sessions() as session, session.begin():  # a 低保 roster imported from the town's spreadsheet
        roster = (
            "序号,户号,户主姓名,身份证号,人数,金额(元),发放日期,村/组,银行卡号\n"
            f'1,H001,{planting.NAME},{planting.ID_X},3,"1,230.50",2025-06-05,一组 139、1234、5678,{planting.CARD}\n'
            f"2,H002,欧阳明华,{planting.ID_DIGIT},1,600,2025-06-05,二组,6222 0000 1111 2222 333\n"
        )
        try:
            data = roster.encode()
            subsidies.import_roster(session, "dongxi.civil", data, "名册.csv", "QX0101", "subsistence", "2025-06")
        except PowerlistError as exc:
            failed.append(f"the planted 低保 roster: {exc}")

    app = make_app(url, folder)
    client = app.test_client()
    reported = []
    for index, anonymous in enumerate((False, True)):
        form = {
            "what": f"村会计张三丰挪用低保金，他的身份证 {planting.ID_X}，银行卡 6222 0000 1111 2222 333",
            "where": "村委会，电话 0574-87654321",
            "phone": "139 1234 5678",
            "about": "cadres",
            "identity": "anonymous" if anonymous else "named",  # 匿名 or 实名 (the page before asked by a tick)
            "anonymous": "1" if anonymous else "",
        }
        sent = {"REMOTE_ADDR": f"198.51.100.{index}"}
        response = client.post(f"/public/villages/{VILLAGES[index]}/report", data=form, environ_base=sent)
        if anonymous and response.status_code == 400:  # a phone with 匿名 may be refused: then without it
            form["phone"] = ""
            response = client.post(f"/public/villages/{VILLAGES[index]}/report", data=form, environ_base=sent)
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
        reported.append(response.headers["Location"])

    with sessions() as session, session.begin():
        matters = list(session.scalars(select(Matter.id).order_by(Matter.id)))
        codes = [receipts.display(receipts.receipt_for(session, instance_id)) for instance_id in matters]
        task = session.scalars(select(OpenTask.id).order_by(OpenTask.id)).first()
        people = [  # accounts with a dot in their name, and a person's name when the display name has one
            (user.username, user.display_name if user.display_name.endswith(tuple(demo.SECOND_NAMES)) else None)
            for user in session.scalars(select(User).order_by(User.id))
            if "." in user.username
        ]
    SAMPLES.update(instance_id=matters[0], task_id=task, receipt=codes[0], people=people)
    yield app, codes, planter, failed, reported
    app.extensions[EXTENSION].kw["bind"].dispose()
    engine.dispose()


@pytest.fixture(scope="module")
def crawl(site):
    """Every page under /public/ reached from the board, the villages' pages and the receipt codes:
    {path: (status, content type, body)}."""
    app, codes, _planter, _failed, reported = site
    client = app.test_client()
    seeds = ["/public/", *(f"/public/villages/{code}" for code in VILLAGES)]
    seeds += [_public("/", location) or location for location in reported]
    seeds += [f"/public/matters/{code}" for code in codes]
    queue = deque(dict.fromkeys(seeds))
    seen = set(queue)
    pages: dict[str, tuple[int, str, str]] = {}
    while queue:
        path = queue.popleft()
        assert len(pages) < MAX_PAGES, f"more than {MAX_PAGES} public pages: the crawl does not end"
        response = client.get(path)
        binary = response.mimetype.startswith(("image/", "application/pdf")) and "svg" not in response.mimetype
        body = "" if binary else response.get_data(as_text=True)
        pages[path] = (response.status_code, response.mimetype, body)
        found: list[str] = []
        if response.status_code in (301, 302, 303, 307, 308):
            found.append(response.headers["Location"])
        if "html" in response.mimetype or "svg" in response.mimetype:
            parser = _Links()
            parser.feed(body)
            found += parser.links
            for action, fields in parser.forms:
                target = _public(path, action or path)
                if target is None:
                    continue
                if "code" in fields:  # the receipt lookup, with a few codes typed as villagers do
                    typed = [codes[0], codes[-1].lower(), codes[1].replace("-", " ")]
                    found += [f"{target.split('?')[0]}?{urlencode({**fields, 'code': code})}" for code in typed]
                found.append(f"{target.split('?')[0]}?{urlencode(fields)}")
        for link in found:
            target = _public(path, link)
            if target is not None and target not in seen:
                seen.add(target)
                queue.append(target)
    return pages


def test_every_path_of_every_flow_ran_with_planted_numbers(site) -> None:
    _app, codes, planter, failed, _reported = site
    assert not failed, "\n".join(failed)
    used = {spelling for _where, _field, spelling in planter.planted}
    assert used >= {spelling for _kind, spelling in planting.SPELLINGS}
    fields = {field for _where, field, _spelling in planter.planted}
    assert "id_number" in fields and "applicant_name" in fields and "payee" in fields, sorted(fields)
    assert used >= set(planting.PAYEES), "every person-like payee is planted into a payee field"
    assert len(codes) > 30  # a matter per path run, and the two reports


def test_the_scan_finds_each_spelling() -> None:
    for kind, spelling in planting.SPELLINGS:
        assert planting.leaks(f"<p>付款<b>{spelling}</b>元</p>"), (kind, spelling)
    assert planting.leaks("<td>3302</td><td>2619</td><td>8001</td><td>0112</td><td>1X</td>")
    assert planting.leaks("<p>（张三丰）</p>", names=True) and not planting.leaks("<p>（张三丰）</p>")
    for payee in planting.PAYEES:
        assert planting.leaks(f"<td>{payee}</td>", names=True), payee
    assert planting.leaks("<p>村道修缮 2026-03-01 80,000.00 元 ABCD-EFGH-JKLM</p>", names=True) == []


def test_every_public_page_answers(crawl) -> None:
    broken = {path: status for path, (status, _type, _body) in crawl.items() if status >= 500}
    assert not broken, broken
    # A page answers, redirects or is not found; a form sent as the page offers it may be refused (400).
    odd = {
        path: status
        for path, (status, _type, _body) in crawl.items()
        if status not in (200, 302, 303, 404) and not (status == 400 and "?" in path)
    }
    assert not odd, odd


@pytest.mark.parametrize("page", list(EXPECTED))
def test_the_crawl_reaches(crawl, site, page) -> None:
    app = site[0]
    pattern = re.compile(EXPECTED[page])
    routes = [re.sub(r"<[^>]+>", "x", rule.rule) for rule in app.url_map.iter_rules()]
    if not any(pattern.search(route) for route in routes):
        pytest.skip(f"no route for the {page} page yet (no rule matches {EXPECTED[page]})")
    reached = [path for path, (status, _type, _body) in crawl.items() if status == 200 and pattern.search(path)]
    assert reached, f"the {page} page exists but no public page links to it ({sorted(crawl)[:40]})"


@pytest.mark.parametrize("kind", [planted.kind for planted in planting.PLANTED] + ["name"])
def test_no_planted_data_on_any_public_page(crawl, kind) -> None:
    shown = {}
    for path, (_status, _type, body) in crawl.items():
        names = not any(re.search(pattern, path.split("?")[0]) for pattern in NAMES_SHOWN)
        found = [leak for leak in planting.leaks(body, names=names) if leak.startswith(f"{kind}:")]
        if found:
            shown[path] = found
    assert not shown, f"{len(shown)} public pages show planted {kind} data: {dict(list(shown.items())[:10])}"


def test_no_planted_number_on_any_page_without_logging_in(site) -> None:
    """Every GET route of the site, the staff pages and the API too, asked by someone not logged in:
    whatever it answers (mostly the login page or 401), it shows no planted number."""
    from flask import url_for
    from werkzeug.routing import BuildError

    app = site[0]
    client = app.test_client()
    shown, tried = {}, 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/static", "/public/")):
            continue
        values = {name: SAMPLES.get(name, 1 if name.endswith("_id") else "x") for name in rule.arguments}
        with app.test_request_context():
            try:
                path = url_for(rule.endpoint, **values)
            except (BuildError, ValueError, TypeError):  # a converter that takes none of the samples
                continue
        response = client.get(path)
        tried += 1
        found = planting.leaks(response.get_data(as_text=True))
        if found:
            shown[path] = (response.status_code, found)
    assert tried > 50
    assert not shown, shown
    # The same scan on a page that shows the record on purpose, to an auditor: the numbers are there.
    client.post("/login", data={"username": "county.auditor", "password": "powerlist-demo"})
    with app.test_request_context():
        path = url_for("auditor.replay", instance_id=SAMPLES["instance_id"])
    response = client.get(path)
    assert response.status_code == 200 and planting.leaks(response.get_data(as_text=True))


def test_no_account_or_person_acting_is_named_on_a_public_page(crawl) -> None:
    """Public pages name offices (村党组织书记), never the accounts or the people who acted: no
    demo user's username, nor the name of one whose name is a person's (上塘村书记刘芳)."""
    people = SAMPLES["people"]
    assert len(people) > 20
    shown = {}
    for path, (_status, _type, body) in crawl.items():
        found = [f"{username} / {name}" for username, name in people if username in body or (name and name in body)]
        if found:
            shown[path] = found[:3]
    assert not shown, dict(list(shown.items())[:10])
