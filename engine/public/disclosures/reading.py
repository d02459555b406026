"""What staff and villagers read: the calendar of recent periods, revisions, the half-yearly reports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import as_local_day
from engine.org.service import get_village
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, Matter, OrgUnit
from engine.public.disclosure_models import Disclosure
from engine.public.disclosures.periods import KINDS, Calendar, Period, calendar_rules, period, periods_ended
from engine.public.disclosures.workflow import POSTED, all_revisions, status_titles
from engine.public.masking import mask_personal


@dataclass(frozen=True, slots=True)
class PeriodShown:
    """One period of one kind: its due day, whether and when it was posted, how late. Villagers see the
    content, digest and note only once posted; the staff see the latest revision's, with its state
    (``status`` to ``review_note``, None on the public side)."""

    kind: str
    kind_title: str
    every: str
    period: str
    period_title: str
    first: str
    last: str
    due_on: str
    legal_basis: str
    posted_on: str | None
    places: list[str]
    late_days: int
    overdue: bool
    content: dict[str, Any] | None
    digest: str | None
    note: str | None
    status: str | None = None
    status_title: str | None = None
    revision: int | None = None
    review_note: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionShown:
    """One revision of a disclosure, as its village's staff and auditors read it."""

    revision: int
    status: str
    status_title: str
    digest: str
    prepared_at: str | None
    reviewed_at: str | None
    review_note: str | None
    posted_on: str | None
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HalfYearReport:
    """A half-yearly report to the 代表会议 as villagers see it, with its vote."""

    half: str
    summary: str
    digest: str | None
    meeting_date: str | None
    members: int | None
    present: int | None
    votes_for: int | None
    votes_against: int | None
    passed: bool | None
    status: str


@dataclass(frozen=True, slots=True)
class PublicPage:
    """What villagers see: the recent periods and the half-yearly reports."""

    periods: list[PeriodShown]
    reports: list[HalfYearReport]


@dataclass(frozen=True, slots=True)
class VillageDisclosures:
    """The village page's part: the latest posted disclosure of each kind, and what is overdue."""

    latest: list[PeriodShown]
    overdue: list[PeriodShown]


def _shown(row: Disclosure | None, found: Period, rules: Calendar, today: date, staff: bool) -> PeriodShown:
    rule = rules.kinds[found.kind]
    posted = row is not None and row.status == POSTED
    seen = PeriodShown(
        kind=found.kind,
        kind_title=rule.title,
        every=rule.every,
        period=found.key,
        period_title=found.title,
        first=found.first.isoformat(),
        last=found.last.isoformat(),
        due_on=found.due.isoformat(),
        legal_basis=rule.legal_basis,
        posted_on=row.posted_on if posted else None,
        places=list(row.places or []) if posted else [],
        late_days=(
            max(0, (date.fromisoformat(row.posted_on) - found.due).days) if posted else max(0, (today - found.due).days)
        ),  # fmt: skip
        overdue=not posted and today > found.due,
        content=row.content if posted else None,
        digest=row.digest if posted else None,
        note=row.note if posted else None,
    )
    if not staff:
        return seen
    return replace(
        seen,
        status=row.status if row else None,
        status_title=status_titles().get(row.status, "") if row else status_titles()["none"],
        revision=row.revision if row else None,
        digest=row.digest if row else None,
        content=row.content if row else None,
        note=row.note if row else None,
        review_note=row.review_note if row else None,
    )


def calendar_of(session: Session, village: OrgUnit, today: date, *, staff: bool = False) -> list[PeriodShown]:
    """The last 12 months of finance and the last 4 quarters of the other kinds, newest first, each with
    its latest revision (public: only what was posted)."""
    rules = calendar_rules()
    rows = session.scalars(select(Disclosure).where(Disclosure.village_id == village.id))
    latest: dict[tuple[str, str], Disclosure] = {}
    for row in rows:
        if (row.kind, row.period) not in latest or latest[(row.kind, row.period)].revision < row.revision:
            latest[(row.kind, row.period)] = row
    shown = []
    for kind, rule in rules.kinds.items():
        for found in periods_ended(rules, kind, today, 12 if rule.every == "month" else 4):
            shown.append(_shown(latest.get((kind, found.key)), found, rules, today, staff))
    shown.sort(key=lambda s: (s.last, KINDS.index(s.kind)), reverse=True)
    return shown


def revisions_of(session: Session, actor: str, village_code: str, kind: str, key: str) -> list[RevisionShown]:
    """Every revision of one disclosure, returned ones too (for the village's staff and auditors)."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    found = period(calendar_rules(), kind, key)
    return [
        RevisionShown(
            revision=r.revision,
            status=r.status,
            status_title=status_titles()[r.status],
            digest=r.digest,
            prepared_at=r.prepared_at.isoformat() if r.prepared_at else None,
            reviewed_at=r.reviewed_at.isoformat() if r.reviewed_at else None,
            review_note=r.review_note,
            posted_on=r.posted_on,
            content=r.content,
        )
        for r in all_revisions(session, village.id, kind, found.key)
    ]


def due_for(session: Session, actor: str, village_code: str, today: date | None = None) -> list[PeriodShown]:
    """The village's calendar as its staff see it: every recent period with its revision's state."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    return calendar_of(session, village, today or as_local_day(clock.now()), staff=True)


def public_page(session: Session, village: OrgUnit, today: date | None = None) -> PublicPage:
    """What villagers see: the calendar (posted content and digests only) and the half-yearly reports."""
    today = today or as_local_day(clock.now())
    return PublicPage(calendar_of(session, village, today), semiannual_reports(session, village))


def section(session: Session, village: OrgUnit) -> VillageDisclosures:
    """The village page's part: the latest posted disclosure of each kind and what is overdue."""
    periods = calendar_of(session, village, as_local_day(clock.now()))
    latest: dict[str, PeriodShown] = {}
    for p in periods:
        if p.posted_on and p.kind not in latest:
            latest[p.kind] = p
    return VillageDisclosures([latest[k] for k in KINDS if k in latest], [p for p in periods if p.overdue])


def semiannual_reports(session: Session, village: OrgUnit) -> list[HalfYearReport]:
    """The half-yearly reports to the 代表会议 (flow ``semiannual_report``) and their votes, newest first:
    only reports the 村监会 agreed to put before the 代表会议 (a draft is not a report yet), none that was
    cancelled, and one per half year (the newest such matter)."""
    from engine.supervision.facts import matter_facts

    key = str(calendar_rules().report.get("flow") or "semiannual_report")
    instances = list(
        session.scalars(
            select(Matter)
            .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(DefinitionVersion.key == key, Matter.village_id == village.id)
            .order_by(Matter.started_at.desc())
        )
    )
    reports = []
    halves: set[str] = set()
    for instance in instances:
        if instance.status == MatterStatus.CANCELLED:
            continue
        forms = matter_facts(session, instance, key).steps
        draft, vote = forms.get("draft_report", {}), forms.get("vote", {})
        if forms.get("supervise_report", {}).get("review_result") != "agreed":
            continue  # not reviewed by the 村监会 yet, or returned to be redrafted
        half = draft.get("half_year") if isinstance(draft.get("half_year"), str) else ""
        if half in halves:
            continue  # an older report of the same half year
        halves.add(half)
        reports.append(
            HalfYearReport(
                half=mask_personal(draft.get("half_year") or "", 20),
                summary=mask_personal(draft.get("report_summary") or "", 500),
                digest=draft.get("summary_digest") if isinstance(draft.get("summary_digest"), str) else None,
                meeting_date=vote.get("meeting_date") if isinstance(vote.get("meeting_date"), str) else None,
                members=vote.get("members") if isinstance(vote.get("members"), int) else None,
                present=vote.get("present") if isinstance(vote.get("present"), int) else None,
                votes_for=vote.get("votes_for") if isinstance(vote.get("votes_for"), int) else None,
                votes_against=vote.get("votes_against") if isinstance(vote.get("votes_against"), int) else None,
                passed=vote.get("passed") if isinstance(vote.get("passed"), bool) else None,
                status=instance.status,
            )
        )
    return reports
