"""码上举报: a villager's report from the QR code at home starts a complaint matter as the system.

Reports are counted per sender in the database, so every web process applies the same limit: an
IPv4 address, or an IPv6 address's /64 network (one household's or phone's, whose addresses rotate
within it). The report becomes the start data of the complaint flow, whom it concerns included;
the phone number a villager leaves is kept apart (see :mod:`engine.public.complaints`) and the
history records only its salted digest. The villager gets a receipt code, the only way to the answer.

实名 or 匿名 is the villager's explicit choice: a named report leaves a phone number; an anonymous
one may not (a phone typed with 匿名 refuses the report, never is silently dropped) and keeps no
contact anywhere. Photos (:mod:`engine.public.photos`) are checked before anything is written: a bad
one refuses the whole report, naming the file, and still counts against the sender's limit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST
from engine.definitions.deploy import latest_version
from engine.persistence.db import begin_write
from engine.persistence.models import DefinitionVersion, OrgUnit
from engine.public import complaints, photos, throttle
from engine.public.models import ReportAttempt
from engine.public.receipts import receipt_for
from engine.public.throttle import sender
from engine.public.villages import public_village
from engine.runtime.steps import start_matter
from engine.texts import text as wording

COMPLAINT_KEY = complaints.FLOW
ACTOR = "public"
MAX_REPORTS = 5
WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)
WHAT_LENGTH = (5, 1000)
WHERE_LENGTH = (2, 100)
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]")
ABOUT = complaints.ABOUT
UNSAID = "cadres"  # a report sent from a page without the question is read the most protective way
NAMED, ANONYMOUS = "named", "anonymous"  # the form's choice: 实名（留电话） or 匿名（不留任何联系方式）


@dataclass
class Report:
    what: str = ""
    where: str = ""
    phone: str = ""
    anonymous: bool | None = False  # None: the sender chose neither 实名 nor 匿名
    about: str = ""  # whom it concerns: one of ABOUT
    phone_needed: bool = False  # 实名 was chosen on the form: a phone number is part of it


@dataclass
class ReportResult:
    receipt: str | None = None
    errors: dict[str, str] = field(default_factory=dict)  # field -> what is wrong (see check)
    wait_seconds: int = 0
    refused: bool = False  # a robot's submission
    photo_file: str = ""  # the photo that refused the report (errors["photos"] says why)


def _bad_characters(text: str, newlines: bool) -> bool:
    allowed = "\n\r\t" if newlines else ""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in allowed for ch in text)


def check(report: Report) -> dict[str, str]:
    """What is wrong with a report: field -> ``length``, ``characters``, ``format``, ``choice``,
    ``needed`` (实名 without a phone) or ``anonymous`` (匿名 with a phone); empty when it may be sent."""
    errors: dict[str, str] = {}
    for name, text, (low, high), newlines in (
        ("what", report.what, WHAT_LENGTH, True),
        ("where", report.where, WHERE_LENGTH, False),
    ):
        if not low <= len(text) <= high:
            errors[name] = "length"
        elif _bad_characters(text, newlines):
            errors[name] = "characters"
    if report.anonymous is None:
        errors["anonymous"] = "choice"
    elif report.anonymous and report.phone:
        errors["phone"] = "anonymous"
    elif report.phone and not _PHONE.fullmatch(report.phone):
        errors["phone"] = "format"
    elif report.phone_needed and not report.phone:
        errors["phone"] = "needed"
    if report.about not in ABOUT:
        errors["about"] = "choice"
    return errors


def cleaned(
    what: str | None,
    where: str | None,
    phone: str | None,
    anonymous: bool | None,
    about: str | None = None,
    identity: str | None = None,
) -> Report:
    """The report as typed, trimmed; the phone is kept as typed, whatever was chosen (:func:`check`
    refuses a phone with 匿名). ``identity`` is the form's choice, :data:`NAMED` or :data:`ANONYMOUS`
    (anything else: chosen neither); None when the page did not ask (one opened before the question),
    and then ``anonymous`` (the old page's tick box) says. ``about`` is None when the page sent no
    answer to whom the report concerns: it is then taken as the village's cadres."""
    if identity is not None:
        choice = identity.strip()
        anonymous = True if choice == ANONYMOUS else False if choice == NAMED else None
    return Report(
        what=(what or "").strip()[: WHAT_LENGTH[1] + 1],
        where=(where or "").strip()[: WHERE_LENGTH[1] + 1],
        phone=(phone or "").strip()[:30],
        anonymous=anonymous,
        about=UNSAID if about is None else about.strip()[:20],
        phone_needed=identity is not None and anonymous is False,
    )


def wait_seconds(session: Session, address: str) -> int:
    """Seconds until ``address`` (a :func:`sender`) may send another report; 0 when it may now."""
    return throttle.wait_seconds(session, ReportAttempt, address, MAX_REPORTS, WINDOW)


def complaint_flow(session: Session) -> DefinitionVersion:
    """The deployed complaint flow (NotFound when reports cannot be taken)."""
    return latest_version(session, COMPLAINT_KEY)


def _start(session: Session, village: OrgUnit, report: Report, kept: list[photos.Photo]) -> int:
    now = clock.now()
    contact = "" if report.anonymous else report.phone
    salt = complaints.new_salt()
    data = {
        "channel": "qr_code",
        "received_on": now.astimezone(CST).date().isoformat(),
        "about": report.about,
        "content": report.what,
        "location": report.where,
        "anonymous": report.anonymous,
        "has_contact": bool(contact),
        "reporter_contact": complaints.digest(contact, salt) if contact else "",
    }
    if kept:
        data["photos"] = [photo.sha256 for photo in kept]
    title = wording("public.reports.title", where=report.where)[:200]
    result = start_matter(session, complaint_flow(session), village, ACTOR, data, title)
    if contact:
        complaints.keep_contact(session, result.instance_id, contact, salt)
    return result.instance_id


def submit(
    session: Session,
    village_code: str,
    report: Report,
    address: str,
    trap: str = "",
    sent_photos: list[tuple[str, bytes]] | None = None,
    folder: Path | None = None,
) -> ReportResult:
    """Take a report from ``address`` (the client's IP address): refuse it, or start a complaint and
    return its receipt code.

    ``trap`` is the form's hidden field, which only robots fill in. ``sent_photos`` are the photos,
    ``(filename, content)``, kept under ``folder`` (the attachments' folder). Counted submissions
    are kept whatever the result, so the caller commits in every case.
    """
    begin_write(session)
    village = public_village(session, village_code)
    complaint_flow(session)
    address = sender(address)
    wait = wait_seconds(session, address)
    if wait:
        return ReportResult(wait_seconds=wait)
    now = clock.now()
    session.execute(delete(ReportAttempt).where(ReportAttempt.at < now - KEEP))
    if trap:
        session.add(ReportAttempt(address=address, at=now, accepted=False))
        session.flush()
        return ReportResult(refused=True)
    errors = check(report)
    if errors:
        return ReportResult(errors=errors)
    try:
        kept = photos.prepare(sent_photos or [])
    except photos.PhotoRefused as refused:
        session.add(ReportAttempt(address=address, at=now, accepted=False))
        session.flush()
        return ReportResult(errors={"photos": refused.problem}, photo_file=refused.filename)
    session.add(ReportAttempt(address=address, at=now, accepted=True))
    instance_id = _start(session, village, report, kept)
    photos.keep(session, folder, kept, instance_id, ACTOR)
    return ReportResult(receipt=receipt_for(session, instance_id))
