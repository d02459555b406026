"""An administrator puts a flow into service and manages people, without a developer."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.web.conftest import ADMIN, MINI, PASSWORD, SECRETARY

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def flow_files(bpmn: str) -> list[tuple[io.BytesIO, str]]:
    files = [(io.BytesIO(bpmn.encode("utf-8")), "road_repair.bpmn")]
    for form in sorted((MINI.parent / "forms").glob("*.json")):
        files.append((io.BytesIO(form.read_bytes()), form.name))
    return files


def upload(client, files):
    return client.post("/admin/flows/upload", data={"files": files}, content_type="multipart/form-data")


ROAD = MINI.read_text(encoding="utf-8").replace('id="mini_decision"', 'id="road_repair"')


def test_upload_report_fix_preview_deploy_version_retire(client, auth):
    auth.login(ADMIN)
    broken = ROAD.replace('pl:role="committee_chair" pl:form="forms/disclose.json"', 'pl:role="mayor"')
    report = upload(client, flow_files(broken))
    assert report.status_code == 400
    text = report.data.decode()
    line = next(n for n, row in enumerate(broken.splitlines(), 1) if 'pl:role="mayor"' in row)
    assert "disclose" in text and "mayor" in text and f"road_repair.bpmn:{line}" in text

    preview = upload(client, flow_files(ROAD))
    assert preview.status_code == 200
    text = preview.data.decode()
    assert "检查通过" in text and "村党组织书记" in text and "5 天" in text and "<svg" in text
    staged = re.search(r'name="staged" value="([0-9a-f]+)"', text).group(1)
    deployed = client.post("/admin/flows/deploy", data={"staged": staged})
    assert deployed.status_code == 302 and deployed.headers["Location"].endswith("/admin/flows/road_repair")
    assert client.post("/admin/flows/deploy", data={"staged": staged}).status_code == 404

    # Version 2 from a zip, with a longer time limit on one step.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("road_repair/road_repair.bpmn", ROAD.replace('pl:timeLimit="P3D"', 'pl:timeLimit="P4D"'))
        for form in (MINI.parent / "forms").glob("*.json"):
            bundle.writestr(f"road_repair/forms/{form.name}", form.read_bytes())
    archive.seek(0)
    preview = upload(client, [(archive, "road_repair.zip")])
    assert preview.status_code == 200, preview.data.decode()[:2000]
    staged = re.search(r'name="staged" value="([0-9a-f]+)"', preview.data.decode()).group(1)
    client.post("/admin/flows/deploy", data={"staged": staged})
    page = client.get("/admin/flows/road_repair").data.decode()
    assert "v2" in page and "修改「提议」：时限" in page

    assert client.post("/admin/flows/road_repair/2/retire").status_code == 302
    page = client.get("/admin/flows/road_repair").data.decode()
    assert "已停用" in page
    auth.logout()
    auth.login(SECRETARY)
    started = client.post(
        "/start/road_repair", data={"title": "修路", "village": "QX0101", "idempotency_key": "road-0001"}
    )
    matter = client.get(started.headers["Location"]).data.decode()
    assert "3 天" in matter  # the step runs on version 1 again


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(io.BytesIO(b"hello"), "notes.txt")], "no BPMN file"),
        ([(io.BytesIO(b"PK\x03\x04 not really"), "flow.zip")], "not a readable zip"),
        ([(io.BytesIO(b"<a/>"), "a.bpmn"), (io.BytesIO(b"<b/>"), "b.bpmn")], "one BPMN file at a time"),
        ([(io.BytesIO(b"<bpmn:definitions"), "a.bpmn")], "XML syntax error"),
        ([(io.BytesIO(b'<!DOCTYPE x [<!ENTITY e "e">]><x/>'), "a.bpmn")], "DOCTYPE"),
    ],
)
def test_bad_uploads_get_a_report_not_an_error(client, auth, files, message):
    auth.login(ADMIN)
    answer = upload(client, files)
    assert answer.status_code == 400
    assert message in answer.data.decode()


def test_people_and_tokens(client, auth):
    auth.login(ADMIN)
    added = client.post("/admin/users", data={"username": "wang.wu", "display_name": "王五"})
    assert added.status_code == 200 and "请立即保存" in added.data.decode()
    password = re.search(r'id="secret">([^<]+)<', added.data.decode()).group(1)
    assert client.post("/admin/users", data={"username": "wang.wu", "display_name": "王五"}).status_code == 302
    granted = client.post("/admin/users/wang.wu/roles", data={"role": "cadre", "unit": "QX0101"})
    assert granted.status_code == 302
    wrong_level = client.post(
        "/admin/users/wang.wu/roles", data={"role": "town_agency", "unit": "QX0101"}, follow_redirects=True
    )
    assert "镇三资中心是镇一级的岗位，上塘村是村：请选择一个镇" in wrong_level.data.decode()
    page = client.get("/admin/users/wang.wu").data.decode()
    assert "上塘村" in page and "村干部" in page
    assert (
        client.post(
            "/admin/org/units", data={"parent": "QX01", "level": "village", "code": "QX0103", "name": "中塘村"}
        ).status_code
        == 302
    )
    assert "中塘村" in client.get("/admin/org").data.decode()

    token_page = client.post("/admin/users/wang.wu/tokens", data={"name": "财务系统对接"}).data.decode()
    token = re.search(r'id="secret">([^<]+)<', token_page).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["username"] == "wang.wu"

    reset = client.post("/admin/users/wang.wu/password").data.decode()
    new_password = re.search(r'id="secret">([^<]+)<', reset).group(1)
    assert client.post("/admin/users/wang.wu/active", data={"active": "0"}).status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    auth.logout()
    assert auth.login("wang.wu", password).status_code == 401
    assert auth.login("wang.wu", new_password).status_code == 401  # deactivated
    assert auth.login(ADMIN, PASSWORD).status_code == 302
    assert client.post("/admin/users/admin/active", data={"active": "0"}, follow_redirects=True).status_code == 200
    assert auth.login(ADMIN, PASSWORD).status_code == 302  # an administrator cannot lock themself out
