"""One trusted path: what was seen to slip through one entry point is refused on every one.

Each test reproduces a way round a rule (through the API, the command line or a page) and checks
the same command refuses it everywhere, naming the field, with nothing written.
"""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from engine import api
from engine.persistence.models import HistoryEvent, OpenTask
from tests.conftest import ROOT
from tests.support import files
from tests.support.files import PDF
from tests.support.matters import cited_data, example, history_length, open_steps
from tests.web.conftest import SECRETARY

FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
RECTIFICATION = ROOT / "processes" / "rectification" / "rectification.bpmn"
FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
CADRE = "shangtang.cadre"
CHAIR = "shangtang.chair"
SUPERVISOR = "shangtang.supervisor"
AUDITOR = "county.auditor"


def step_data(path, step: str) -> dict:
    return dict(next(s.data for s in path.steps if s.step == step))


@pytest.fixture
def tokens(demo_world):
    from engine.workspace import tokens as api_tokens

    with demo_world() as session, session.begin():
        api.deploy_file(session, FUND)
        api.deploy_file(session, RECTIFICATION)
        return {u: api_tokens.create(session, u, "test", None) for u in (CADRE, CHAIR, SUPERVISOR, AUDITOR, SECRETARY)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def to_finance_signoff(demo_world) -> tuple[int, str]:
    """A 80,000-yuan voucher, entered by the village cadre; the chair's sign-off is open."""
    path = example(FUND, "tier4_town_leader")
    with demo_world() as session, session.begin():
        instance_id = api.start(session, "fund_payment", "QX0101", CADRE, {}, "路灯").instance_id
    voucher = open_steps(demo_world, instance_id)[0]
    data = cited_data(demo_world, path, "voucher", "QX0101")
    with demo_world() as session, session.begin():
        files.complete(session, voucher.id, CADRE, data)
    (signoff,) = open_steps(demo_world, instance_id)
    assert signoff.step_id == "finance_signoff"
    return instance_id, signoff.id


def test_form_data_cannot_overwrite_the_amount_the_gateways_route_on(demo_world, client, tokens):
    instance_id, signoff = to_finance_signoff(demo_world)
    before = history_length(demo_world, instance_id)
    path = example(FUND, "tier4_town_leader")
    forged = dict(step_data(path, "finance_signoff"), amount_fen=100)
    answer = client.post(f"/api/v1/tasks/{signoff}/complete", headers=bearer(tokens[CHAIR]), json={"data": forged})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "form.invalid" and [f["field"] for f in error["fields"]] == ["amount_fen"]
    assert history_length(demo_world, instance_id) == before and [
        t.id for t in open_steps(demo_world, instance_id)
    ] == [signoff]

    answer = client.post(
        f"/api/v1/tasks/{signoff}/complete",
        headers=bearer(tokens[CHAIR]),
        json={"data": step_data(path, "finance_signoff")},
    )
    assert answer.status_code == 200, answer.get_json()
    (review,) = open_steps(demo_world, instance_id)
    with demo_world() as session, session.begin():
        files.complete(session, review.id, SUPERVISOR, step_data(path, "supervisory_review"))
    # The amount is still the voucher's: the 两委 meeting cannot be skipped.
    assert [t.step_id for t in open_steps(demo_world, instance_id)] == ["joint_meeting_approval"]


def test_the_cli_refuses_an_undeclared_field_too(demo_world, tokens, cli):
    instance_id, signoff = to_finance_signoff(demo_world)
    forged = dict(step_data(example(FUND, "tier4_town_leader"), "finance_signoff"), amount_fen=100)
    result = cli("complete", signoff, "--as", CHAIR, "--data", json.dumps(forged, ensure_ascii=False))
    assert result.code == 1 and "amount_fen" in result.err
    assert [t.id for t in open_steps(demo_world, instance_id)] == [signoff]


def test_a_rectification_check_cannot_reset_the_count_of_failed_checks(demo_world, client, tokens):
    path = example(RECTIFICATION, "chair_rectifies")
    with demo_world() as session, session.begin():
        instance_id = api.start(session, "rectification", "QX0101", SUPERVISOR, path.start).instance_id
    submit = open_steps(demo_world, instance_id)[0]
    with demo_world() as session, session.begin():
        files.complete(session, submit.id, CHAIR, step_data(path, "submit_committee_chair"))
    (check,) = open_steps(demo_world, instance_id)
    forged = dict(step_data(path, "check"), failed_checks=-100)
    answer = client.post(
        f"/api/v1/tasks/{check.id}/complete", headers=bearer(tokens[SUPERVISOR]), json={"data": forged}
    )
    assert answer.status_code == 400
    assert [f["field"] for f in answer.get_json()["error"]["fields"]] == ["failed_checks"]


def test_start_data_holds_only_the_start_forms_fields(demo_world, client, tokens):
    answer = client.post(
        "/api/v1/matters",
        headers=bearer(tokens[CADRE]),
        json={"key": "fund_payment", "village": "QX0101", "title": "路灯", "data": {"amount_fen": 100}},
    )
    assert answer.status_code == 400
    assert [f["field"] for f in answer.get_json()["error"]["fields"]] == ["amount_fen"]


def test_a_caller_made_attachment_list_is_refused_and_never_recorded(demo_world, client, tokens):
    instance_id, signoff = to_finance_signoff(demo_world)
    before = history_length(demo_world, instance_id)
    forged = dict(
        step_data(example(FUND, "tier4_town_leader"), "finance_signoff"),
        attachments=[{"sha256": "a" * 64, "filename": "联席会议记录（已签字）.jpg", "size": 10, "type": "image/jpeg"}],
    )
    answer = client.post(f"/api/v1/tasks/{signoff}/complete", headers=bearer(tokens[CHAIR]), json={"data": forged})
    assert answer.status_code == 400
    assert [f["field"] for f in answer.get_json()["error"]["fields"]] == ["attachments"]
    assert history_length(demo_world, instance_id) == before


def four_deliberations_at_discuss(demo_world) -> tuple[int, str]:
    """A 四议两公开 matter whose 两委 meeting (discuss) step is open, for the secretary."""
    with demo_world() as session, session.begin():
        instance_id = api.start(session, "four_deliberations", "QX0101", SECRETARY, {}, "村道硬化").instance_id
    propose = open_steps(demo_world, instance_id)[0]
    with demo_world() as session, session.begin():
        files.complete(session, propose.id, SECRETARY, step_data(example(FOUR, "happy"), "propose"))
    (discuss,) = open_steps(demo_world, instance_id)
    assert discuss.step_id == "discuss"
    return instance_id, discuss.id


def test_the_cli_waits_for_an_added_approver_as_the_web_does(demo_world, cli, tmp_path):
    from engine.workspace import operations

    instance_id, discuss = four_deliberations_at_discuss(demo_world)
    with demo_world() as session, session.begin():
        operations.add_approver(session, discuss, SECRETARY, CHAIR, "before", "请主任先把关")
    data = json.dumps(step_data(example(FOUR, "happy"), "discuss"), ensure_ascii=False)
    result = cli("complete", discuss, "--as", SECRETARY, "--data", data)
    assert result.code == 1 and "加签" in result.err
    assert [t.id for t in open_steps(demo_world, instance_id)] == [discuss]


def test_the_cli_asks_for_the_meeting_minutes_the_web_asks_for(demo_world, cli, tmp_path):
    instance_id, discuss = four_deliberations_at_discuss(demo_world)
    data = json.dumps(step_data(example(FOUR, "happy"), "discuss"), ensure_ascii=False)
    refused = cli("complete", discuss, "--as", SECRETARY, "--data", data)
    assert refused.code == 1 and "minutes" in refused.err
    assert [t.id for t in open_steps(demo_world, instance_id)] == [discuss]
    minutes = tmp_path / "会议记录.pdf"
    minutes.write_bytes(PDF)
    slots = required_slot_names(demo_world, discuss)
    attach = [arg for slot in slots for arg in ("--attach", f"{slot}={minutes}")]
    done = cli("complete", discuss, "--as", SECRETARY, "--data", data, *attach)
    assert done.code == 0, done.err
    with demo_world() as session:
        event = session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.step_id == "discuss")
        ).first()
    recorded = json.loads(event.data)["form"]["attachments"]
    assert {a["name"] for a in recorded} == set(slots) and all(a["filename"] == "会议记录.pdf" for a in recorded)


def required_slot_names(demo_world, task_id: str) -> list[str]:
    from engine.persistence.models import Matter
    from engine.runtime import forms
    from engine.runtime.loaded import loaded

    with demo_world() as session:
        row = session.get(OpenTask, task_id)
        definition = loaded(session.get(Matter, row.instance_id).definition)
        schema, _ = definition.form(definition.step(row.step_id))
        return [s["name"] for s in forms.form_spec(schema).attachments if s["required"]]


def test_the_county_auditor_reads_but_changes_nothing(demo_world, client, tokens, auth):
    instance_id, discuss = four_deliberations_at_discuss(demo_world)
    auditor = bearer(tokens[AUDITOR])
    assert client.get(f"/api/v1/matters/{instance_id}", headers=auditor).status_code == 200
    started = client.post(
        "/api/v1/matters", headers=auditor, json={"key": "four_deliberations", "village": "QX0101", "title": "审计发起"}
    )
    assert started.status_code == 403
    assert (
        client.post(f"/api/v1/matters/{instance_id}/withdraw", headers=auditor, json={"reason": "试试撤回"}).status_code
        == 403
    )
    copied = client.post(f"/api/v1/matters/{instance_id}/copy", headers=auditor, json={"to": [SUPERVISOR]})
    assert copied.status_code == 403
    assert client.post(f"/api/v1/tasks/{discuss}/remind", headers=auditor, json={}).status_code == 403
    upload = client.post("/api/v1/attachments", headers=auditor, data={"file": (io.BytesIO(PDF), "x.pdf")})
    assert upload.status_code == 403
    before = history_length(demo_world, instance_id)
    auth.login(AUDITOR)
    page = client.post("/start/four_deliberations", data={"title": "审计发起", "village": "QX0101"})
    assert page.status_code == 403
    assert history_length(demo_world, instance_id) == before


def test_someone_whose_roles_were_revoked_decides_no_added_approval(demo_world, client, tokens):
    from engine.workspace import operations, people

    instance_id, discuss = four_deliberations_at_discuss(demo_world)
    with demo_world() as session, session.begin():
        operations.add_approver(session, discuss, SECRETARY, CADRE, "before", "请村干部先把关")
        people.revoke_role(session, None, CADRE, "cadre", "QX0101")
    with demo_world() as session:
        from engine.workspace.models import AddedApproval

        approval = session.scalar(select(AddedApproval.id).where(AddedApproval.task_id == discuss))
    before = history_length(demo_world, instance_id)
    answer = client.post(
        f"/api/v1/approvals/{approval}/decide", headers=bearer(tokens[CADRE]), json={"agree": True, "comment": "同意"}
    )
    assert answer.status_code in (403, 404)
    assert history_length(demo_world, instance_id) == before


def test_api_errors_carry_a_stable_code_and_speak_the_clients_language(demo_world, client, tokens):
    instance_id, signoff = to_finance_signoff(demo_world)
    data = {"data": step_data(example(FUND, "tier4_town_leader"), "finance_signoff")}
    url = f"/api/v1/tasks/{signoff}/complete"
    chinese = client.post(url, headers=bearer(tokens[CADRE]), json=data).get_json()["error"]
    english = client.post(url, headers={**bearer(tokens[CADRE]), "Accept-Language": "en"}, json=data).get_json()[
        "error"
    ]
    assert chinese["code"] == english["code"] == "task.not_holder"
    assert "committee_chair" in chinese["message"] and "村主任审核签字" in chinese["message"]
    assert english["message"].startswith(f"{CADRE} may not do") and not any(
        "\u4e00" <= c <= "\u9fff" for c in english["message"][:20]
    )
