"""The workflow: prepare (a draft, revised while it changes), review by the 村监会, post."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import as_local_day
from engine.errors import FieldError, FormInvalid, InvalidState, NotFound
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, OrgUnit
from engine.public.disclosure_models import Disclosure, DisclosureStatus
from engine.public.disclosures.content import digest_of, generate
from engine.public.disclosures.periods import Calendar, Period, calendar_rules, period
from engine.public.masking import mask_personal
from engine.texts import text, texts

DRAFT, RETURNED, APPROVED, POSTED = (
    DisclosureStatus.DRAFT,
    DisclosureStatus.RETURNED,
    DisclosureStatus.APPROVED,
    DisclosureStatus.POSTED,
)


def status_titles() -> dict[str, str]:
    """Each status's title by its code, and ``none`` for a period with no revision yet."""
    return texts("disclosures.status_titles")


REASON_MIN = 2


def _about(found: Period, rules: Calendar, kind: str) -> dict[str, Any]:
    """The params of an error about one disclosure: its period, the period's and the kind's titles."""
    return {"period": found.key, "title": found.title, "kind_title": rules.kinds[kind].title}


def _wrong_status(code: str, found: Period, rules: Calendar, kind: str, row: Disclosure) -> InvalidState:
    """A step refused because the latest revision is not in the status it needs; names the status it is in."""
    params = {**_about(found, rules, kind), "status": row.status, "status_title": status_titles()[row.status]}
    return InvalidState(code=code, params=params)


def all_revisions(session: Session, village_id: int, kind: str, key: str) -> list[Disclosure]:
    return list(
        session.scalars(
            select(Disclosure)
            .where(Disclosure.village_id == village_id, Disclosure.kind == kind, Disclosure.period == key)
            .order_by(Disclosure.revision)
        )
    )


def _audit(session: Session, actor: str, action: str, village: OrgUnit, row: Disclosure, now: datetime, **more):
    detail = {"village": village.code, "kind": row.kind, "period": row.period, "revision": row.revision}
    detail.update({"digest": row.digest, **more})
    subject = f"{village.code}/{row.kind}/{row.period}#{row.revision}"
    session.add(AuditLog(at=now, actor=actor, action=action, subject=subject, detail=detail))


def prepare(
    session: Session, actor: str, village_code: str, kind: str, key: str, note: str | None = None
) -> Disclosure:
    """Generate (or regenerate, while a draft) the village's disclosure of ``kind`` for period ``key``."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.prepare", village)
    rules = calendar_rules()
    found = period(rules, kind, key)
    now = clock.now()
    if found.last >= as_local_day(now):
        raise InvalidState(code="disclosure.not_ended", params={"period": found.key, "title": found.title})
    shown_note = mask_personal(note, rules.note_chars).strip() if note else None
    content = generate(session, village, rules, kind, found.key)
    revisions = all_revisions(session, village.id, kind, found.key)
    latest = revisions[-1] if revisions else None
    if latest is not None and latest.status in (APPROVED, POSTED):
        raise InvalidState(
            code="disclosure.frozen",
            params=_about(found, rules, kind),
        )
    if latest is not None and latest.status == DRAFT:
        row = latest
        if (row.digest, row.note) != (digest_of(content), shown_note):
            # A changed draft is a new revision: the 村监会 signs the revision it read, not a later one.
            row.revision = max(r.revision for r in revisions) + 1
            row.content, row.digest, row.note = content, digest_of(content), shown_note
            row.prepared_by, row.prepared_at, row.due_on = actor, now, found.due.isoformat()
    else:
        row = Disclosure(
            village_id=village.id,
            kind=kind,
            period=found.key,
            revision=(latest.revision + 1) if latest else 1,
            status=DRAFT,
            due_on=found.due.isoformat(),
            content=content,
            digest=digest_of(content),
            note=shown_note,
            prepared_by=actor,
            prepared_at=now,
        )
        session.add(row)
    session.flush()
    _audit(session, actor, "disclosure.prepare", village, row, now)
    return row


def _latest(session: Session, village: OrgUnit, rules: Calendar, kind: str, key: str) -> tuple[Period, Disclosure]:
    found = period(rules, kind, key)
    revisions = all_revisions(session, village.id, kind, found.key)
    if not revisions:
        raise NotFound(
            code="disclosure.not_prepared",
            params=_about(found, rules, kind),
        )
    return found, revisions[-1]


def review(
    session: Session,
    actor: str,
    village_code: str,
    kind: str,
    key: str,
    *,
    revision: int,
    approve: bool,
    reason: str | None = None,
) -> Disclosure:
    """The 村监会 signs the draft (its content and digest frozen) or returns it with a reason.

    ``revision`` is the revision the reviewer read: refused when the draft has changed since (a changed
    draft is a new revision), and refused to the person who prepared it (who may hold both roles)."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.review", village)
    rules = calendar_rules()
    found, row = _latest(session, village, rules, kind, key)
    if row.status != DRAFT:
        raise _wrong_status("disclosure.not_draft", found, rules, kind, row)
    if revision != row.revision:
        raise InvalidState(
            code="disclosure.changed",
            params={**_about(found, rules, kind), "read": revision, "revision": row.revision},
        )
    if row.prepared_by == actor:
        raise InvalidState(
            code="disclosure.own_preparation",
            params=_about(found, rules, kind),
        )
    shown = mask_personal(reason or "", 500).strip()
    if not approve and len(shown) < REASON_MIN:
        raise FormInvalid(text("disclosures.forms.review"), [FieldError.coded("reason", "disclosure.reason_needed")])
    now = clock.now()
    if digest_of(row.content) != row.digest:  # the draft's stored content no longer matches its digest
        raise InvalidState(code="disclosure.digest_mismatch")
    row.status = APPROVED if approve else RETURNED
    row.reviewed_by, row.reviewed_at, row.review_note = actor, now, (shown or None)
    _audit(session, actor, "disclosure.review", village, row, now, approved=approve, reason=shown or None)
    return row


def post(
    session: Session,
    actor: str,
    village_code: str,
    kind: str,
    key: str,
    *,
    places: list[str] | None = None,
) -> Disclosure:
    """Post the approved revision today (China time) at ``places`` (by default the first place)."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.post", village)
    rules = calendar_rules()
    found, row = _latest(session, village, rules, kind, key)
    if row.status != APPROVED:
        raise _wrong_status("disclosure.not_approved", found, rules, kind, row)
    chosen = [p.strip() for p in places or [] if p and p.strip()] or list(rules.places[:1])
    unknown = [p for p in chosen if p not in rules.places]
    if unknown:
        allowed = text("public.list.separator").join(rules.places)
        problem = FieldError.coded("places", "disclosure.unknown_place", place=unknown[0], places=allowed)
        raise FormInvalid(text("disclosures.forms.post"), [problem])
    now = clock.now()
    row.status, row.posted_by, row.posted_at = POSTED, actor, now
    row.posted_on, row.places = as_local_day(now).isoformat(), chosen
    _audit(session, actor, "disclosure.post", village, row, now, places=chosen, late_days=late_days(row))
    return row


def late_days(row: Disclosure, today: date | None = None) -> int:
    """Days past the due day: of the posting, or (not posted yet) of ``today``; 0 when on time."""
    due = date.fromisoformat(row.due_on)
    seen = date.fromisoformat(row.posted_on) if row.posted_on else today
    return max(0, (seen - due).days) if seen else 0
