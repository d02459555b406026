"""三务公开: the village's periodic disclosures (党务、村务、财务), generated from the record.

The calendar is rule data (``rules/defaults/disclosures.yaml``, a county's file merged over it): each
kind's period (month or quarter), its due day and what it contains. For a village and a period the
content is generated from the record as canonical JSON, and its SHA-256 digest is shown with it, so a
printed board can be checked against the system.

The workflow, each step one transaction with an :class:`AuditLog` line:

- ``disclosure.prepare``: a village cadre (role set ``disclosing``) generates the content, with a short
  note (masked). Preparing again while it is a draft regenerates it (a new revision number when the
  content or note changed); after a return it makes a new revision, the returned one kept for auditors.
- ``disclosure.review``: the village's 村务监督委员会 (the village-level roles of ``supervising``)
  approves (signs: the content and digest are frozen) or returns it with a reason, naming the revision
  it read (refused when the draft changed since, or when the reviewer prepared it).
- ``disclosure.post``: a cadre posts the approved revision: the day and the places. Posting after the
  due day still posts; the public page says how many days late.

On time: :func:`detect_late` (run by every sweep) raises ``disclosure_late`` once per village, kind and
period whose disclosure was not posted by its due day: from the county's ``checks_from`` or else from the
first period any village of the county prepared, for every village of the county (see :func:`.late_check._checked`).

The package's modules by job: :mod:`.periods` (the calendar's rules, periods and due days),
:mod:`.content` (generation and digests), :mod:`.access` (who may), :mod:`.workflow` (prepare, review,
post), :mod:`.reading` (what staff and villagers see) and :mod:`.late_check`.
"""

from engine.public.disclosures.access import may, readable_villages
from engine.public.disclosures.content import (
    HalfYearSummary,
    canonical,
    digest_of,
    generate,
    half_year_summary,
    summary_for,
)
from engine.public.disclosures.late_check import LATE_CODE, detect_late, late_findings
from engine.public.disclosures.periods import (
    EVERY,
    KINDS,
    Calendar,
    KindRule,
    Period,
    calendar_rules,
    due_day,
    period,
    periods_ended,
    places,
)
from engine.public.disclosures.reading import (
    HalfYearReport,
    PeriodShown,
    PublicPage,
    RevisionShown,
    VillageDisclosures,
    calendar_of,
    due_for,
    public_page,
    revisions_of,
    section,
    semiannual_reports,
)
from engine.public.disclosures.workflow import (
    APPROVED,
    DRAFT,
    POSTED,
    RETURNED,
    late_days,
    post,
    prepare,
    review,
    status_titles,
)

__all__ = [
    "APPROVED",
    "DRAFT",
    "EVERY",
    "KINDS",
    "LATE_CODE",
    "POSTED",
    "RETURNED",
    "Calendar",
    "HalfYearReport",
    "HalfYearSummary",
    "KindRule",
    "Period",
    "PeriodShown",
    "PublicPage",
    "RevisionShown",
    "VillageDisclosures",
    "calendar_of",
    "calendar_rules",
    "canonical",
    "detect_late",
    "digest_of",
    "due_day",
    "due_for",
    "generate",
    "half_year_summary",
    "late_days",
    "late_findings",
    "may",
    "period",
    "periods_ended",
    "places",
    "post",
    "prepare",
    "public_page",
    "readable_villages",
    "review",
    "revisions_of",
    "section",
    "status_titles",
    "semiannual_reports",
    "summary_for",
]
