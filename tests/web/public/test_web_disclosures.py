"""三务公开 on the web: the staff page (prepare, the 村监会 signs, post) through the same engine commands as
``powerlist disclosures``, refusals as the policy says, and the villagers' calendar with content and digest."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.calendar import CST
from tests.web.conftest import PASSWORD
from tests.web.public.test_web_villagers import ONLY_SQLITE

PERIOD = {"village": "QX0101", "kind": "finance", "period": "2026-10"}


@pytest.fixture
def november():
    from engine import clock

    clock.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=CST))  # after the 16th, October's due day
    yield
    clock.clock.set(None)


def as_user(client, username: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302


@ONLY_SQLITE
def test_staff_prepare_sign_and_post_and_villagers_see_it_late(client, november):
    as_user(client, "lingtou.cadre")
    assert client.post("/disclosures", data={**PERIOD, "action": "prepare"}).status_code == 404  # another village
    as_user(client, "shangtang.cadre")
    page = client.get("/disclosures?village=QX0101").get_data(as_text=True)
    assert "2026年10月 · 财务公开" in page
    done = client.post("/disclosures", data={**PERIOD, "action": "prepare", "note": "电话13800138000"})
    assert done.status_code == 302
    assert client.post("/disclosures", data={**PERIOD, "action": "approve", "revision": "1"}).status_code == 403
    as_user(client, "shangtang.supervisor")
    form = client.get("/disclosures?village=QX0101").get_data(as_text=True)
    assert "审核签字" in form and 'name="revision" value="1"' in form  # the form names the revision read
    as_user(client, "shangtang.cadre")  # meanwhile the cadre changes the draft
    assert client.post("/disclosures", data={**PERIOD, "action": "prepare", "note": "补记一笔"}).status_code == 302
    as_user(client, "shangtang.supervisor")
    stale = client.post("/disclosures", data={**PERIOD, "action": "approve", "revision": "1"})
    assert stale.status_code == 400 and "第 1 版" in stale.get_data(as_text=True)
    assert client.post("/disclosures", data={**PERIOD, "action": "approve"}).status_code == 400  # no revision
    assert client.post("/disclosures", data={**PERIOD, "action": "approve", "revision": "2"}).status_code == 302
    assert client.post("/disclosures", data={**PERIOD, "action": "post"}).status_code == 403  # the 村监会
    as_user(client, "shangtang.cadre")
    posted = client.post("/disclosures", data={**PERIOD, "action": "post", "places": ["村民微信群"]})
    assert posted.status_code == 302
    client.post("/logout")
    public = client.get("/public/villages/QX0101/disclosures").get_data(as_text=True)
    assert "逾期 4 天公开" in public and "村民微信群" in public and "13800138000" not in public
    assert public.count("存证摘要") >= 1 and "未公开" in public  # other periods were never posted
    village = client.get("/public/villages/QX0101").get_data(as_text=True)
    assert "2026年10月 · 公开于 2026-11-20" in village
