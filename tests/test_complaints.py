"""码上举报 kept confidential, in the engine: who sees a report, who reads the reporter's contact,
what the history keeps of it, where a report about the supervisory committee goes, and the rate
limit counting IPv6 senders by their /64 network."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from tests.conftest import ROOT

COMPLAINT = ROOT / "processes" / "complaint" / "complaint.bpmn"
PHONE = "13812345678"
WHAT = "村道刚修好就裂了，怀疑偷工减料"
WHERE = "村东头新修的村道"
ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SUPERVISOR = "shangtang.supervisor"  # 上塘村 (QX0101) 村务监督委员会成员
TOWN_DISCIPLINE = "dongxi.discipline"  # 东溪镇 (QX01) 纪委
COUNTY_DISCIPLINE = "county.discipline"
AUDITOR = "county.auditor"
VILLAGE_CADRES = ("shangtang.secretary", "shangtang.chair", "shangtang.bookkeeper", "shangtang.cadre")
OUTSIDERS = ("xiatang.supervisor", "xiling.discipline", "lingtou.secretary")
HANDLE_TOWN = {
    "handlers": ["镇纪委甲", "镇纪委乙"],
    "investigation": "调取验收记录并约谈当事人",
    "finding": "partly_substantiated",
    "measures": "责令整改并通报批评",
    "handled_on": "2025-03-25",
    "case_no": "XS-2025-001",
    "escalate_to_county": False,
    "escalation_reason": "",
}


@pytest.fixture
def county(demo_org):
    """The demo county with the complaint flow deployed; returns the sessionmaker."""
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, COMPLAINT, "admin")
    return demo_org


def report(sessions, about: str | None = "cadres", phone: str = PHONE, anonymous: bool = False,
           address: str = "10.0.0.1") -> int:
    """Send a 码上举报 for 上塘村; the id of the complaint matter it started."""
    from engine.public import reports
    from engine.public.models import PublicReceipt

    with sessions() as session, session.begin():
        result = reports.submit(session, "QX0101", reports.cleaned(WHAT, WHERE, phone, anonymous, about), address)
    assert result.receipt, result
    with sessions() as session:
        return session.scalar(select(PublicReceipt.instance_id).where(PublicReceipt.code == result.receipt))


def contact_as(sessions, username: str, instance_id: int) -> str | None:
    from engine.public import complaints

    with sessions() as session:
        return complaints.reporter_contact(session, username, instance_id)


def audit(sessions, action: str) -> list[tuple[str, str]]:
    from engine.persistence.models import AuditLog

    with sessions() as session:
        return [(row.actor, row.subject) for row in session.scalars(select(AuditLog).where(AuditLog.action == action))]


def open_steps(sessions, instance_id: int) -> list[tuple[str, str, str]]:
    from engine.persistence.models import OpenTask, OrgUnit

    with sessions() as session:
        rows = session.execute(
            select(OpenTask.step_id, OpenTask.role, OrgUnit.code)
            .join(OrgUnit, OrgUnit.id == OpenTask.org_unit_id)
            .where(OpenTask.instance_id == instance_id)
        )
        return [tuple(row) for row in rows]


def test_the_history_keeps_only_a_salted_digest_of_the_contact(county):
    from engine import api, queries
    from engine.public import complaints
    from engine.public.models import ComplaintContact

    first, second = report(county), report(county)
    with county() as session:
        for matter in (first, second):
            assert PHONE not in json.dumps(queries.history(session, matter), ensure_ascii=False)
            assert api.verify_history(session, matter).ok
        started = complaints.start_data(session, first)
        kept = session.get(ComplaintContact, first)
        assert kept.contact == PHONE and len(kept.salt) == 32
        assert started["has_contact"] is True and started["about"] == "cadres"
        assert started["reporter_contact"] == complaints.digest(PHONE, kept.salt)
        assert started["reporter_contact"] != "hmac-sha256:" + hashlib.sha256(PHONE.encode()).hexdigest()
        assert complaints.start_data(session, second)["reporter_contact"] != started["reporter_contact"]
        assert complaints.contact_matches_record(session, first) is True

    with county() as session, session.begin():
        session.get(ComplaintContact, first).contact = "13900000000"
    with county() as session:
        assert complaints.contact_matches_record(session, first) is False


def test_only_the_reply_steps_holders_read_the_contact_and_every_read_is_logged(county):
    from engine import policy
    from engine.errors import NotFound, PermissionDenied
    from engine.persistence.models import ProcessInstance

    matter = report(county)
    for reader in (SUPERVISOR, TOWN_DISCIPLINE, COUNTY_DISCIPLINE):
        assert contact_as(county, reader, matter) == PHONE, reader
    assert audit(county, "reporter_contact_read") == [
        (SUPERVISOR, f"matter {matter}"),
        (TOWN_DISCIPLINE, f"matter {matter}"),
        (COUNTY_DISCIPLINE, f"matter {matter}"),
    ]

    with pytest.raises(PermissionDenied):
        contact_as(county, AUDITOR, matter)
    assert audit(county, "reporter_contact_refused") == [(AUDITOR, f"matter {matter}")]
    for stranger in (*VILLAGE_CADRES, *OUTSIDERS):
        with pytest.raises(NotFound):
            contact_as(county, stranger, matter)
        with county() as session:
            assert not policy.may(session, stranger, "matter.read", session.get(ProcessInstance, matter)), stranger
    assert len(audit(county, "reporter_contact_read")) == 3


def test_an_anonymous_report_keeps_no_contact(county):
    from engine.public import complaints
    from engine.public.models import ComplaintContact

    matter = report(county, phone="", anonymous=True, about="other")
    with county() as session:
        assert session.get(ComplaintContact, matter) is None
        started = complaints.start_data(session, matter)
        assert started["anonymous"] is True and started["has_contact"] is False and not started.get("reporter_contact")
        assert complaints.contact_matches_record(session, matter) is None
    assert contact_as(county, SUPERVISOR, matter) is None
    assert audit(county, "reporter_contact_read") == []


@ONLY_SQLITE
def test_the_conflict_check_is_registered_at_start_up_and_reads_whom_the_report_is_about(county):
    """Someone who sits on the supervisory committee and also holds a cadre's role in the village
    sees a report about other things, but neither one about the cadres nor one about the committee."""
    from engine import builtin, policy
    from engine.errors import NotFound
    from engine.org.service import get_user, get_village, grant
    from engine.persistence.models import ProcessInstance

    builtin.load()
    with county() as session, session.begin():
        grant(session, get_user(session, SUPERVISOR), "bookkeeper", get_village(session, "QX0101"))
    about_cadres, about_committee, about_other = (report(county, about=a) for a in ("cadres", "supervisors", "other"))
    unsaid = report(county, about=None)  # a page without the question: read as about the cadres

    with county() as session:
        matters = [session.get(ProcessInstance, m) for m in (about_cadres, about_committee, about_other, unsaid)]
        assert [policy.may(session, SUPERVISOR, "matter.read", m) for m in matters] == [False, False, True, False]
        assert all(policy.may(session, TOWN_DISCIPLINE, "matter.read", m) for m in matters)
    with pytest.raises(NotFound):
        contact_as(county, SUPERVISOR, about_cadres)
    assert contact_as(county, SUPERVISOR, about_other) == PHONE


def test_a_report_about_the_supervisory_committee_goes_to_the_town_which_replies(county, tmp_path):
    from engine import api
    from engine.errors import NotFound
    from engine.persistence.models import OpenTask
    from engine.public import complaints
    from engine.workspace import attachments
    from tests.web.conftest import png_bytes

    matter = report(county, about="supervisors")
    assert open_steps(county, matter) == [("handle_town", "town_discipline", "QX01")]
    with pytest.raises(NotFound):
        contact_as(county, SUPERVISOR, matter)  # the committee the report is about does not see it

    with county() as session, session.begin():
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == matter))
        record = attachments.store_upload(session, tmp_path, png_bytes(), "核查记录.png", TOWN_DISCIPLINE)
        api.complete(session, task.id, TOWN_DISCIPLINE, HANDLE_TOWN, {"investigation_record": [record.id]})
    assert open_steps(county, matter) == [("reply_reporter_town", "town_discipline", "QX01")]
    with county() as session:
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == matter))
        assert complaints.contact_for_task(session, TOWN_DISCIPLINE, task) == PHONE
        assert complaints.contact_for_task(session, SUPERVISOR, task) is None

    ordinary = report(county, about="other")
    assert open_steps(county, ordinary) == [("triage", "supervisory_member", "QX0101")]


@ONLY_SQLITE
def test_the_start_data_of_a_complaint_holds_no_phone_number(county):
    from engine import api
    from engine.errors import FormInvalid

    start = {
        "channel": "phone",
        "received_on": "2025-03-01",
        "about": "other",
        "content": WHAT,
        "location": WHERE,
        "anonymous": False,
        "has_contact": True,
    }
    for wrong, field in (({"reporter_contact": PHONE}, "reporter_contact"), ({"phone": PHONE}, "phone")):
        with pytest.raises(FormInvalid) as refused, county() as session, session.begin():
            api.start(session, "complaint", "QX0101", SUPERVISOR, {**start, **wrong})
        assert field in [e.field for e in refused.value.errors]
    with county() as session, session.begin():
        started = api.start(session, "complaint", "QX0101", SUPERVISOR, start, "电话反映村道质量")
    assert open_steps(county, started.instance_id) == [("triage", "supervisory_member", "QX0101")]


@ONLY_SQLITE
def test_whom_a_report_concerns_is_a_required_choice(county):
    from engine.public import reports

    assert reports.check(reports.cleaned(WHAT, WHERE, PHONE, False, "nobody")) == {"about": "choice"}
    assert reports.check(reports.cleaned(WHAT, WHERE, PHONE, False, "")) == {"about": "choice"}
    assert reports.cleaned(WHAT, WHERE, PHONE, False, None).about == "cadres"
    with county() as session, session.begin():
        refused = reports.submit(session, "QX0101", reports.cleaned(WHAT, WHERE, PHONE, False, "x"), "10.0.0.9")
    assert refused.errors == {"about": "choice"} and refused.receipt is None


def test_the_sender_counted_is_an_ipv4_address_or_an_ipv6_64(county):
    from engine.public import reports
    from engine.public.models import ReportAttempt

    assert reports.sender("2001:db8:1:2:3:4:5:6") == reports.sender("2001:DB8:1:2::9") == "2001:db8:1:2::/64"
    assert reports.sender("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert reports.sender("10.0.0.1") == reports.sender("::ffff:10.0.0.1") == "10.0.0.1"
    assert reports.sender("10.0.0.2") != reports.sender("10.0.0.1")

    for host in range(1, reports.MAX_REPORTS + 1):
        report(county, address=f"2001:db8:1:2::{host:x}")

    def send(address: str) -> reports.ReportResult:
        with county() as session, session.begin():
            return reports.submit(session, "QX0101", reports.cleaned(WHAT, WHERE, PHONE, False, "other"), address)

    assert send("2001:db8:1:2:ffff:ffff:ffff:ffff").wait_seconds > 0
    assert send("2001:db8:1:3::1").receipt
    for _ in range(reports.MAX_REPORTS):
        assert send("10.0.0.1").receipt
    assert send("10.0.0.1").wait_seconds > 0
    assert send("10.0.0.2").receipt
    with county() as session:
        senders = set(session.scalars(select(ReportAttempt.address)))
    assert senders == {"2001:db8:1:2::/64", "2001:db8:1:3::/64", "10.0.0.1", "10.0.0.2"}
