"""Trusting the record: chains verified per matter and over a scope, naming the first bad event;
anchors made by county roles and checked against a database where one event was then altered."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.web.auditor.conftest import World
from tests.web.conftest import PASSWORD

COUNTY = "county.discipline"


@pytest.fixture(scope="module")
def tampered(audited: World, tmp_path_factory):
    """A copy of the seeded database with today's anchor, then event #4 of the slow matter altered."""
    from web import create_app

    folder = tmp_path_factory.mktemp("tampered")
    target = folder / "audit.sqlite"
    source = sqlite3.connect(audited.url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    source.backup(copy)
    source.close()
    config = {**audited.app.config, "DATABASE_URL": f"sqlite:///{target}", "AUDIT_IMPORTS_FOLDER": str(folder)}
    app = create_app({k: config[k] for k in ("TESTING", "DATABASE_URL", "SECRET_KEY", "WTF_CSRF_ENABLED")})

    def client(username: str):
        signed_in = app.test_client()
        assert signed_in.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return signed_in

    county = client(COUNTY)
    assert county.post("/audit/anchors").status_code == 302
    digest = re.search(r'<p class="digest">([0-9a-f]{64})</p>', county.get("/audit/anchors").data.decode()).group(1)
    before = county.get(f"/audit/anchors?digest={digest}").data.decode()
    with copy:
        copy.execute(
            "UPDATE history_event SET data = replace(data, '张书记', '王某某') WHERE instance_id = ? AND seq = 4",
            (audited.slow,),
        )
    copy.close()
    yield county, client, digest, before
    from web.db import EXTENSION

    app.extensions[EXTENSION].kw["bind"].dispose()


def test_intact_chains(audited, client_as):
    html = client_as(COUNTY).get("/audit/verify?run=1").data.decode()
    assert "清溪县：5 件事项、" in html and "全部完好" in html
    one = client_as("shangtang.supervisor").get(f"/audit/verify?matter={audited.ok}").data.decode()
    assert f"事项 {audited.ok} 完好" in one
    assert "事项编号应当是" in client_as(COUNTY).get("/audit/verify?matter=abc").data.decode()


def test_verify_names_the_tampered_event(audited, tampered):
    county, client, _digest, _before = tampered
    html = county.get("/audit/verify?run=1").data.decode()
    assert f"发现问题：事项 {audited.slow} 的第 4 条记录。" in html and "这条记录被改动过" in html
    assert f'href="/audit/matters/{audited.slow}?pos=3"' in html
    assert county.get(f"/audit/verify?matter={audited.ok}").data.decode().count("完好") >= 1
    one = county.get(f"/audit/verify?matter={audited.slow}").data.decode()
    assert "第 4 条记录" in one
    replay = county.get(f"/audit/matters/{audited.slow}").data.decode()
    assert "第 4 条记录：这条记录被改动过" in replay
    village = client("shangtang.supervisor").get("/audit/verify?run=1").data.decode()
    assert "全部完好" in village  # 下塘村 is outside 上塘村's scope


def test_anchor_check_before_and_after(audited, tampered):
    county, client, digest, before = tampered
    assert "相符：" in before and "至今一条不少、一条未改" in before
    after = county.get(f"/audit/anchors?digest={digest}").data.decode()
    assert re.search(rf'id="check-result"[^>]*>.*事项 {audited.slow}：存证覆盖的一条记录被改动过', after)
    by_prefix = county.get(f"/audit/anchors?digest={digest[:16]}").data.decode()
    assert "存证覆盖的一条记录被改动过" in by_prefix
    village = client("shangtang.supervisor").get(f"/audit/anchors?digest={digest}").data.decode()
    assert "您审计范围以外的一个事项" in village and f"事项 {audited.slow}" not in village
    unknown = county.get("/audit/anchors?digest=" + "0" * 64).data.decode()
    assert "找不到这个摘要" in unknown
    answer = county.get("/audit/anchors?digest=not-a-digest")
    assert answer.status_code == 400 and "16 到 64 位十六进制数字" in answer.data.decode()


def test_only_county_roles_make_anchors(client_as):
    town = client_as("dongxi.discipline").get("/audit/anchors").data.decode()
    assert "生成今天的存证" not in town
    assert client_as("dongxi.discipline").post("/audit/anchors").status_code == 403
    answer = client_as("county.auditor").post("/audit/anchors", follow_redirects=True)
    assert "今天的存证摘要" in answer.data.decode()
    listing = client_as("county.auditor").get("/audit/anchors").data.decode()
    assert re.search(r'<p class="digest">[0-9a-f]{64}</p>', listing) and "历次存证" in listing


def test_an_anchor_prints_on_a_sheet_with_a_qr_code_of_its_check_address(client_as):
    county = client_as("county.auditor")
    county.post("/audit/anchors")
    listing = county.get("/audit/anchors").data.decode()
    label = re.search(r'href="/audit/anchors/([0-9T-]+)/print"', listing).group(1)
    digest = re.search(r'<p class="digest">([0-9a-f]{64})</p>', listing).group(1)
    sheet = county.get(f"/audit/anchors/{label}/print").data.decode()
    assert digest[:8] in sheet and digest[-8:] in sheet and "违规预警" in sheet
    assert f"/audit/anchors?digest={digest}#check" in sheet
    code = county.get(f"/audit/anchors/{label}/qr.svg")
    assert code.status_code == 200 and code.mimetype == "image/svg+xml" and b"<svg" in code.data
    assert county.get("/audit/anchors/1999-01-01/print").status_code == 404
    assert county.get("/audit/anchors/" + "x" * 300 + "/qr.svg").status_code == 404
