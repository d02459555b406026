"""Schemathesis over the OpenAPI document: whatever a client sends, /api/v1 answers without a 5xx,
and every 4xx carries the documented error body ``{"error": {"code", "message", ...}}``.

Requests carry real bearer tokens (a village cadre, a county auditor, the administrator), and path
ids are often those of a real matter, step and added approval, so requests reach the views instead of
stopping at authentication or 404. Derandomized, no example database: every run sends the same requests.
"""

from __future__ import annotations

import json
import logging

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import MINI

SECRETARY = "shangtang.secretary"
CHAIR = "shangtang.chair"
USERS = (SECRETARY, "county.auditor", "admin")
EXAMPLES = 6


@pytest.fixture
def fuzz_world(demo_org):
    """The demo county with the mini flow, one matter waiting at its vote and an added approval."""
    from engine import api
    from engine.workspace import operations, tokens

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
        started = operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, "修缮村道")
        proposal = {"subject": "修缮村道", "amount_fen": 500000}
        voted = operations.complete(session, started.opened[0]["id"], SECRETARY, proposal)
        task = voted.opened[0]["id"]
        operations.add_approver(session, task, CHAIR, SECRETARY, "before", "请书记先看一下")
        ids = {
            "task_id": task,
            "instance_id": started.instance_id,
            "approval_id": operations.pending_approvals(session, task)[0].id,
            "key": "mini_decision",
            "version": 1,
            "village": "QX0101",
            "violation_id": 1,
            "action": "ack",
            "document_id": 1,
        }
        headers = {u: {"Authorization": f"Bearer {tokens.create(session, u, 'fuzz', None)}"} for u in USERS}
    return ids, headers


@pytest.fixture
def app(fuzz_world, db_url, tmp_path):
    from tests.support.webapp import served

    yield from served(db_url, tmp_path)


def _check_answer(case, response) -> None:
    where = f"{case.method} {case.formatted_path} as {case.headers and case.headers.get('Authorization', '')[:14]}"
    text = response.content.decode("utf-8", "replace")[:500]
    assert response.status_code < 500, f"{where}: {response.status_code} {text}"
    if response.status_code >= 400:
        kind = (response.headers.get("content-type") or [""])[0]
        assert kind.startswith("application/json"), f"{where}: {response.status_code} {kind}"
        error = json.loads(response.content).get("error")
        assert isinstance(error, dict), f"{where}: {text}"
        assert isinstance(error.get("code"), str) and error["code"], f"{where}: {error}"
        assert isinstance(error.get("message"), str) and error["message"], f"{where}: {error}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_fuzz_the_api_answers_without_5xx_and_with_the_error_body(app, fuzz_world, mode, caplog):
    ids, headers = fuzz_world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    unexpected: list[str] = []

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # a failure names its request; shrinking it costs minutes
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), user=st.sampled_from(USERS), real=st.booleans())
        def request(case, user, real):
            if real and case.path_parameters:
                case.path_parameters = {k: ids.get(k, v) for k, v in case.path_parameters.items()}
            case.headers = {**(case.headers or {}), **headers[user]}
            caplog.clear()
            with caplog.at_level(logging.ERROR):
                response = case.call()
            _check_answer(case, response)
            unexpected.extend(r.getMessage() for r in caplog.records if r.exc_info)

        request()
    assert not unexpected, unexpected


def test_the_openapi_document_is_valid_openapi_3_0():
    """Clients generate code from the document: it must pass the OpenAPI 3.0 meta-schema (a
    ``"type": [...]`` list is 3.1 only; 3.0 says ``nullable``)."""
    from web.api.openapi import document

    schemathesis.openapi.from_dict(document()).validate()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_operation_but_the_document_refuses_a_missing_or_forged_token(app, fuzz_world):
    """The fuzz above always sends a real token; here every documented operation, with real ids,
    is sent without one and with a forged one."""
    from web.api.openapi import document

    ids, _headers = fuzz_world
    client = app.test_client()
    for path, item in document()["paths"].items():
        url = "/api/v1" + path.format(**ids, sha256="0" * 64)
        for method, operation in item.items():
            for headers in ({}, {"Authorization": "Bearer plt_forged"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
                answer = client.open(url, method=method.upper(), headers=headers, json={})
                if operation["security"] == []:
                    assert answer.status_code == 200, url
                    continue
                assert answer.status_code == 401, (method, url, headers, answer.status_code)
                assert answer.headers["WWW-Authenticate"].startswith("Bearer")
                assert answer.get_json()["error"]["code"] == "Unauthorized"
