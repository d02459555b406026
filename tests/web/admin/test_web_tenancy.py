"""Counties as tenants in the administrators' pages and the API: another county's users, tokens
and flows are neither shown nor changed."""

from __future__ import annotations

import io
import re

import pytest

from tests.engine.workspace.test_tenancy import BOTH, BX_ADMIN, add_second_county, published, roles_of
from tests.web.conftest import ADMIN, MINI

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ROAD = MINI.read_text(encoding="utf-8").replace('id="mini_decision"', 'id="road_repair"')
MINI_V2 = MINI.read_text(encoding="utf-8").replace("写明事由和金额。", "写明事由、金额和依据。")


@pytest.fixture
def two(demo_world):
    """The demo county (清溪县) with its flows, and 白溪县 with its own administrator."""
    add_second_county(demo_world)
    return demo_world


def flow_files(bpmn: str, name: str) -> list[tuple[io.BytesIO, str]]:
    files = [(io.BytesIO(bpmn.encode("utf-8")), name)]
    for form in sorted((MINI.parent / "forms").glob("*.json")):
        files.append((io.BytesIO(form.read_bytes()), form.name))
    return files


def upload(client, bpmn: str, name: str):
    return client.post(
        "/admin/flows/upload", data={"files": flow_files(bpmn, name)}, content_type="multipart/form-data"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_cannot_take_over_another_countys_admin(two, client, auth):
    auth.login(ADMIN)
    assert client.post(f"/admin/users/{BX_ADMIN}/roles", data={"role": "cadre", "unit": "QX0101"}).status_code == 404
    assert roles_of(two, BX_ADMIN) == {("admin", "BX")}
    assert client.post(f"/admin/users/{BX_ADMIN}/tokens", data={"name": "冒用"}).status_code == 404
    assert client.get(f"/admin/users/{BX_ADMIN}").status_code == 404
    assert client.post(f"/admin/users/{BX_ADMIN}/password").status_code == 404
    assert client.post(f"/admin/users/{BX_ADMIN}/active", data={"active": "0"}).status_code == 404
    assert BX_ADMIN not in client.get("/admin/users").data.decode()

    # Someone with a role in each county is shown, but only the operator manages them.
    page = client.get(f"/admin/users/{BOTH}").data.decode()
    assert "上塘村" in page and "溪口村" in page and "别的县" in page
    assert "授予岗位" not in page and "创建令牌" not in page and "重置密码" not in page
    assert client.post(f"/admin/users/{BOTH}/roles", data={"role": "bookkeeper", "unit": "QX0101"}).status_code == 403
    assert client.post(f"/admin/users/{BOTH}/roles/revoke", data={"role": "cadre", "unit": "QX0101"}).status_code == 403
    assert client.post(f"/admin/users/{BOTH}/tokens", data={"name": "冒用"}).status_code == 403
    assert roles_of(two, BOTH) == {("cadre", "QX0101"), ("cadre", "BX0101")}

    # One's own county's people, as before.
    own = "/admin/users/shangtang.cadre/roles"
    assert client.post(own, data={"role": "bookkeeper", "unit": "QX0101"}).status_code == 302
    assert client.post(own, data={"role": "cadre", "unit": "BX0101"}).status_code == 403
    assert roles_of(two, "shangtang.cadre") == {("cadre", "QX0101"), ("bookkeeper", "QX0101")}


def test_another_countys_flows_are_neither_listed_nor_changed(two, client, auth):
    auth.login(BX_ADMIN)
    listing = client.get("/admin/flows").data.decode()
    assert "mini_decision" not in listing and "four_deliberations" not in listing
    assert client.get("/admin/flows/mini_decision").status_code == 404
    assert client.get("/admin/flows/mini_decision/1/diagram.svg").status_code == 404
    assert client.post("/admin/flows/mini_decision/1/retire").status_code == 404
    assert client.post("/admin/flows/mini_decision/1/reinstate").status_code == 404

    refused = upload(client, MINI_V2, "mini_decision.bpmn")
    assert refused.status_code == 403
    assert "清溪县" in refused.data.decode() and 'name="staged"' not in refused.data.decode()

    preview = upload(client, ROAD, "road_repair.bpmn")
    assert preview.status_code == 200 and "白溪县" in preview.data.decode()
    staged = re.search(r'name="staged" value="([0-9a-f]+)"', preview.data.decode()).group(1)
    deployed = client.post("/admin/flows/deploy", data={"staged": staged})
    assert deployed.status_code == 302 and deployed.headers["Location"].endswith("/admin/flows/road_repair")
    assert published(two, "road_repair") == {"BX"}
    assert "road_repair" in client.get("/admin/flows").data.decode()
    assert client.post("/admin/flows/road_repair/1/retire").status_code == 302

    auth.logout()
    auth.login(ADMIN)
    listing = client.get("/admin/flows").data.decode()
    assert "mini_decision" in listing and "road_repair" not in listing and "清溪县" in listing
    assert client.get("/admin/flows/road_repair").status_code == 404
    assert client.post("/admin/flows/road_repair/1/reinstate").status_code == 404


def test_a_shared_flow_is_retired_only_by_the_operator(two, client, auth):
    from engine.definitions import deploy as definitions
    from engine.persistence.models import DefinitionVersion

    with two() as session, session.begin():
        definitions.publish(session, "four_deliberations", ["BX"], None)
    auth.login(ADMIN)
    page = client.get("/admin/flows/four_deliberations").data.decode()
    assert "白溪县" in page and "/retire" not in page
    answer = client.post("/admin/flows/four_deliberations/1/retire", follow_redirects=True)
    assert "白溪县" in answer.data.decode()
    with two() as session:
        assert not session.query(DefinitionVersion).filter_by(key="four_deliberations").one().retired


def test_the_api_answers_by_county(two, client):
    from engine.workspace import tokens

    with two() as session, session.begin():
        qx = bearer(tokens.create(session, ADMIN, "test", None))
        bx = bearer(tokens.create(session, BX_ADMIN, "test", None))

    assert client.get("/api/v1/definitions", headers=bx).get_json() == []
    assert client.get("/api/v1/definitions/mini_decision", headers=bx).status_code == 404
    assert client.post("/api/v1/definitions/mini_decision/versions/1/retire", headers=bx).status_code == 404
    refused = client.post(
        "/api/v1/definitions",
        headers=bx,
        content_type="multipart/form-data",
        data={"files": flow_files(MINI_V2, "mini_decision.bpmn"), "deploy": "true"},
    )
    assert refused.status_code == 403 and "清溪县" in refused.get_json()["error"]["message"]
    deployed = client.post(
        "/api/v1/definitions",
        headers=bx,
        content_type="multipart/form-data",
        data={"files": flow_files(ROAD, "road_repair.bpmn"), "deploy": "true"},
    )
    assert deployed.get_json()["deployed"] == {"key": "road_repair", "version": 1, "created": True}
    assert [d["key"] for d in client.get("/api/v1/definitions", headers=bx).get_json()] == ["road_repair"]

    listed = client.get("/api/v1/definitions", headers=qx).get_json()
    assert {d["key"] for d in listed} == {"mini_decision", "four_deliberations"}
    assert all(d["counties"] == ["清溪县"] for d in listed)
    assert client.get("/api/v1/definitions/road_repair", headers=qx).status_code == 404
    assert client.post("/api/v1/definitions/road_repair/versions/1/retire", headers=qx).status_code == 404
    assert client.post("/api/v1/definitions/mini_decision/versions/1/retire", headers=qx).status_code == 200
