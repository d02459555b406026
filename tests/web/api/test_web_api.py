"""The JSON API: tokens, the OpenAPI document, the same actions as the pages, and clear errors."""

from __future__ import annotations

import io
import re

import pytest

from tests.web.conftest import ADMIN, MINI, OTHER_VILLAGE, SECRETARY, png_bytes

PROPOSE = {
    "matter_title": "村道硬化工程",
    "proposal_source": "cadre_proposal",
    "matter_content": "硬化村道两公里，方便村民出行",
    "estimated_amount_fen": 8000000,
    "proposed_on": "2026-01-05",
    "proposer_name": "张三",
    "dual_role": False,
}


@pytest.fixture
def tokens(demo_world):
    from engine.workspace import tokens as api_tokens

    with demo_world() as session, session.begin():
        return {
            u: api_tokens.create(session, u, "test", None) for u in (SECRETARY, OTHER_VILLAGE, ADMIN, "shangtang.cadre")
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_route_is_in_the_openapi_document(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_0-9]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} is not in openapi.json"


def test_a_matter_through_the_api(client, tokens):
    me = bearer(tokens[SECRETARY])
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers=bearer("plt_forged")).status_code == 401
    started = client.post(
        "/api/v1/matters",
        headers=me,
        json={"key": "four_deliberations", "village": "QX0101", "title": "村道硬化", "idempotency_key": "api-start-01"},
    )
    assert started.status_code == 201
    matter = started.get_json()["instance"]
    again = client.post(
        "/api/v1/matters",
        headers=me,
        json={"key": "four_deliberations", "village": "QX0101", "title": "村道硬化", "idempotency_key": "api-start-01"},
    )
    assert again.get_json()["repeated"] and again.get_json()["instance"] == matter
    refused = client.post(
        "/api/v1/matters",
        headers=bearer(tokens[OTHER_VILLAGE]),
        json={"key": "four_deliberations", "village": "QX0101", "title": "别村的事"},
    )
    assert refused.status_code == 403

    task = next(t for t in client.get("/api/v1/tasks", headers=me).get_json() if t["instance"] == matter)
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=me).get_json()
    assert detail["form"]["properties"]["estimated_amount_fen"]["x-money"] is True

    uploaded = client.post(
        "/api/v1/attachments",
        headers=me,
        data={"file": [(io.BytesIO(png_bytes()), "方案.png")]},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201
    upload = uploaded.get_json()[0]
    assert upload["type"] == "image/png" and len(upload["sha256"]) == 64

    invalid = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=me, json={"data": dict(PROPOSE, estimated_amount_fen="八万")}
    )
    assert invalid.status_code == 400
    assert invalid.get_json()["error"]["fields"][0]["field"] == "estimated_amount_fen"
    body = {"data": PROPOSE, "attachments": {"proposal": [upload["id"]]}, "idempotency_key": "api-done-01"}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=me, json=body)
    assert done.status_code == 200 and done.get_json()["opened"][0]["step"] == "discuss"
    retry = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=me, json=body)
    assert retry.status_code == 200 and retry.get_json()["repeated"]
    closed = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=me, json={"data": PROPOSE})
    assert closed.status_code == 409

    history = client.get(f"/api/v1/matters/{matter}/history", headers=me).get_json()
    completed = next(e for e in history if e["kind"] == "task_completed")
    assert completed["data"]["form"]["attachments"][0]["sha256"] == upload["sha256"]
    file = client.get(f"/api/v1/matters/{matter}/attachments/{upload['sha256']}", headers=me)
    assert file.status_code == 200 and file.data == png_bytes()
    stranger = bearer(tokens[OTHER_VILLAGE])
    assert client.get(f"/api/v1/matters/{matter}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/matters/{matter}/attachments/{upload['sha256']}", headers=stranger).status_code == 404

    discuss = done.get_json()["opened"][0]["id"]
    looker = bearer(tokens["shangtang.cadre"])
    assert (
        client.post(f"/api/v1/tasks/{discuss}/reject", headers=looker, json={"reason": "我不同意"}).status_code == 403
    )
    assert client.post(f"/api/v1/tasks/{discuss}/remind", headers=looker, json={"note": "请尽快"}).status_code == 200
    rejected = client.post(f"/api/v1/tasks/{discuss}/reject", headers=me, json={"reason": "不符合村规划"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "cancelled"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [
        ("post", "/api/v1/matters", {"data": "not json"}, 400, "JSON object"),
        ("post", "/api/v1/matters", {"json": [1, 2]}, 400, "JSON object"),
        ("post", "/api/v1/matters", {"data": "[" * 100000, "content_type": "application/json"}, 400, "JSON object"),
        ("post", "/api/v1/matters", {"json": {"key": 5}}, 400, "key"),
        ("post", "/api/v1/matters", {"json": {"key": "x", "village": "QX0101", "title": "t" * 5000}}, 400, "title"),
        ("post", "/api/v1/matters", {"json": {"key": "nope", "village": "QX0101", "title": "t"}}, 404, "nope"),
        ("post", "/api/v1/matters", {"json": {"key": "mini_decision", "village": "QX01", "title": "t"}}, 400, "QX01"),
        ("post", "/api/v1/tasks/not-a-uuid/complete", {"json": {}}, 404, ""),
        ("post", "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete", {"json": {"data": {}}}, 409, ""),
        ("post", "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete", {"json": {"data": 3}}, 400, "data"),
        (
            "post",
            "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete",
            {"json": {"data": {}, "attachments": {"x": ["1"]}}},
            400,
            "attachments",
        ),
        (
            "post",
            "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete",
            {"json": {"data": {}, "idempotency_key": "bad key!"}},
            400,
            "idempotency_key",
        ),
        ("post", "/api/v1/approvals/1/decide", {"json": {"agree": "yes"}}, 400, "agree"),
        ("post", "/api/v1/matters/999/copy", {"json": {"to": "someone"}}, 400, "to"),
        ("post", "/api/v1/attachments", {"data": {}}, 400, "file"),
        ("get", "/api/v1/matters/999", {}, 404, ""),
        ("post", "/api/v1/definitions", {"data": {}}, 403, ""),
    ],
)
def test_bad_requests_get_clear_answers(client, tokens, method, path, kwargs, status, words):
    answer = getattr(client, method)(path, headers=bearer(tokens[SECRETARY]), **kwargs)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()["error"]
    assert words in error["message"] or words in str(error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_administrators_validate_and_deploy_flows(client, tokens):
    admin = bearer(tokens[ADMIN])
    road = MINI.read_text(encoding="utf-8").replace('id="mini_decision"', 'id="road_repair"')
    forms = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted((MINI.parent / "forms").glob("*.json"))]

    broken = client.post(
        "/api/v1/definitions",
        headers=admin,
        content_type="multipart/form-data",
        data={"files": [(io.BytesIO(road.replace('pl:timeLimit="P3D"', 'pl:timeLimit="soon"').encode()), "road.bpmn")]},
    )
    assert broken.status_code == 400 and broken.get_json()["error"]["problems"]
    deployed = client.post(
        "/api/v1/definitions",
        headers=admin,
        content_type="multipart/form-data",
        data={"files": [(io.BytesIO(road.encode()), "road.bpmn"), *forms], "deploy": "true"},
    )
    assert deployed.status_code == 200, deployed.get_json()
    assert deployed.get_json()["deployed"] == {"key": "road_repair", "version": 1, "created": True}
    assert client.post("/api/v1/definitions/road_repair/versions/1/retire", headers=admin).status_code == 200
