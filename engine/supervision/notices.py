"""Documents supervisors issue: 预警通知书 (warning), 整改通知书 (rectification) and 三色督查令 (order).

A document is issued for a violation warning, or for a village's grade in a quarter (the
:class:`SupervisionNotice` that :func:`engine.supervision.scores.issue_notices` records, put on
paper). Its text comes from the templates of ``rules/defaults/notices.yaml``, filled with the
matter's facts by a formatter that knows only the placeholders listed there (no expressions, no
attribute access); its number counts per issuing unit, kind and year and is never reused. Who may
issue which kind is rule data too, applied through :func:`engine.policy.require`.

Issuing and recording receipt (签收) are commands: authorise → lock (the violation's matters and
the violation, then the number counter) → validate → act → record (an event of the violation's
chain and an :class:`AuditLog` row), one transaction. The text is kept as issued, with its
SHA-256 in the chain event; the PDF is made from it at any time (:func:`render_pdf`).
"""

from __future__ import annotations

import hashlib
import html
import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST, load_work_calendar
from engine.clock import as_utc, format_time
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.history.chain import canonical_json
from engine.inputs import InputInvalid
from engine.org.service import get_unit
from engine.org.units import UnitInfo, unit_chain
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog, Matter, OrgUnit, RoleAssignment, User
from engine.supervision.models import NoticeCounter, SupervisionDocument, SupervisionNotice, Violation, ViolationOutcome
from engine.supervision.notice_rules import DEFAULT_FILE as DEFAULT_FILE
from engine.supervision.notice_rules import (
    KINDS,
    MAX_FACTS,
    MAX_NAME,
    MAX_NOTE,
    Target,
    fill,
    kind_name,
    reach,
    roles_for,
    rules_for,
)
from engine.supervision.notice_rules import TemplatesInvalid as TemplatesInvalid
from engine.supervision.notice_rules import base_data as base_data
from engine.supervision.notice_rules import check as check
from engine.supervision.notice_rules import parse_text as parse_text
from engine.supervision.notice_rules import reset as reset
from engine.texts import text, texts

_PERIOD = re.compile(r"^\d{4}Q[1-4]$")

# --- facts -----------------------------------------------------------------------------------


def severity_name(severity: str) -> str:
    """How a document names a warning's colour (红色, 黄色, 蓝色)."""
    return texts("supervision.notices.severities").get(severity, severity)


def _small_number(n: int) -> str:
    """1–31 in Chinese numerals: 六, 十二, 二十一, 三十."""
    digits = text("supervision.notices.digits")
    tens, ones = divmod(n, 10)
    written = ("" if tens <= 1 else digits[tens]) + (text("supervision.notices.ten") if tens else "")
    return written + (digits[ones] if ones else "")


def chinese_date(day: date) -> str:
    """二〇二六年十二月六日: how official documents write a date."""
    digits = text("supervision.notices.digits")
    year = "".join(digits[int(d)] for d in str(day.year))
    return text("supervision.notices.date", year=year, month=_small_number(day.month), day=_small_number(day.day))


def local_day(at: datetime) -> date:
    return as_utc(at).astimezone(CST).date()


def _yuan(fen: int | None) -> str:
    if fen is None:
        return text("supervision.notices.no_amount")
    return text("supervision.notices.amount", amount=f"{fen / 100:,.2f}")


def _amounts(value: Any) -> list[int]:
    """Every ``amount_fen`` in a nested structure, in order."""
    found: list[int] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "amount_fen" and isinstance(item, int) and not isinstance(item, bool):
                found.append(item)
            else:
                found += _amounts(item)
    elif isinstance(value, list):
        for item in value:
            found += _amounts(item)
    return found


def _amount_of(session: Session, violation: Violation) -> int | None:
    """The amount a violation is about: in its evidence, else in its step's form, else in the matter's."""
    found = _amounts(violation.evidence)
    if found:
        return found[0]
    if violation.instance_id is None:
        return None
    from engine.supervision.facts import matter_facts

    instance = session.get(Matter, violation.instance_id)
    facts = matter_facts(session, instance, instance.definition.key)
    if violation.step_id and _amounts(facts.steps.get(violation.step_id)):
        return _amounts(facts.steps[violation.step_id])[0]
    for step in reversed(facts.done):
        if _amounts(facts.steps.get(step)):
            return _amounts(facts.steps[step])[0]
    return None


def _step_name(instance: Matter | None, step_id: str | None) -> str:
    if not step_id:
        return "—"
    if instance is not None:
        for step in (instance.definition.meta or {}).get("steps", []):
            if step.get("id") == step_id:
                return step.get("name") or step_id
    return step_id


def _public_base() -> str:
    from engine.public.qr import configured_base_url

    return configured_base_url()


def check_url(
    session: Session, violation: Violation | None, village: OrgUnit, *, create: bool = True
) -> tuple[str, str | None]:
    """What the document's QR code opens, and the matter's receipt code: the public progress page of
    the matter (流程到哪了), else the staff page of the violation, else the village's public page.
    Without ``create`` a matter without a receipt code yet keeps it so (a preview writes nothing)."""
    from engine.public import receipts
    from engine.public.models import PublicReceipt
    from engine.public.qr import village_url

    base = _public_base()
    if violation is not None and violation.instance_id is not None:
        if create:
            code = receipts.receipt_for(session, violation.instance_id)
        else:
            code = session.scalar(select(PublicReceipt.code).where(PublicReceipt.instance_id == violation.instance_id))
        shown = receipts.display(code) if code else "XXXX-XXXX-XXXX"
        return f"{base}/public/matters/{shown}", shown
    if violation is not None:
        return f"{base}/supervise/violations/{violation.id}", None
    return village_url(base, village.code), None


def _names(chain: tuple[UnitInfo, ...]) -> dict[str, str]:
    by_level = {unit.level: unit for unit in chain}
    return {level: by_level[level].name if level in by_level else "" for level in reversed(Level)}


def issuer_of(session: Session, holdings: tuple[tuple[str, int], ...], kind: str, village_id: int) -> UnitInfo:
    """The unit a document is issued in: the nearest unit of the village's chain where the issuer
    holds a role the rules name for the kind (a town official issues as the town)."""
    chain = unit_chain(session, village_id)
    roles = set(roles_for(session, "notice.issue", Target(kind, village_id)))
    for unit in chain:
        if any(role in roles and held == unit.id for role, held in holdings):
            return unit
    raise PermissionDenied(code="notice.issue_denied")  # the policy refused first


def _role_in(holdings: tuple[tuple[str, int], ...], roles: list[str], unit: UnitInfo) -> str:
    return next(role for role in roles if (role, unit.id) in holdings)


# --- inputs ----------------------------------------------------------------------------------


def text_input(value: Any, field: str, *, required: bool, most: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputInvalid(code="notice.text_required", params={"field": field}, field=field)
    if len(value) > most:
        raise InputInvalid(code="notice.text_too_long", params={"field": field, "max": most}, field=field)
    return value.strip()


def parse_day(value: Any, field: str) -> date | None:
    """A China-time day given as ``YYYY-MM-DD`` (None when empty)."""
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        if not isinstance(value, str) or len(value.strip()) != 10:
            raise ValueError
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputInvalid(code="notice.date_invalid", params={"field": field}, field=field) from None


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), CST).astimezone(UTC)


def _kind(kind: Any) -> str:
    if kind not in KINDS:
        raise InputInvalid(
            f"kind: one of {', '.join(KINDS)}",
            code="notice.kind_unknown",
            params={"kind": str(kind)[:40]},
            field="kind",
        )
    return kind


# --- issuing ---------------------------------------------------------------------------------


@dataclass
class Draft:
    """A document ready to be numbered: everything but its number, date-dependent text and id."""

    kind: str
    village: OrgUnit
    violation: Violation | None
    grade_row: dict[str, Any] | None
    period: str | None
    values: dict[str, str]
    rules: dict[str, Any]
    issuer: UnitInfo
    issuer_role: str
    colour: str | None
    rectify_by: datetime | None
    reply_by: datetime
    check_url: str


def holdings_of(session: Session, username: str) -> tuple[tuple[str, int], ...]:
    """The roles an active user holds, with the unit of each."""
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.org_unit_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.username == username, User.active.is_(True))
    ).all()
    return tuple((row.role, row.org_unit_id) for row in rows)


def _grade_row(session: Session, village: OrgUnit, period: str) -> dict[str, Any]:
    from engine.supervision import scores

    scores.check_period(period)
    rows = scores.scores(session, period, village.code)["villages"]
    return next(r for r in rows if r["village"] == village.code)


def _draft(
    session: Session,
    actor: str,
    kind: str,
    *,
    violation: Violation | None,
    village: OrgUnit,
    period: str | None,
    facts: str | None,
    rectify_by: date | None,
    now: datetime,
    preview: bool = False,
) -> Draft:
    chain = unit_chain(session, village.id)
    county = chain[-1].code
    rules = rules_for(county)
    holdings = holdings_of(session, actor)
    issuer = issuer_of(session, holdings, kind, village.id)
    role = _role_in(holdings, list(rules["issuers"][kind]), issuer)
    names = _names(chain)
    body = fill(rules["bodies"][issuer.level]["name"], names)
    short = fill(rules["bodies"][issuer.level]["short"], names)
    calendar = load_work_calendar()
    reply_by = calendar.add_working_days(now, int(rules["reply_within_working_days"]))
    if rectify_by is not None:
        if rectify_by < local_day(now):
            raise InputInvalid(
                code="notice.deadline_past",
                params={"field": "rectify_by"},
                field="rectify_by",
            )
        due = end_of_day(rectify_by)
    elif violation is not None and violation.rectify_by is not None and as_utc(violation.rectify_by) > as_utc(now):
        due = as_utc(violation.rectify_by)
    else:
        due = calendar.add_working_days(now, int(rules["rectify_within_working_days"]))
    values: dict[str, str] = {
        **names,
        "body": body,
        "short": short,
        "facts": facts or "",
        "rectify_by": chinese_date(local_day(due)),
        "reply_by": chinese_date(local_day(reply_by)),
    }
    grade_row = None
    colour = None
    if violation is not None:
        instance = session.get(Matter, violation.instance_id) if violation.instance_id else None
        url, receipt = check_url(session, violation, village, create=not preview)
        colour = violation.severity if kind == "order" else None
        values.update(
            matter_title=(instance.title or instance.definition.name) if instance else violation.title,
            receipt=receipt or "—",
            step=_step_name(instance, violation.step_id),
            amount=_yuan(_amount_of(session, violation)),
            rule=violation.title,
            legal_basis=violation.legal_basis or text("supervision.notices.legal_basis"),
            message=violation.message,
            detected=chinese_date(local_day(violation.detected_at)),
            severity=severity_name(violation.severity),
            colour=rules["colours"].get(violation.severity, "") if colour else "",
            points=str(violation.points),
        )
    else:
        grade_row = _grade_row(session, village, period or "")
        url, _receipt = check_url(session, None, village)
        values.update(
            period=_period_name(period or ""),
            grade=grade_row["grade"],
            score=str(grade_row["score"]),
            deducted=str(grade_row["deducted"]),
            violations=str(grade_row["violations"]),
        )
    return Draft(kind, village, violation, grade_row, period, values, rules, issuer, role, colour, due, reply_by, url)


def _period_name(period: str) -> str:
    if len(period) == 6 and period[4] == "Q":
        return text("supervision.notices.quarter", year=period[:4], quarter=_small_number(int(period[5])))
    return period


def _content(draft: Draft, number: str, issued_on: date) -> dict[str, Any]:
    """The text of the document: its templates filled with the draft's values, its number and date."""
    values = dict(draft.values, number=number, date=chinese_date(issued_on))
    template = draft.rules["kinds"][draft.kind]
    paragraphs = template["paragraphs"] if draft.violation is not None else template.get("grade_paragraphs") or []
    filled = [fill(p, values) for p in paragraphs]
    return {
        "title": fill(template["title"], values),
        "number": number,
        "addressee": fill(template["addressee"], values),
        "paragraphs": [p for p in filled if p.strip()],
        "signature": [fill(s, values) for s in template["signature"]],
        "date": values["date"],
        "facts": {k: v for k, v in sorted(draft.values.items())},
        "check_url": draft.check_url,
    }


def _number(draft: Draft, year: int, seq: int) -> str:
    names = {k: draft.values[k] for k in ("village", "town", "county", "short", "body")}
    return fill(
        draft.rules["kinds"][draft.kind]["number"],
        dict(names, year=str(year), seq=str(seq), colour=draft.values.get("colour", "")),
    )


def next_seq(session: Session, unit_id: int, kind: str, year: int) -> int:
    """The next number of the unit's documents of ``kind`` in ``year``, under the counter row's lock."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(NoticeCounter)
        .values(unit_id=unit_id, kind=kind, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["unit_id", "kind", "year"])
    )
    counter = session.scalar(
        select(NoticeCounter)
        .where(NoticeCounter.unit_id == unit_id, NoticeCounter.kind == kind, NoticeCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter.last += 1
    return counter.last


def _target_of(session: Session, violation_id: int | None, village: str | None, period: str | None):
    if violation_id is None and not (village and period):
        raise InputInvalid(
            "give a violation, or a village and a period",
            code="notice.target_missing",
            field="violation",
        )
    if violation_id is not None:
        return None, None
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise InputInvalid(code="notice.period_invalid", params={"field": "period"}, field="period")
    unit = get_unit(session, village)
    if unit.level != Level.VILLAGE:
        raise InputInvalid(code="unit.not_a_village", params={"unit": village}, field="village")
    return unit, period


def issue(
    session: Session,
    actor: str,
    kind: str,
    *,
    violation_id: int | None = None,
    village: str | None = None,
    period: str | None = None,
    facts: str | None = None,
    rectify_by: Any = None,
    preview: bool = False,
    now: datetime | None = None,
) -> Document | Preview:
    """Issue a document of ``kind`` for a violation, or for a village's grade in ``period``.

    With ``preview`` nothing is written and nothing locked: the text as it would be issued now,
    its number shown as ``〔…〕`` and the check address as it would be.
    """
    kind = _kind(kind)
    facts = text_input(facts, "facts", required=False, most=MAX_FACTS)
    due = parse_day(rectify_by, "rectify_by")
    unit, period = _target_of(session, violation_id, village, period)
    now = now or clock.now()
    violation = None
    if violation_id is not None:
        if preview:
            violation = session.get(Violation, violation_id)
            if violation is None:
                raise NotFound(code="violation.not_found", params={"violation": violation_id})
        else:
            from engine.supervision.violations import lock

            violation = lock(session, violation_id)
        unit = session.get(OrgUnit, violation.village_id)
    elif kind == "order":
        raise InputInvalid(code="notice.order_needs_violation", field="violation")
    elif not preview:
        begin_write(session)
    policy.require(session, actor, "notice.issue", Target(kind, unit.id))
    if violation is not None and violation.outcome == ViolationOutcome.DISMISSED:
        raise InvalidState(
            f"violation {violation.id} was dismissed",
            code="notice.violation_dismissed",
            params={"violation": violation.id},
        )
    notice = None
    draft = _draft(
        session,
        actor,
        kind,
        violation=violation,
        village=unit,
        period=period,
        facts=facts,
        rectify_by=due,
        now=now,
        preview=preview,
    )
    if violation is None:
        notice = _grade_notice(session, draft, kind, actor, now, preview)
    issued_on = local_day(now)
    if preview:
        content = _content(draft, text("supervision.notices.number_pending"), issued_on)
        return _view_of_content(draft, content, now, actor)
    seq = next_seq(session, draft.issuer.id, kind, issued_on.year)
    number = _number(draft, issued_on.year, seq)
    content = _content(draft, number, issued_on)
    digest = hashlib.sha256(canonical_json(content).encode()).hexdigest()
    document = SupervisionDocument(
        kind=kind,
        number=number,
        year=issued_on.year,
        seq=seq,
        issuer_unit_id=draft.issuer.id,
        issuer_role=draft.issuer_role,
        village_id=unit.id,
        violation_id=violation.id if violation is not None else None,
        notice_id=notice.id if notice is not None else None,
        colour=draft.colour,
        title=content["title"][:200],
        content=content,
        content_sha256=digest,
        template_version=str(draft.rules["version"])[:64],
        check_url=draft.check_url[:300],
        rectify_by=draft.rectify_by,
        reply_by=draft.reply_by,
        issued_at=now,
        issued_by=actor,
    )
    session.add(document)
    session.flush()
    record = {
        "document": document.id,
        "kind": kind,
        "number": number,
        "issuer": draft.issuer.code,
        "colour": draft.colour,
        "rectify_by": format_time(draft.rectify_by),
        "reply_by": format_time(draft.reply_by),
        "sha256": digest,
    }
    if violation is not None:
        from engine.supervision.violations import note_event

        note_event(session, violation, "document_issued", actor=actor, now=now, data=record)
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="supervision.document",
            subject=number[:200],
            detail={**record, "village": unit.code, "violation": violation_id, "period": period},
        )
    )
    return document_dict(session, document)


def _grade_notice(
    session: Session, draft: Draft, kind: str, actor: str, now: datetime, preview: bool
) -> SupervisionNotice | None:
    """The village's notice for its grade in the period (recorded now if the grades' issuing has not
    yet); refused when the grade calls for no notice of this kind or it is on paper already."""
    from engine.supervision.scores import record_notice

    row = draft.grade_row or {}
    if row.get("notice") != kind:
        raise InvalidState(
            code="notice.grade_calls_for_other",
            params={
                "village": draft.village.code,
                "period": draft.period,
                "grade": row.get("grade"),
                "kind": kind_name(kind),
            },
            field="kind",
        )
    notice = session.scalar(
        select(SupervisionNotice).where(
            SupervisionNotice.period == draft.period, SupervisionNotice.village_id == draft.village.id
        )
    )
    if notice is not None:
        number = session.scalar(select(SupervisionDocument.number).where(SupervisionDocument.notice_id == notice.id))
        if number is not None:
            raise InvalidState(
                code="notice.already_issued",
                params={"village": draft.village.code, "period": draft.period, "number": number},
            )
        return notice
    if preview:
        return None
    try:
        with session.begin_nested():
            notice = record_notice(session, draft.period, draft.village, row, actor, now)
            session.flush()
    except IntegrityError:
        raise InvalidState(
            text("supervision.refusals.issued_meanwhile", village=draft.village.code, period=draft.period),
            code="notice.already_issued",
            params={"village": draft.village.code, "period": draft.period, "number": ""},
        ) from None
    return notice


def receive(
    session: Session,
    actor: str,
    document_id: int,
    received_by: Any,
    *,
    received_on: Any = None,
    note: Any = None,
    now: datetime | None = None,
) -> Document:
    """Record that a document was received (签收): who signed for it and on which day."""
    signer = text_input(received_by, "received_by", required=True, most=MAX_NAME)
    note = text_input(note, "note", required=False, most=MAX_NOTE)
    day = parse_day(received_on, "received_on")
    now = now or clock.now()
    begin_write(session)
    found = session.execute(
        select(SupervisionDocument.violation_id).where(SupervisionDocument.id == document_id)
    ).first()
    if found is None:
        raise NotFound(f"no document {document_id}", code="notice.not_found", params={"document": document_id})
    violation = None
    if found.violation_id is not None:
        from engine.supervision.violations import lock

        violation = lock(session, found.violation_id)
    document = session.scalar(
        select(SupervisionDocument)
        .where(SupervisionDocument.id == document_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    policy.require(session, actor, "notice.receive", document)
    if document.received_at is not None:
        raise InvalidState(
            code="notice.already_received",
            params={
                "number": document.number,
                "by": document.received_by,
                "day": chinese_date(local_day(document.received_at)),
            },
        )
    received_at = now if day is None else min(now, end_of_day(day))
    if day is not None and (day > local_day(now) or day < local_day(document.issued_at)):
        raise InputInvalid(
            code="notice.received_on_range",
            params={"field": "received_on"},
            field="received_on",
        )
    document.received_at = received_at
    document.received_by = signer
    document.receipt_recorded_by = actor
    document.receipt_note = note
    record = {
        "document": document.id,
        "number": document.number,
        "received_by": signer,
        "received_at": format_time(received_at),
        "note": note,
    }
    if violation is not None:
        from engine.supervision.violations import note_event

        note_event(session, violation, "document_received", actor=actor, now=now, data=record)
    session.add(
        AuditLog(
            at=now, actor=actor, action="supervision.document_received", subject=document.number[:200], detail=record
        )
    )
    return document_dict(session, document)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentView:
    """What an issued document and a preview both show."""

    id: int | None
    kind: str
    kind_name: str
    number: str
    title: str
    colour: str | None
    village: str
    village_name: str
    issuer: str
    issuer_name: str
    issuer_role: str
    violation: int | None
    notice: int | None
    issued_at: str | None
    issued_by: str
    rectify_by: str | None
    reply_by: str | None
    received_at: str | None
    received_by: str | None
    check_url: str
    template_version: str
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Document(DocumentView):
    """An issued document as its readers see it; ``dataclasses.asdict`` gives the API's and CLI's JSON."""

    receipt_recorded_by: str | None
    receipt_note: str | None
    sha256: str


@dataclass(frozen=True, slots=True)
class Preview(DocumentView):
    """A document as it would be issued now: no id, no number (``〔…〕``), not received."""

    preview: bool = True


def document_dict(session: Session, document: SupervisionDocument) -> Document:
    village = session.get(OrgUnit, document.village_id)
    issuer = session.get(OrgUnit, document.issuer_unit_id)
    return Document(
        id=document.id,
        kind=document.kind,
        kind_name=kind_name(document.kind),
        number=document.number,
        title=document.title,
        colour=document.colour,
        village=village.code,
        village_name=village.name,
        issuer=issuer.code,
        issuer_name=issuer.name,
        issuer_role=document.issuer_role,
        violation=document.violation_id,
        notice=document.notice_id,
        issued_at=format_time(document.issued_at),
        issued_by=document.issued_by,
        rectify_by=format_time(document.rectify_by),
        reply_by=format_time(document.reply_by),
        received_at=format_time(document.received_at),
        received_by=document.received_by,
        receipt_recorded_by=document.receipt_recorded_by,
        receipt_note=document.receipt_note,
        check_url=document.check_url,
        template_version=document.template_version,
        sha256=document.content_sha256,
        content=document.content,
    )


def _view_of_content(draft: Draft, content: dict[str, Any], now: datetime, actor: str) -> Preview:
    return Preview(
        id=None,
        kind=draft.kind,
        kind_name=kind_name(draft.kind),
        number=content["number"],
        title=content["title"],
        colour=draft.colour,
        village=draft.village.code,
        village_name=draft.village.name,
        issuer=draft.issuer.code,
        issuer_name=draft.issuer.name,
        issuer_role=draft.issuer_role,
        violation=draft.violation.id if draft.violation is not None else None,
        notice=None,
        issued_at=format_time(now),
        issued_by=actor,
        rectify_by=format_time(draft.rectify_by),
        reply_by=format_time(draft.reply_by),
        received_at=None,
        received_by=None,
        check_url=draft.check_url,
        template_version=str(draft.rules["version"]),
        content=content,
    )


def get_document(session: Session, actor: str, document_id: int) -> Document:
    document = session.get(SupervisionDocument, document_id)
    if document is None:
        raise NotFound(f"no document {document_id}", code="notice.not_found", params={"document": document_id})
    try:
        policy.require(session, actor, "notice.read", document)
    except NotFound:
        raise NotFound(
            f"no document {document_id}", code="notice.not_found", params={"document": document_id}
        ) from None
    return document_dict(session, document)


def documents(
    session: Session, actor: str, *, violation_id: int | None = None, village: str | None = None, limit: int = 200
) -> list[Document]:
    """The documents the user may read, newest first: of a violation, of a village (or town,
    county), or all in their scope. See :func:`require_lister` for who may ask."""
    require_lister(session, actor, violation_id)
    query = select(SupervisionDocument).order_by(SupervisionDocument.issued_at.desc(), SupervisionDocument.id.desc())
    if violation_id is not None:
        query = query.where(SupervisionDocument.violation_id == violation_id)
    if village:
        query = query.where(SupervisionDocument.village_id.in_(villages_asked(session, actor, "notice.read", village)))
    found = []
    for document in session.scalars(query):
        if policy.may(session, actor, "notice.read", document):
            found.append(document_dict(session, document))
            if len(found) >= limit:
                break
    return found


def require_lister(session: Session, actor: str, violation_id: int | None = None) -> None:
    """Lists of documents and talks are the supervisors' and auditors' (anyone else: PermissionDenied,
    as for their worklist); those of a violation need the violation in the reader's scope (NotFound
    when it is not, as for the violation itself)."""
    from engine.supervision.worklist import scope_villages

    scope_villages(session, actor)
    if violation_id is not None:
        violation = session.get(Violation, violation_id)
        if violation is None:
            raise NotFound(code="violation.not_found", params={"violation": violation_id})
        policy.require(session, actor, "violation.read", violation)


def villages_asked(session: Session, actor: str, action: str, village: str) -> list[int]:
    """The villages of the unit a list is filtered by; NotFound when it is out of the reader's reach."""
    scope = get_unit(session, village)
    policy.require(session, actor, action, scope if scope.level == Level.VILLAGE else _any_village(session, scope))
    return _villages_under(session, scope)


def _villages_under(session: Session, scope: OrgUnit) -> list[int]:
    villages = session.scalars(select(OrgUnit.id).where(OrgUnit.level == Level.VILLAGE)).all()
    return [v for v in villages if scope.id in reach(session, v)]


def _any_village(session: Session, scope: OrgUnit) -> OrgUnit:
    ids = _villages_under(session, scope)
    if not ids:
        raise NotFound(code="unit.not_found", params={"unit": scope.code})
    return session.get(OrgUnit, ids[0])


def issuable(session: Session, actor: str, violation: Violation) -> list[str]:
    """The kinds the user may issue for a violation now (for the buttons of its page)."""
    if violation.outcome == ViolationOutcome.DISMISSED:
        return []
    return [k for k in KINDS if policy.may(session, actor, "notice.issue", Target(k, violation.village_id))]


# --- rendering -------------------------------------------------------------------------------

_COLOURS = {"red": "#c00000", "yellow": "#b8860b", "blue": "#1f4e9c"}
PAGE = "document.html"


@lru_cache(maxsize=1)
def _page() -> string.Template:
    """The document's page (A4, CJK font, the colour and the QR code filled in), a data file beside this module."""
    return string.Template(resources.files(__package__).joinpath(PAGE).read_text(encoding="utf-8").removesuffix("\n"))


def qr_base64(url: str) -> str:
    """The check address as an SVG QR code, base64-encoded for the page's inline data: URI
    (the document needs no other file)."""
    import base64

    from engine.public import qr

    return base64.b64encode(qr.svg(url)).decode()


def render_html(view: DocumentView, *, lang: str = "zh") -> str:
    """The document as a standalone HTML page (A4, CJK font, QR code inline): printable as it is,
    and what :func:`render_pdf` lays out. Every value is escaped; nothing in it is a template."""
    e = html.escape
    content = view.content
    colour = _COLOURS.get(view.colour or "", "#c00000")
    paragraphs = "\n".join(f"<p>{e(p)}</p>" for p in content["paragraphs"])
    signature = "\n".join(f"<div>{e(line)}</div>" for line in content["signature"])
    received = ""
    if view.received_at:
        receipt = text("supervision.notices.receipt", by=view.received_by or "", day=_day_text(view.received_at))
        received = f'<p class="receipt">{e(receipt)}</p>'
    return _page().substitute(
        title=e(content["title"]),
        number=e(content["number"]),
        colour=colour,
        addressee=e(content["addressee"]),
        paragraphs=paragraphs,
        signature=signature,
        received=received,
        qr=qr_base64(view.check_url),
        check=e(text("supervision.notices.check", url=view.check_url)),
    )


def _day_text(iso: str) -> str:
    return chinese_date(local_day(datetime.fromisoformat(iso.replace("Z", "+00:00"))))


def render_pdf(view: DocumentView) -> bytes:
    """The document as an A4 PDF (WeasyPrint, the CJK font of the system)."""
    from weasyprint import HTML

    return HTML(string=render_html(view)).write_pdf()
