"""码上举报 kept confidential, through the pages, the API and the command line: a report about the
village's cadres does not exist for them, its reporter's phone number is in no history and shows
only on the reply step, a report about the supervisory committee starts at the town, and the
report limit counts an IPv6 sender by its /64 network."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.web.conftest import ADMIN, png_bytes

COMPLAINT = ROOT / "processes" / "complaint" / "complaint.bpmn"
REPORT = "/public/villages/QX0101/report"
WHAT = "书记把村道工程包给了自己的亲戚"
WHERE = "村东头新修的村道"
PHONE = "13812345678"
ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SUPERVISOR = "shangtang.supervisor"
TOWN_DISCIPLINE = "dongxi.discipline"
COUNTY_DISCIPLINE = "county.discipline"
AUDITOR = "county.auditor"
READERS = (SUPERVISOR, TOWN_DISCIPLINE, COUNTY_DISCIPLINE, AUDITOR)
VILLAGE_CADRES = ("shangtang.secretary", "shangtang.cadre", "shangtang.bookkeeper", "shangtang.chair")
TRIAGE = {
    "reporter_name": "",
    "reporter_contact": "",
    "subject": "村道硬化工程",
    "category": "project",
    "handling_level": "village",
    "triage_reason": "一般问题，由村务监督委员会核查",
}
HANDLE_VILLAGE = {
    "handlers": ["王监委", "周监委"],
    "investigation": "现场查看并查阅合同",
    "finding": "partly_substantiated",
    "measures": "责令施工方返工",
    "handled_on": "2025-03-10",
    "escalate_to_town": False,
    "escalation_reason": "",
}


@pytest.fixture
def complaints_app(demo_world):
    from engine import api
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        api.deploy_file(session, COMPLAINT, ADMIN)
        issued = {u: tokens.create(session, u, "test", None) for u in (*READERS, *VILLAGE_CADRES)}
    return issued


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(client, address: str = "10.0.0.1", **fields: str):
    data = {"what": WHAT, "where": WHERE, "phone": PHONE, "about": "cadres", **fields}
    return client.post(REPORT, data=data, environ_base={"REMOTE_ADDR": address})


def reported(client, demo_world, **fields: str) -> int:
    """Send a report from the public page; the id of the complaint matter it started."""
    from engine.public.models import PublicReceipt
    from engine.public.receipts import normalize

    answer = send(client, **fields)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    code = normalize(answer.headers["Location"].rsplit("/", 1)[1])
    with demo_world() as session:
        return session.scalar(select(PublicReceipt.instance_id).where(PublicReceipt.code == code))


def open_task(demo_world, matter: int):
    from engine.persistence.models import OpenTask

    with demo_world() as session:
        return session.scalar(select(OpenTask).where(OpenTask.instance_id == matter))


def page_as(client, auth, username: str, path: str):
    auth.logout()
    assert auth.login(username).status_code == 302, username
    return client.get(path)


def complete(demo_world, matter: int, step: str, username: str, data: dict, tmp_path, slot: str | None = None) -> None:
    from engine import api
    from engine.workspace import attachments

    task = open_task(demo_world, matter)
    assert task.step_id == step
    with demo_world() as session, session.begin():
        files = {}
        if slot:
            files[slot] = [attachments.store_upload(session, tmp_path, png_bytes(), "核查记录.png", username).id]
        api.complete(session, task.id, username, data, files)


@pytest.mark.parametrize("db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_the_village_cadres_never_see_a_report_about_them(client, auth, demo_world, complaints_app):
    matter = reported(client, demo_world)
    paths = (f"/matters/{matter}", f"/matters/{matter}/diagram.svg")
    for cadre in VILLAGE_CADRES:
        for path in paths:
            assert page_as(client, auth, cadre, path).status_code == 404, (cadre, path)
        inbox = page_as(client, auth, cadre, "/").get_data(as_text=True)
        assert WHERE not in inbox and PHONE not in inbox, cadre
        me = bearer(complaints_app[cadre])
        for path in (f"/api/v1/matters/{matter}", f"/api/v1/matters/{matter}/history"):
            answer = client.get(path, headers=me)
            assert answer.status_code == 404 and PHONE not in answer.get_data(as_text=True), (cadre, path)
        tasks = client.get("/api/v1/tasks", headers=me).get_data(as_text=True)
        assert WHERE not in tasks, cadre

    for reader in READERS:
        page = page_as(client, auth, reader, f"/matters/{matter}")
        assert page.status_code == 200, reader
        assert PHONE not in page.get_data(as_text=True), reader
        history = client.get(f"/api/v1/matters/{matter}/history", headers=bearer(complaints_app[reader]))
        assert history.status_code == 200 and PHONE not in history.get_data(as_text=True), reader
        started = history.get_json()[0]["data"]["data"]
        assert started["about"] == "cadres" and started["has_contact"] is True
        assert re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", started["reporter_contact"])


@ONLY_SQLITE
def test_only_the_reply_step_shows_the_phone_number_and_each_showing_is_logged(
    client, auth, demo_world, complaints_app, tmp_path
):
    from engine.persistence.models import AuditLog

    matter = reported(client, demo_world)
    triage = open_task(demo_world, matter)
    page = page_as(client, auth, SUPERVISOR, f"/tasks/{triage.id}")
    assert page.status_code == 200 and PHONE not in page.get_data(as_text=True)
    api_task = client.get(f"/api/v1/tasks/{triage.id}", headers=bearer(complaints_app[SUPERVISOR])).get_json()
    assert api_task["reporter_contact"] is None

    complete(demo_world, matter, "triage", SUPERVISOR, TRIAGE, tmp_path)
    complete(demo_world, matter, "handle_village", SUPERVISOR, HANDLE_VILLAGE, tmp_path, "investigation_record")
    reply = open_task(demo_world, matter)
    assert reply.step_id == "reply_reporter"

    page = page_as(client, auth, SUPERVISOR, f"/tasks/{reply.id}")
    assert page.status_code == 200 and PHONE in page.get_data(as_text=True)
    api_task = client.get(f"/api/v1/tasks/{reply.id}", headers=bearer(complaints_app[SUPERVISOR])).get_json()
    assert api_task["reporter_contact"] == PHONE
    for reader in (TOWN_DISCIPLINE, COUNTY_DISCIPLINE, AUDITOR):
        matter_page = page_as(client, auth, reader, f"/matters/{matter}")
        assert matter_page.status_code == 200 and PHONE not in matter_page.get_data(as_text=True), reader
        assert page_as(client, auth, reader, f"/tasks/{reply.id}").status_code == 403, reader
        assert PHONE not in client.get(f"/api/v1/tasks/{reply.id}", headers=bearer(complaints_app[reader])).get_data(
            as_text=True
        ), reader
    for path in (f"/matters/{matter}", f"/api/v1/matters/{matter}/history"):
        assert PHONE not in page_as(client, auth, SUPERVISOR, path).get_data(as_text=True), path

    with demo_world() as session:
        reads = session.scalars(select(AuditLog).where(AuditLog.action == "reporter_contact_read")).all()
    assert [(r.actor, r.detail["instance"]) for r in reads] == [(SUPERVISOR, matter), (SUPERVISOR, matter)]


@ONLY_SQLITE
def test_a_report_about_the_supervisory_committee_opens_at_the_town(client, auth, demo_world, complaints_app):
    from engine.persistence.models import OrgUnit

    matter = reported(client, demo_world, about="supervisors")
    task = open_task(demo_world, matter)
    with demo_world() as session:
        unit = session.get(OrgUnit, task.org_unit_id)
    assert (task.step_id, task.role, unit.code) == ("handle_town", "town_discipline", "QX01")
    page = page_as(client, auth, TOWN_DISCIPLINE, f"/tasks/{task.id}")
    assert page.status_code == 200 and "镇纪委办理" in page.get_data(as_text=True)
    assert page_as(client, auth, SUPERVISOR, f"/tasks/{task.id}").status_code == 404  # it is about them
    for cadre in VILLAGE_CADRES:
        assert page_as(client, auth, cadre, f"/matters/{matter}").status_code == 404, cadre


@ONLY_SQLITE
def test_the_report_form_asks_whom_the_report_is_about(client, demo_world, complaints_app):
    text = client.get(REPORT).get_data(as_text=True)
    assert "反映谁的问题" in text
    choices = (("cadres", "村干部（书记、主任、会计等）"), ("supervisors", "村务监督委员会"), ("other", "其他人或事"))
    for value, label in choices:
        assert re.search(rf'<input type="radio" name="about" value="{value}" required\s*>\s*{re.escape(label)}', text)
    refused = send(client, about="somebody")
    assert refused.status_code == 400 and "请选择反映的是谁的问题" in refused.get_data(as_text=True)
    client.get("/lang/en")
    english = client.get(REPORT).get_data(as_text=True)
    assert "Whom is it about" in english and "Someone or something else" in english


@ONLY_SQLITE
def test_an_ipv6_sender_is_counted_by_its_64_network(client, demo_world, complaints_app):
    from engine.public.reports import MAX_REPORTS

    for host in range(1, MAX_REPORTS + 1):
        assert send(client, address=f"2001:db8:77:1:{host:x}::1").status_code == 302, host
    limited = send(client, address="2001:db8:77:1:ffff:ffff:ffff:fffe")
    assert limited.status_code == 429 and "提交太频繁了" in limited.get_data(as_text=True)
    assert send(client, address="2001:db8:77:2::1").status_code == 302
    assert send(client, address="10.0.0.7").status_code == 302


@ONLY_SQLITE
def test_the_history_command_shows_a_complaint_to_its_readers_only_never_its_phone(
    client, demo_world, cli, complaints_app
):
    matter = reported(client, demo_world)
    assert PHONE not in cli("history", str(matter), "--json", check=True).out
    for cadre in VILLAGE_CADRES:
        done = cli("history", str(matter), "--as", cadre)
        assert done.code == 1, (cadre, done)
        assert WHAT not in done.out + done.err and PHONE not in done.out + done.err, cadre
    for reader in READERS:
        done = cli("history", str(matter), "--as", reader, "--json")
        assert done.code == 0, (reader, done)
        assert PHONE not in done.out and json.loads(done.out)["instance"]["id"] == matter
