"""Rosters as the staff and the villagers see them (masked, paged), and the households' door-plate list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST
from engine.errors import NotFound
from engine.org.service import get_village
from engine.persistence.models import OrgUnit
from engine.public.masking import mask_id_number, mask_known_names, mask_name
from engine.public.subsidies.access import require
from engine.public.subsidies.kinds import Kind, period_label, rules
from engine.public.subsidy_models import RosterStatus, SubsidyEntry, SubsidyHousehold, SubsidyRoster
from engine.texts import text

PUBLISHED, WITHDRAWN, REPLACED = RosterStatus.PUBLISHED, RosterStatus.WITHDRAWN, RosterStatus.REPLACED
IMPORT, FLOW = "import", "flow"


@dataclass(frozen=True, slots=True)
class StaffRoster:
    """A roster as its keepers see it: who imported or withdrew it, when and why."""

    id: int
    village: str
    village_name: str
    kind: str
    kind_name: str
    period: str
    period_label: str
    status: str
    source: str
    filename: str | None
    sha256: str | None
    households: int
    people: int
    total_fen: int
    imported_by: str | None
    imported_at: str
    withdrawn_by: str | None
    withdrawn_at: str | None
    withdraw_reason: str | None
    replaced_by: int | None


@dataclass(frozen=True, slots=True)
class HouseholdPlate:
    """A household's door-plate code with the latest head's name, masked."""

    code: str
    head: str
    group: str


@dataclass(frozen=True, slots=True)
class PublicEntry:
    """One entry as the public sees it: a column the kind does not publish is None."""

    name: str | None
    id_number: str | None
    group: str | None
    people: int | None
    amount_fen: int
    paid_on: str | None


@dataclass(frozen=True, slots=True)
class PublicRoster:
    """A published roster as villagers see it; ``entries`` a page of them (the first few in a list of
    rosters, ``more`` when there are others), ``page``, ``pages`` and ``first`` for one roster's pages."""

    id: int
    kind: str
    kind_name: str
    period: str
    period_label: str
    households: int
    people: int
    total_fen: int
    published_on: str
    columns: list[str]
    entries: list[PublicEntry] = field(default_factory=list)
    more: bool = False
    page: int = 1
    pages: int = 1
    first: int = 1


@dataclass(frozen=True, slots=True)
class RosterPage:
    """A page of the village's published rosters."""

    rosters: list[PublicRoster]
    page: int
    pages: int
    count: int


@dataclass(frozen=True, slots=True)
class VillageRosters:
    """The village page's part: the village's code and its latest published rosters (no entries)."""

    code: str
    rosters: list[PublicRoster]


def staff_roster(roster: SubsidyRoster, village: OrgUnit) -> StaffRoster:
    kinds = rules().kinds
    return StaffRoster(
        id=roster.id,
        village=village.code,
        village_name=village.name,
        kind=roster.kind,
        kind_name=kinds[roster.kind].name if roster.kind in kinds else roster.kind,
        period=roster.period,
        period_label=period_label(roster.period),
        status=roster.status,
        source=roster.source,
        filename=roster.filename,
        sha256=roster.file_sha256,
        households=roster.households,
        people=roster.people,
        total_fen=roster.total_fen,
        imported_by=roster.imported_by,
        imported_at=clock.as_utc(roster.imported_at).isoformat(),
        withdrawn_by=roster.withdrawn_by,
        withdrawn_at=clock.as_utc(roster.withdrawn_at).isoformat() if roster.withdrawn_at else None,
        withdraw_reason=roster.withdraw_reason,
        replaced_by=roster.replaced_by_id,
    )


def rosters_for_staff(session: Session, actor: str | None, village_code: str) -> list[StaffRoster]:
    """Every roster of the village, withdrawn and replaced ones too, newest period first."""
    village = get_village(session, village_code)
    require(session, actor, "subsidy.read", village)
    rows = session.scalars(
        select(SubsidyRoster)
        .where(SubsidyRoster.village_id == village.id)
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind, SubsidyRoster.id.desc())
    )
    return [staff_roster(roster, village) for roster in rows]


def households_of(session: Session, actor: str | None, village_code: str) -> list[HouseholdPlate]:
    """The village's households by door-plate code (户码), with the latest head's name masked, to print
    the plates; the check (last four of the head's ID) is the household's own and never listed."""
    village = get_village(session, village_code)
    require(session, actor, "subsidy.households", village)
    latest = (
        select(SubsidyEntry.household_id, func.max(SubsidyEntry.id).label("entry_id"))
        .group_by(SubsidyEntry.household_id)
        .subquery()
    )
    rows = session.execute(
        select(SubsidyHousehold.code, SubsidyEntry.recipient_name, SubsidyEntry.group_name)
        .join(latest, latest.c.household_id == SubsidyHousehold.id)
        .join(SubsidyEntry, SubsidyEntry.id == latest.c.entry_id)
        .where(SubsidyHousehold.village_id == village.id)
        .order_by(SubsidyHousehold.code)
    ).all()
    return [HouseholdPlate(r.code, mask_name(r.recipient_name), r.group_name or "") for r in rows]


def public_fields(kind: Kind, fields: dict[str, Any]) -> PublicEntry:
    """An entry as the public sees it: only the kind's published columns, masked."""
    published = set(kind.published)
    return PublicEntry(
        name=mask_name(fields["name"]) if "name" in published else None,
        id_number=mask_id_number(fields["id_masked"]) if "id_number" in published else None,
        group=mask_known_names(fields.get("group") or "", fields["name"], 50) if "group" in published else None,
        people=fields.get("people") if "people" in published else None,
        amount_fen=fields["amount_fen"],
        paid_on=fields.get("paid_on") if "paid_on" in published else None,
    )


def _entry_fields(entry: SubsidyEntry) -> dict[str, Any]:
    return {
        "name": entry.recipient_name,
        "id_masked": entry.id_masked,
        "group": entry.group_name,
        "people": entry.people,
        "amount_fen": entry.amount_fen,
        "paid_on": entry.paid_on,
    }


def _public_roster(roster: SubsidyRoster, kinds: dict[str, Kind], **shown: Any) -> PublicRoster:
    kind = kinds.get(roster.kind)
    return PublicRoster(
        id=roster.id,
        kind=roster.kind,
        kind_name=kind.name if kind else roster.kind,
        period=roster.period,
        period_label=period_label(roster.period),
        households=roster.households,
        people=roster.people,
        total_fen=roster.total_fen,
        published_on=clock.as_utc(roster.imported_at).astimezone(CST).date().isoformat(),
        columns=list(kind.published) if kind else ["amount"],
        **shown,
    )


ROSTERS_PER_PAGE = 12
ENTRIES_PER_PAGE = 50
PREVIEW_ENTRIES = 10


def public_rosters(session: Session, village: OrgUnit, page: int = 1) -> RosterPage:
    """The village's published rosters, newest period first, each with its first entries, masked."""
    kinds = rules().kinds
    base = select(SubsidyRoster).where(
        SubsidyRoster.village_id == village.id, SubsidyRoster.status == PUBLISHED, SubsidyRoster.kind.in_(list(kinds))
    )
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-count // ROSTERS_PER_PAGE))
    page = min(max(page, 1), pages)
    rosters = list(
        session.scalars(
            base.order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind, SubsidyRoster.id.desc())
            .offset((page - 1) * ROSTERS_PER_PAGE)
            .limit(ROSTERS_PER_PAGE)
        )
    )
    shown = []
    for roster in rosters:
        entries = session.scalars(
            select(SubsidyEntry)
            .where(SubsidyEntry.roster_id == roster.id)
            .order_by(SubsidyEntry.id)
            .limit(PREVIEW_ENTRIES)
        )
        listed = [public_fields(kinds[roster.kind], _entry_fields(e)) for e in entries]
        shown.append(_public_roster(roster, kinds, entries=listed, more=roster.households > PREVIEW_ENTRIES))
    return RosterPage(shown, page, pages, count)


def public_roster(session: Session, village: OrgUnit, roster_id: int, page: int = 1) -> PublicRoster:
    """One published roster of the village, paged, masked."""
    kinds = rules().kinds
    roster = session.get(SubsidyRoster, roster_id)
    if roster is None or roster.village_id != village.id or roster.status != PUBLISHED or roster.kind not in kinds:
        raise NotFound(text("subsidies.public_not_found"), code="subsidy.not_found", params={"roster": roster_id})
    pages = max(1, -(-roster.households // ENTRIES_PER_PAGE))
    page = min(max(page, 1), pages)
    entries = session.scalars(
        select(SubsidyEntry)
        .where(SubsidyEntry.roster_id == roster.id)
        .order_by(SubsidyEntry.id)
        .offset((page - 1) * ENTRIES_PER_PAGE)
        .limit(ENTRIES_PER_PAGE)
    )
    listed = [public_fields(kinds[roster.kind], _entry_fields(e)) for e in entries]
    first = (page - 1) * ENTRIES_PER_PAGE + 1
    return _public_roster(roster, kinds, entries=listed, page=page, pages=pages, first=first)


def village_section(session: Session, village: OrgUnit) -> VillageRosters:
    """For the village page: the latest published rosters (no entries)."""
    kinds = rules().kinds
    rosters = session.scalars(
        select(SubsidyRoster)
        .where(
            SubsidyRoster.village_id == village.id,
            SubsidyRoster.status == PUBLISHED,
            SubsidyRoster.kind.in_(list(kinds)),
        )
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind)
        .limit(4)
    )
    return VillageRosters(village.code, [_public_roster(r, kinds) for r in rosters])
