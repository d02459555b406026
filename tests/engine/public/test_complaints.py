"""码上举报 kept confidential, in the engine: who sees a report, who reads the reporter's contact,
what the history keeps of it, where a report about the supervisory committee goes, and the rate
limit counting IPv6 senders by their /64 network."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

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


def report(
    sessions, about: str | None = "cadres", phone: str = PHONE, anonymous: bool = False, address: str = "10.0.0.1"
) -> int:
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
            assert PHONE not in json.dumps([asdict(e) for e in queries.history(session, matter)], ensure_ascii=False)
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
    from engine.persistence.models import Matter

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
            assert not policy.may(session, stranger, "matter.read", session.get(Matter, matter)), stranger
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
    from engine import bootstrap, policy
    from engine.errors import NotFound
    from engine.org.service import get_user, get_village, grant
    from engine.persistence.models import Matter

    bootstrap()
    with county() as session, session.begin():
        grant(session, get_user(session, SUPERVISOR), "bookkeeper", get_village(session, "QX0101"))
    about_cadres, about_committee, about_other = (report(county, about=a) for a in ("cadres", "supervisors", "other"))
    unsaid = report(county, about=None)  # a page without the question: read as about the cadres

    with county() as session:
        matters = [session.get(Matter, m) for m in (about_cadres, about_committee, about_other, unsaid)]
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


# --- photos, explicit anonymity, the answer by receipt code, bypassed steps ----------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One demo county with the complaint flow for the module's tests below (each sends its own
    reports from its own address)."""
    from engine import api
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('complaints') / 'shared.sqlite'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        demo.load_demo(session, deploy_flows=False)
        api.deploy_file(session, COMPLAINT, "admin")
    yield sessions
    engine.dispose()


def counts(sessions) -> tuple[int, int, int]:
    """How many complaint matters, photos and kept contacts there are."""
    from sqlalchemy import func

    from engine.persistence.models import Matter
    from engine.public.models import ComplaintContact
    from engine.workspace.models import Attachment

    with sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (Matter, Attachment, ComplaintContact)
        )


GPS_TEXT = b"GPS 30.2741N 120.1551E"
TRAILER = b"SECRET-TRAILING-DATA"


def gps_png() -> bytes:
    """A PNG whose EXIF says where it was taken, with a text chunk and data after its end."""
    import io

    from PIL import Image, PngImagePlugin

    image = Image.new("RGB", (64, 48), (200, 60, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (30.0, 16.0, 26.76)  # GPSLatitude
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", GPS_TEXT.decode())
    out = io.BytesIO()
    image.save(out, "PNG", exif=exif.tobytes(), pnginfo=info)
    return out.getvalue() + TRAILER


def pixel_bomb_png(side: int = 100_000) -> bytes:
    """A tiny file claiming a ``side`` × ``side`` image (ten billion pixels)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + data + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "not a photo")
    return out.getvalue()


def test_a_photo_is_kept_without_where_it_was_taken_or_anything_after_it():
    import io

    from PIL import Image

    from engine.public import photos

    sent = gps_png()
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif().get_ifd(0x8825)  # the test photo does carry a location
    [photo] = photos.prepare([("IMG_0001.png", sent)])
    assert photo.content_type == "image/png" and photo.filename == "举报照片1.png"
    for secret in (b"eXIf", b"Exif", b"PhoneMaker", GPS_TEXT, TRAILER, b"tEXt"):
        assert secret not in photo.content, secret
    with Image.open(io.BytesIO(photo.content)) as kept:
        assert kept.size == (64, 48) and not kept.getexif() and not kept.info.get("exif")
        assert kept.getpixel((5, 5)) == (200, 60, 60)


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("收据.jpg", "这不是照片，是一段文字".encode(), "type"),
        ("相册.jpg", zip_bytes(), "type"),
        ("大图.png", pixel_bomb_png(), "pixels"),
        ("坏图.jpg", b"\xff\xd8\xff\xe0" + b"\x00garbage" * 20, "broken"),
        ("超大.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "size"),
    ],
)
def test_a_file_that_is_no_photo_or_a_pixel_bomb_is_refused_naming_it(name, content, problem):
    from engine.public import photos
    from tests.web.conftest import png_bytes

    with pytest.raises(photos.PhotoRefused) as refused:
        photos.prepare([("好的.png", png_bytes()), (name, content)])
    assert (refused.value.problem, refused.value.filename) == (problem, name)


def test_at_most_three_photos():
    from engine.public import photos
    from tests.web.conftest import png_bytes

    with pytest.raises(photos.PhotoRefused) as refused:
        photos.prepare([(f"{n}.png", png_bytes()) for n in range(4)])
    assert refused.value.problem == "count"
    assert len(photos.prepare([(f"{n}.png", png_bytes()) for n in range(3)] + [("", b"")])) == 3


def test_a_report_keeps_its_photos_for_its_handlers_and_a_bad_one_refuses_it_all(shared, tmp_path):
    from engine.errors import NotFound
    from engine.public import complaints, reports
    from engine.public.models import ReportAttempt
    from engine.workspace import attachments
    from engine.workspace.models import Attachment

    address = "10.1.0.5"

    def send(sent: list[tuple[str, bytes]]) -> reports.ReportResult:
        with shared() as session, session.begin():
            chosen = reports.cleaned(WHAT, WHERE, PHONE, False, "other", "named")
            return reports.submit(session, "QX0101", chosen, address, "", sent, tmp_path)

    before = counts(shared)
    refused = send([("好的.png", gps_png()), ("收据.jpg", b"just text, no image")])
    assert refused.receipt is None and refused.errors == {"photos": "type"} and refused.photo_file == "收据.jpg"
    assert counts(shared) == before
    with shared() as session:  # the limit counts it
        assert [a.accepted for a in session.scalars(select(ReportAttempt).where(ReportAttempt.address == address))] == [
            False
        ]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]

    result = send([("IMG_0001.png", gps_png())])
    with shared() as session:
        matter = receipts_matter(session, result.receipt)
        [row] = session.scalars(select(Attachment).where(Attachment.instance_id == matter))
        assert (row.filename, row.content_type, row.slot) == ("举报照片1.png", "image/png", "photos")
        assert complaints.start_data(session, matter)["photos"] == [row.sha256]
        assert attachments.verify_blob(tmp_path, row)
        assert TRAILER not in attachments.read_blob(tmp_path, row).read_bytes()
        assert attachments.for_viewing(session, SUPERVISOR, matter, row.sha256).id == row.id
        for outsider in (VILLAGE_CADRES[0], OUTSIDERS[0]):
            with pytest.raises(NotFound):
                attachments.for_viewing(session, outsider, matter, row.sha256)


def receipts_matter(session, code: str) -> int:
    from engine.public.receipts import instance_of

    return instance_of(session, code).id


def test_anonymity_is_chosen_and_a_phone_typed_with_it_refuses_the_report(shared):
    from engine.persistence.models import HistoryEvent
    from engine.public import reports
    from engine.public.models import ComplaintContact

    # the old page's tick box: a phone typed with 匿名 is refused, never dropped
    assert reports.check(reports.cleaned(WHAT, WHERE, PHONE, True, "other")) == {"phone": "anonymous"}
    choose = {
        "anonymous": ("", {}),
        "named": (PHONE, {}),
        None: (PHONE, {}),  # a page that did not ask: the tick box says
        "": (PHONE, {"anonymous": "choice"}),
        "maybe": ("", {"anonymous": "choice"}),
    }
    for identity, (phone, errors) in choose.items():
        assert reports.check(reports.cleaned(WHAT, WHERE, phone, False, "other", identity)) == errors, identity
    assert reports.check(reports.cleaned(WHAT, WHERE, PHONE, False, "other", "anonymous")) == {"phone": "anonymous"}
    assert reports.check(reports.cleaned(WHAT, WHERE, "", False, "other", "named")) == {"phone": "needed"}

    before = counts(shared)
    with shared() as session, session.begin():
        typed = reports.cleaned(WHAT, WHERE, PHONE, False, "other", "anonymous")
        refused = reports.submit(session, "QX0101", typed, "10.1.0.6")
    assert refused.errors == {"phone": "anonymous"} and refused.receipt is None
    assert counts(shared) == before
    with shared() as session, session.begin():
        chosen = reports.cleaned(WHAT, WHERE, "", False, "other", "anonymous")
        kept = reports.submit(session, "QX0101", chosen, "10.1.0.6")
    with shared() as session:
        matter = receipts_matter(session, kept.receipt)
        history = " ".join(session.scalars(select(HistoryEvent.data).where(HistoryEvent.instance_id == matter)))
        assert session.get(ComplaintContact, matter) is None and PHONE not in history
        assert '"anonymous":true' in history and '"has_contact":false' in history


def complete_open(county, matter: int, actor: str, data: dict, tmp_path=None, slot: str | None = None) -> None:
    from engine import api
    from engine.persistence.models import OpenTask
    from engine.workspace import attachments
    from tests.web.conftest import png_bytes

    with county() as session, session.begin():
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == matter))
        files = {}
        if slot:
            files[slot] = [attachments.store_upload(session, tmp_path, png_bytes(), "核查记录.png", actor).id]
        api.complete(session, task.id, actor, data, files)


PLANTED_TRIAGE = {
    "reporter_name": "张三丰",
    "reporter_contact": "13911112222",
    "subject": "村道硬化工程质量问题",
    "category": "project",
    "complexity": "general",
    "handling_level": "village",
    "triage_reason": "一般问题，村监会核查",
}
PLANTED_HANDLING = {
    "handlers": ["王监委", "周监委"],
    "investigation": "约谈会计李四并查阅合同",
    "finding": "partly_substantiated",
    "measures": "责令施工方返工，监理电话 13987654321",
    "handled_on": "2025-03-10",
    "escalate_to_town": False,
    "escalation_reason": "",
}
REPLY = {
    "reply_method": "platform",
    "reply_content": "经核查，反映的问题部分属实，已责令施工方返工。有疑问请拨 0571-8765 4321。",
    "replied_on": "2025-03-12",
    "handling_days": 11,
    "delay_reason": "",
    "reporter_satisfied": "unknown",
}
NEVER_SHOWN = (
    "张三丰",
    "13911112222",
    "村道硬化工程质量问题",
    "村监会核查",
    "王监委",
    "周监委",
    "李四",
    "13987654321",
    "8765 4321",
    SUPERVISOR,
    PHONE,
    WHAT,
    WHERE,
)


def receipt_of(county, matter: int) -> str:
    from engine.public.receipts import receipt_for

    with county() as session, session.begin():
        return receipt_for(session, matter)


def progress_of(county, code: str):
    from engine.public import receipts

    with county() as session:
        return receipts.progress(session, code)


def test_the_receipt_shows_the_answer_and_nothing_else_of_the_report(shared, tmp_path):
    county = shared
    from datetime import timedelta

    matter = report(county, about="other", address="10.1.0.7")
    code = receipt_of(county, matter)
    complete_open(county, matter, SUPERVISOR, PLANTED_TRIAGE)
    shown = progress_of(county, code)
    reply_by = shown.started_at + timedelta(days=30)
    assert shown.answer == {"state": "handling", "office": "village", "reply_by": reply_by}

    complete_open(county, matter, SUPERVISOR, PLANTED_HANDLING, tmp_path, "investigation_record")
    complete_open(county, matter, SUPERVISOR, REPLY)
    shown = progress_of(county, code)
    assert shown.status == "completed"
    answer = shown.answer
    assert answer["state"] == "answered"
    assert answer["outcome"] == {
        "level": "village",
        "finding": "partly_substantiated",
        "measures": "责令施工方返工，监理电话 ***",
    }
    assert answer["reply"]["method"] == "platform" and answer["reply"]["on"] == "2025-03-12"
    assert answer["reply"]["content"].startswith("经核查，反映的问题部分属实，已责令施工方返工。")
    text = json.dumps(asdict(shown), ensure_ascii=False, default=str)
    for secret in NEVER_SHOWN:
        assert secret not in text, secret


def test_progress_shows_a_bypassed_step_at_once_and_working_day_limits(shared):
    county = shared

    def states(code: str) -> dict[str, str]:
        return {step.name: step.state for step in progress_of(county, code).steps}

    about_committee = receipt_of(county, report(county, about="supervisors", address="10.1.0.8"))
    shown = states(about_committee)  # it went straight to the town: no triage, no village handling
    assert shown["登记分流"] == shown["村级核查处理"] == "skipped"
    assert shown["镇纪委办理"] == "current" and shown["县纪委办理"] == shown["镇纪委答复举报人"] == "waiting"

    matter = report(county, about="other", address="10.1.0.8")
    ordinary = receipt_of(county, matter)
    complete_open(county, matter, SUPERVISOR, {**PLANTED_TRIAGE, "complexity": "complex", "handling_level": "town"})
    assert states(ordinary)["村级核查处理"] == "skipped" and states(ordinary)["镇纪委办理"] == "current"

    steps = {step.name: step for step in progress_of(county, ordinary).steps}
    assert steps["登记分流"].working_days == 2 and steps["答复举报人"].working_days == 3
    assert steps["镇纪委办理"].working_days is None and steps["镇纪委办理"].time_limit == "P30D"
