"""Villagers' pages of published decisions and of the power list's items.

Before, the village's page had no resolution or result text, and the items on /public/ could not be
opened. Now a village's 决议和结果公开 lists what its disclosure steps posted, each matter has a
page under a slug that is not a sequential id, and each listed item opens its flowchart and a
plain-language page; an item not on the villagers' list is not found.
"""

from __future__ import annotations

import re

import pytest

from tests.engine.public.test_published_decisions import DrivenMatter, county
from tests.support.webapp import make_app

VILLAGE = "QX0101"
PHONE = "138 0013 8000"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo county with the flows these pages need on one SQLite database: a matter through both
    disclosures (one not yet posted is the engine test's); the app and a client."""
    from web.db import EXTENSION

    folder = tmp_path_factory.mktemp("items")
    url = f"sqlite:///{folder / 'powerlist.sqlite'}"
    lib = county(url)
    posted = DrivenMatter(lib, "村道硬化工程")
    for step in ("propose", "discuss", "review", "resolve", "disclose_resolution"):
        posted.done(step)
    for step in ("supervise_resolution", "implement", "disclose_result"):
        posted.done(step)
    app = make_app(url, folder)
    yield app.test_client(), lib
    app.extensions[EXTENSION].kw["bind"].dispose()
    lib.sessions.kw["bind"].dispose()


def test_the_village_publishes_its_decisions_with_their_results(site):
    client, _lib = site
    page = client.get(f"/public/villages/{VILLAGE}/decisions")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "村道硬化工程" in text and "决议公开" in text and "结果公开" in text
    assert "同意实施村道硬化工程，联系人电话***。" in text and PHONE not in text
    assert "应到 40 人，实到 30 人；赞成 20，反对 8，弃权 2" in text
    assert "300,000.00 元" in text and "295,000.00 元" in text  # passed, and spent
    village = client.get(f"/public/villages/{VILLAGE}").get_data(as_text=True)
    assert "最新决议和结果公开" in village and "村道硬化工程" in village
    assert "村道硬化工程" not in client.get("/public/villages/QX0201/decisions").get_data(as_text=True)


def test_a_decision_has_a_page_under_a_slug_that_reveals_nothing(site):
    client, lib = site
    listing = client.get(f"/public/villages/{VILLAGE}/decisions").get_data(as_text=True)
    (slug,) = set(re.findall(rf"/public/villages/{VILLAGE}/decisions/([0-9a-f]{{16}})", listing))
    page = client.get(f"/public/villages/{VILLAGE}/decisions/{slug}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "村道硬化工程" in text and "办理结果" in text
    assert "/public/items/four_deliberations" in text
    assert client.get(f"/public/villages/QX0201/decisions/{slug}").status_code == 404
    from engine.persistence.models import Matter

    with lib.sessions() as session:
        ids = [i.id for i in session.query(Matter)]
    for guess in (str(min(ids)), str(max(ids)), "0" * 16):
        assert client.get(f"/public/villages/{VILLAGE}/decisions/{guess}").status_code == 404


def test_each_listed_item_opens_its_flowchart_and_plain_page(site):
    client, _lib = site
    board = client.get("/public/").get_data(as_text=True)
    assert 'href="/public/items/four_deliberations"' in board and 'href="/public/items/subsistence_aid"' in board
    page = client.get("/public/items/four_deliberations")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<div class="item-chart"' in text and "<svg" in text and "决议公开" in text
    assert "这件事是干什么的" in text and "办理步骤" in text and "法律依据" in text
    assert "办完要公开的内容" in text and "决议内容" in text  # from the published-decisions rules
    assert "/public/villages/QX0101/decisions?item=four_deliberations" in text
    only = client.get("/public/villages/QX0101/decisions?item=homestead").get_data(as_text=True)
    assert "只看：农村宅基地申请审批" in only and "村道硬化工程" not in only
    aid = client.get("/public/items/subsistence_aid").get_data(as_text=True)
    assert "10个工作日" in aid and "要带的材料" in aid  # working days said as such; the shipped plain text


def test_an_item_not_on_the_villagers_list_is_not_found(site):
    client, lib = site
    from engine.definitions import listing

    assert client.get("/public/items/seal_use").status_code == 200
    with lib.sessions() as session, session.begin():
        listing.withdraw(session, "seal_use", None)
    assert client.get("/public/items/seal_use").status_code == 404
    assert client.get("/public/items/no_such_item").status_code == 404
    assert 'href="/public/items/seal_use"' not in client.get("/public/").get_data(as_text=True)
