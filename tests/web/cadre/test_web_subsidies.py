"""补贴去哪了 on the web: the staff page (upload, the problems list, preview, publish, withdraw, the
household codes; refused to a cadre and to another town's keeper) and the villagers' pages (rosters
masked, the household lookup right, wrong and rate-limited), with no ID or bank number on any page."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import fresh_database
from tests.engine.public.test_subsidies import BANK, IDS, X_ID, roster_csv
from tests.support.webapp import served
from tests.web.conftest import AuthActions

KEEPER = "dongxi.civil"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The app on the demo organisation (no flows: rosters need none)."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    folder = tmp_path_factory.mktemp("web_subsidies")
    with fresh_database("sqlite", folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        with make_sessionmaker(engine)() as session, session.begin():
            demo.load_demo(session, deploy_flows=False)
        engine.dispose()
        for app in served(url, folder):
            yield app.test_client()


@pytest.fixture(scope="module")
def auth(client) -> AuthActions:
    return AuthActions(client)


def upload(client, data: bytes, name: str = "名册.csv", **fields):
    form = {"village": "QX0101", "kind": "subsistence", "period": "2026-11", "action": "preview", **fields}
    form["roster"] = (io.BytesIO(data), name)
    return client.post("/subsidies", data=form, content_type="multipart/form-data")


def test_staff_publish_a_roster_and_villagers_see_it_masked_and_look_their_household_up(client, auth):
    auth.login("shangtang.cadre")
    assert client.get("/subsidies").status_code == 404  # a village cadre keeps no rosters
    assert upload(client, roster_csv().encode()).status_code == 404
    auth.logout()
    auth.login("xiling.civil")  # 西岭镇's: 上塘村 is not theirs
    assert upload(client, roster_csv().encode(), action="confirm").status_code == 404
    auth.logout()

    auth.login(KEEPER)
    page = client.get("/subsidies?village=QX0101")
    assert page.status_code == 200 and "上传名册" in page.get_data(as_text=True)
    bad = upload(client, roster_csv([f"1,H1,,{IDS[0]},1,10.001,,,", f"2,H2,李四,{IDS[1]},1,1e400,,,"]).encode())
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "第 4 行 C 列（姓名）：缺姓名" in text and "第 4 行 F 列" in text
    assert "第 5 行 F 列（金额(元)）：金额大得不像一户的补贴" in text
    checked = upload(client, roster_csv().encode("gb18030"))
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "发布前核对" in text and "张*丰" in text
    data = re.search(r'name="data" value="([^"]+)"', text).group(1)
    confirm = {"village": "QX0101", "kind": "subsistence", "period": "2026-11", "action": "confirm"}
    done = client.post("/subsidies", data={**confirm, "data": data, "file_name": "名册.csv"})
    assert done.status_code == 302
    listed = client.get("/subsidies?village=QX0101&households=1").get_data(as_text=True)
    assert "名册.csv" in listed and "H001" in listed
    auth.logout()

    village = client.get("/public/villages/QX0101").get_data(as_text=True)
    assert "2026年11月 最低生活保障金（低保）" in village and "/public/villages/QX0101/subsidies/mine" in village
    rosters = client.get("/public/villages/QX0101/subsidies").get_data(as_text=True)
    roster_id = re.search(r'id="roster-(\d+)"', rosters).group(1)
    one = client.get(f"/public/villages/QX0101/subsidies/{roster_id}").get_data(as_text=True)
    for shown in (rosters, one):
        assert "张*丰" in shown and "欧阳*华" in shown and "1,230.50" in shown
        assert "张三丰" not in shown
    mine = client.post("/public/villages/QX0101/subsidies/mine", data={"household": "h001", "check": IDS[0][-4:]})
    assert mine.status_code == 200 and "1,230.50" in mine.get_data(as_text=True)
    wrong = client.post("/public/villages/QX0101/subsidies/mine", data={"household": "H001", "check": "0000"})
    unknown = client.post("/public/villages/QX0101/subsidies/mine", data={"household": "H404", "check": "0000"})
    assert wrong.status_code == unknown.status_code == 404
    same = [re.sub(r"<[^>]*csrf[^>]*>", "", r.get_data(as_text=True)) for r in (wrong, unknown)]
    assert same[0] == same[1]  # which part was wrong is not said
    assert "对不上" in wrong.get_data(as_text=True)
    for page in (village, rosters, one, mine.get_data(as_text=True)):
        for secret in (*IDS[:2], X_ID, IDS[0][-4:], BANK, "6217"):
            assert secret not in page, secret
    for _ in range(7):
        client.post("/public/villages/QX0101/subsidies/mine", data={"household": "H001", "check": "1111"})
    limited = client.post("/public/villages/QX0101/subsidies/mine", data={"household": "H001", "check": IDS[0][-4:]})
    assert limited.status_code == 429 and "分钟后再试" in limited.get_data(as_text=True)

    auth.login(KEEPER)
    gone = client.post(
        "/subsidies", data={"village": "QX0101", "action": "withdraw", "roster": roster_id, "reason": "金额录错"}
    )
    assert gone.status_code == 302
    assert "已撤下" in client.get("/subsidies?village=QX0101").get_data(as_text=True)
    assert client.get(f"/public/villages/QX0101/subsidies/{roster_id}").status_code == 404
