"""A roster imported from a spreadsheet (all rows or none), previewed, or withdrawn."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import Conflict, InvalidState, NotFound, PowerlistError
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, OrgUnit
from engine.public.spreadsheets import read_sheet
from engine.public.subsidies.access import require
from engine.public.subsidies.households import digest, household_for, masked_id
from engine.public.subsidies.kinds import Kind, check_period, kind_of, period_label
from engine.public.subsidies.rosters import (
    IMPORT,
    PUBLISHED,
    REPLACED,
    WITHDRAWN,
    PublicEntry,
    StaffRoster,
    public_fields,
    staff_roster,
)
from engine.public.subsidies.rows import REQUIRED, Row, check_rows, sheet_columns
from engine.public.subsidy_models import SubsidyEntry, SubsidyRoster
from engine.texts import text

MAX_REASON = 500


@dataclass
class Preview:
    """What an import would publish (nothing written): totals and the first rows, masked as published."""

    village: str
    village_name: str
    kind: str
    kind_name: str
    period: str
    filename: str
    sha256: str
    households: int
    people: int
    total_fen: int
    rows: list[PublicEntry]
    existing: int | None  # the published roster it would replace
    roster_id: int | None = None


def _prepare(
    session: Session, actor: str | None, data: bytes, filename: str, village_code: str, kind_code: str, period: str
) -> tuple[OrgUnit, Kind, str, list[Row], str]:
    village = get_village(session, village_code)
    require(session, actor, "subsidy.import", village)
    kind = kind_of(kind_code)
    period = check_period(kind, period)
    rows = check_rows(read_sheet(data, filename, sheet_columns(), REQUIRED), filename)
    return village, kind, period, rows, hashlib.sha256(data).hexdigest()


def published_roster(session: Session, village: OrgUnit, kind: str, period: str) -> SubsidyRoster | None:
    return session.scalar(
        select(SubsidyRoster).where(
            SubsidyRoster.village_id == village.id,
            SubsidyRoster.kind == kind,
            SubsidyRoster.period == period,
            SubsidyRoster.status == PUBLISHED,
        )
    )


def preview(
    session: Session, actor: str | None, data: bytes, filename: str, village_code: str, kind_code: str, period: str
) -> Preview:
    """Check a roster file as :func:`import_roster` would, and show what it would publish; writes nothing."""
    village, kind, period, rows, sha = _prepare(session, actor, data, filename, village_code, kind_code, period)
    existing = published_roster(session, village, kind.code, period)
    return Preview(
        village=village.code,
        village_name=village.name,
        kind=kind.code,
        kind_name=kind.name,
        period=period,
        filename=filename,
        sha256=sha,
        households=len(rows),
        people=sum(row.people or 1 for row in rows),
        total_fen=sum(row.amount_fen for row in rows),
        rows=[public_fields(kind, _row_fields(row)) for row in rows[:20]],
        existing=existing.id if existing else None,
    )


def _row_fields(row: Row) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_masked": masked_id(row.id_number),
        "group": row.group,
        "people": row.people,
        "amount_fen": row.amount_fen,
        "paid_on": row.paid_on,
    }


def import_roster(
    session: Session,
    actor: str | None,
    data: bytes,
    filename: str,
    village_code: str,
    kind_code: str,
    period: str,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> Preview:
    """Check and publish a roster file for a village, kind and period: all rows or none.

    Raises :class:`~engine.public.spreadsheets.SheetInvalid` or :class:`RosterInvalid` (every problem
    with its line and column), :class:`Conflict` when that period's roster is published and
    ``replace`` is not given, :class:`PermissionDenied` for anyone outside ``keeping_rosters``."""
    begin_write(session)
    now = now or clock.now()
    filename = (filename or "roster.csv")[:200]
    village, kind, period, rows, sha = _prepare(session, actor, data, filename, village_code, kind_code, period)
    existing = published_roster(session, village, kind.code, period)
    if existing is not None and not replace:
        raise Conflict(
            code="subsidy.exists",
            params={
                "village": village.code,
                "kind": kind.code,
                "period": period,
                "roster": existing.id,
                "village_name": village.name,
                "period_label": period_label(period),
                "kind_name": kind.name,
            },
        )
    roster = SubsidyRoster(
        village_id=village.id,
        kind=kind.code,
        period=period,
        status=PUBLISHED,
        source=IMPORT,
        filename=filename,
        file_sha256=sha,
        households=len(rows),
        people=sum(row.people or 1 for row in rows),
        total_fen=sum(row.amount_fen for row in rows),
        imported_by=actor,
        imported_at=now,
    )
    session.add(roster)
    session.flush()
    made: dict[str, Any] = {}
    for row in rows:
        household = household_for(session, village, row.household, row.name, row.last4, now, made)
        session.add(
            SubsidyEntry(
                roster_id=roster.id,
                household_id=household.id,
                line=row.line,
                recipient_name=row.name,
                id_masked=masked_id(row.id_number),
                people=row.people,
                amount_fen=row.amount_fen,
                paid_on=row.paid_on,
                group_name=row.group,
                check_digest=digest(household.salt, household.code, row.last4),
            )
        )
    if existing is not None:
        existing.status = REPLACED
        existing.replaced_by_id = roster.id
        existing.withdrawn_by, existing.withdrawn_at = actor, now
        existing.withdraw_reason = text("subsidies.replaced_by", roster=roster.id, file=filename)
    detail = {
        "roster": roster.id,
        "village": village.code,
        "kind": kind.code,
        "period": period,
        "file": filename,
        "sha256": sha,
        "rows": len(rows),
        "total_fen": roster.total_fen,
        "replaces": existing.id if existing is not None else None,
    }
    session.add(AuditLog(at=now, actor=actor, action="subsidy.import", subject=f"roster #{roster.id}", detail=detail))
    session.flush()
    shown = preview_of(roster, kind, village, rows)
    return shown


def preview_of(roster: SubsidyRoster, kind: Kind, village: OrgUnit, rows: list[Row]) -> Preview:
    return Preview(
        village=village.code,
        village_name=village.name,
        kind=kind.code,
        kind_name=kind.name,
        period=roster.period,
        filename=roster.filename or "",
        sha256=roster.file_sha256 or "",
        households=roster.households,
        people=roster.people,
        total_fen=roster.total_fen,
        rows=[public_fields(kind, _row_fields(row)) for row in rows[:20]],
        existing=None,
        roster_id=roster.id,
    )


def withdraw(
    session: Session, actor: str | None, roster_id: int, reason: str, now: datetime | None = None
) -> StaffRoster:
    """Take a published roster down (a wrong one), with the reason; it stays in the record."""
    begin_write(session)
    now = now or clock.now()
    roster = session.get(SubsidyRoster, roster_id)
    if roster is None:
        raise NotFound(code="subsidy.not_found", params={"roster": roster_id})
    village = session.get(OrgUnit, roster.village_id)
    assert village is not None
    require(session, actor, "subsidy.withdraw", village)
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= MAX_REASON:
        raise PowerlistError(
            code="subsidy.reason_needed",
            params={"max": MAX_REASON},
            field="reason",
        )
    if roster.status != PUBLISHED:
        raise InvalidState(code="subsidy.not_published", params={"roster": roster.id})
    roster.status = WITHDRAWN
    roster.withdrawn_by, roster.withdrawn_at, roster.withdraw_reason = actor, now, reason
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="subsidy.withdraw",
            subject=f"roster #{roster.id}",
            detail={
                "roster": roster.id,
                "village": village.code,
                "kind": roster.kind,
                "period": roster.period,
                "reason": reason,
            },
        )
    )
    session.flush()
    return staff_roster(roster, village)
