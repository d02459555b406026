"""码上举报 as its handler meets it: the 登记分流 task shows the report the villager sent (text, place,
channel, date, anonymity) from the start event and does not ask for it again; the reporter's name
and contact are required only of a named report by phone, letter or visit; an anonymous report is
triaged with neither; a start that is anonymous yet holds a contact is refused naming the field;
the reporter's phone shows to nobody but the reply step's holders."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from sqlalchemy import func, select

from tests.conftest import ROOT

COMPLAINT = ROOT / "processes" / "complaint" / "complaint.bpmn"
PHONE = "13812345678"
WHAT = "村道刚修好就裂了，怀疑偷工减料"
WHERE = "村东头新修的村道"
SUPERVISOR = "shangtang.supervisor"  # 上塘村 (QX0101) 村务监督委员会成员
AUDITOR = "county.auditor"
CADRE = "shangtang.secretary"
REPORT_FIELDS = ("channel", "received_on", "anonymous", "content")  # registered once, at the start
TRIAGE = {
    "subject": "村道硬化工程",
    "category": "project",
    "complexity": "general",
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
}
BY_PHONE = {
    "channel": "phone",
    "received_on": "2025-03-03",
    "about": "other",
    "content": "村里低保名单里有村干部的亲戚",
    "location": "村委会",
    "anonymous": False,
    "has_contact": True,
}


@pytest.fixture
def county(demo_org):
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, COMPLAINT, "admin")
    return demo_org


def report(sessions, anonymous: bool = False, about: str = "other") -> int:
    """A 码上举报 for 上塘村 from its public page's engine command; the matter it started."""
    from engine.public import reports
    from engine.public.models import PublicReceipt

    phone = "" if anonymous else PHONE
    with sessions() as session, session.begin():
        result = reports.submit(session, "QX0101", reports.cleaned(WHAT, WHERE, phone, anonymous, about), "10.0.0.7")
    assert result.receipt, result
    with sessions() as session:
        return session.scalar(select(PublicReceipt.instance_id).where(PublicReceipt.code == result.receipt))


def open_task(sessions, matter: int):
    from engine.persistence.models import OpenTask

    with sessions() as session:
        (row,) = session.scalars(select(OpenTask).where(OpenTask.instance_id == matter))
        session.expunge(row)
        return row


def task_data(sessions, matter: int) -> dict:
    """The flow's data on the matter's open step: what its gateways and later steps read."""
    from engine.persistence.models import Matter
    from engine.runtime.steps import Step

    row = open_task(sessions, matter)
    with sessions() as session:
        step = Step.of_matter(session, session.get(Matter, matter), None)
        return dict(step.engine_task(row).data)


def complete(sessions, matter: int, actor: str, data: dict):
    from engine import api

    with sessions() as session, session.begin():
        return api.complete(session, open_task(sessions, matter).id, actor, data)


def handle_village(sessions, matter: int, tmp_path) -> None:
    from engine import api
    from engine.workspace import attachments
    from tests.web.conftest import png_bytes

    with sessions() as session, session.begin():
        record = attachments.store_upload(session, tmp_path, png_bytes(), "核查记录.png", SUPERVISOR)
        files = {"investigation_record": [record.id]}
        api.complete(session, open_task(sessions, matter).id, SUPERVISOR, HANDLE_VILLAGE, files)


def start_facts(view) -> dict[str, str]:
    return {fact.label: fact.text for fact in view.summary.start}


def test_the_triage_task_shows_the_report_and_only_the_reply_step_shows_the_phone(county, tmp_path):
    from engine import clock
    from engine.calendar import CST
    from engine.errors import NotFound, PermissionDenied
    from engine.public import complaints
    from engine.workspace import matter_detail

    matter = report(county, about="cadres")
    task = open_task(county, matter)
    assert task.step_id == "triage"
    today = clock.now().astimezone(CST).date().isoformat()

    data = task_data(county, matter)
    assert (data["content"], data["location"], data["channel"], data["received_on"]) == (WHAT, WHERE, "qr_code", today)
    assert data["anonymous"] is False

    with county() as session:
        view = matter_detail.task(session, SUPERVISOR, task.id)
    facts = start_facts(view)
    assert facts["反映内容"] == WHAT and facts["发生地点"] == WHERE
    assert facts["举报渠道"] == "码上举报" and facts["收到日期"] == today and facts["匿名举报"] == "否"
    assert facts["联系方式"] == "（已保密保存）"
    fields = {f.name: f for f in view.spec.fields}
    assert not set(REPORT_FIELDS) & set(fields), "the triage form asks again for what the villager reported"
    assert not fields["reporter_name"].required and not fields["reporter_contact"].required
    assert PHONE not in json.dumps(view.summary.as_dict(), ensure_ascii=False, default=str)
    assert view.reporter_contact is None and PHONE not in (view.documentation or "")

    complete(county, matter, SUPERVISOR, TRIAGE)  # the handler types nothing of the report
    assert open_task(county, matter).step_id == "handle_village"
    later = task_data(county, matter)
    assert (later["content"], later["location"], later["handling_level"]) == (WHAT, WHERE, "village")

    handle_village(county, matter, tmp_path)
    reply = open_task(county, matter)
    assert reply.step_id == "reply_reporter"
    with county() as session:
        assert matter_detail.task(session, SUPERVISOR, reply.id).reporter_contact == PHONE
        seen = matter_detail.matter(session, AUDITOR, matter)
        assert start_facts(seen)["反映内容"] == WHAT
        assert PHONE not in json.dumps(asdict(seen), ensure_ascii=False, default=str)
        assert complaints.contact_for_task(session, AUDITOR, reply) is None
        with pytest.raises(PermissionDenied):
            matter_detail.task(session, AUDITOR, reply.id)
        with pytest.raises(NotFound):
            matter_detail.matter(session, CADRE, matter)  # a report about the village's cadres: they see nothing


def test_an_anonymous_report_is_triaged_with_no_reporter_and_handled(county, tmp_path):
    from engine import queries

    matter = report(county, anonymous=True)
    assert task_data(county, matter)["anonymous"] is True
    complete(county, matter, SUPERVISOR, {**TRIAGE, "reporter_name": "", "reporter_contact": ""})
    assert open_task(county, matter).step_id == "handle_village"
    handle_village(county, matter, tmp_path)
    assert open_task(county, matter).step_id == "reply_reporter"
    with county() as session:
        triaged = next(e for e in queries.history(session, matter) if e.step == "triage")
    assert "reporter_name" not in triaged.data["form"], "an empty answer is kept as a name"


def test_a_named_report_by_phone_needs_its_reporter_and_an_anonymous_one_none(county):
    from engine import api
    from engine.errors import FormInvalid
    from engine.messages import CATALOGUE
    from engine.persistence.models import Matter
    from engine.public import complaints

    with county() as session, session.begin():
        named = api.start(session, "complaint", "QX0101", SUPERVISOR, BY_PHONE, "电话反映低保评定").instance_id
        anonymous = api.start(
            session,
            "complaint",
            "QX0101",
            SUPERVISOR,
            {**BY_PHONE, "anonymous": True, "has_contact": False},
            "匿名电话",
        ).instance_id

    for given, missing, words in (
        ({"reporter_name": "村民乙"}, "reporter_contact", "联系方式"),
        ({"reporter_name": "村民乙", "reporter_contact": " "}, "reporter_contact", "联系方式"),
        ({"reporter_contact": "13900001111"}, "reporter_name", "举报人姓名"),
    ):
        with pytest.raises(FormInvalid) as refused:
            complete(county, named, SUPERVISOR, {**TRIAGE, **given})
        assert [(e.field, words in e.message) for e in refused.value.errors] == [(missing, True)]
    assert open_task(county, named).step_id == "triage"
    complete(county, named, SUPERVISOR, {**TRIAGE, "reporter_name": "村民乙", "reporter_contact": "13900001111"})
    assert open_task(county, named).step_id == "handle_village"

    complete(county, anonymous, SUPERVISOR, TRIAGE)
    assert open_task(county, anonymous).step_id == "handle_village"

    # A start that is anonymous yet holds a contact is refused naming the field, never kept nor dropped.
    digest = complaints.digest(PHONE, complaints.new_salt())
    unnamed = {**BY_PHONE, "channel": "qr_code", "anonymous": True, "has_contact": False}
    for wrong, field, code in (
        ({"has_contact": True}, "has_contact", "form.invalid"),
        ({"reporter_contact": digest}, "reporter_contact", complaints.ANONYMOUS_CONTACT),
        ({"has_contact": True, "reporter_contact": digest}, "has_contact", "form.invalid"),
    ):
        with pytest.raises(FormInvalid) as refused, county() as session, session.begin():
            api.start(session, "complaint", "QX0101", SUPERVISOR, {**unnamed, **wrong}, "匿名举报")
        assert refused.value.code == code and refused.value.field == field
        assert "匿名举报不能留联系方式" in refused.value.errors[0].message
    assert complaints.ANONYMOUS_CONTACT in CATALOGUE
    with county() as session:
        assert session.scalar(select(func.count()).select_from(Matter)) == 2  # the two above
