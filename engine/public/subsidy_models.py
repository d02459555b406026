"""Tables of 补贴去哪了: subsidy rosters, their entries and households' lookup codes.

No table holds a full resident ID number or a bank account: an entry keeps the ID's region code with
the rest as ``*`` (``id_masked``), and for the household's own lookup an HMAC-SHA256, under the
household's random salt, of its code and the last four characters of the head's ID (``check_digest``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.enums import EnumText
from engine.persistence.models import Base, BigId


class RosterStatus(StrEnum):
    """A roster is published until it is withdrawn or replaced by a newer one of its kind and period."""

    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    REPLACED = "replaced"


class SubsidyHousehold(Base):
    """A household of a village by the code on its door plate (户码), with the salt of its lookups."""

    __tablename__ = "subsidy_household"
    __table_args__ = (UniqueConstraint("village_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_unit.id"))
    code: Mapped[str] = mapped_column(String(32))
    salt: Mapped[str] = mapped_column(String(64))  # hex of 32 random bytes
    created_at: Mapped[datetime]


class SubsidyRoster(Base):
    """One published list of a kind of subsidy for a village and period (imported or made by a flow).

    ``status``: ``published``, ``withdrawn`` (taken down, with the reason) or ``replaced`` (by the
    roster ``replaced_by_id``, imported with ``--replace``)."""

    __tablename__ = "subsidy_roster"
    __table_args__ = (Index("ix_subsidy_roster_village", "village_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))  # 2026-11, 2026Q4, 2026
    status: Mapped[RosterStatus] = mapped_column(EnumText(RosterStatus, 16))
    source: Mapped[str] = mapped_column(String(16))  # import, flow
    filename: Mapped[str | None] = mapped_column(String(200))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int]
    people: Mapped[int]
    total_fen: Mapped[int]
    imported_by: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("subsidy_roster.id"))


class SubsidyEntry(Base):
    """One household's line of a roster: the name as typed (shown only masked), never a full ID."""

    __tablename__ = "subsidy_entry"
    __table_args__ = (Index("ix_subsidy_entry_household", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    roster_id: Mapped[int] = mapped_column(BigId, ForeignKey("subsidy_roster.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(BigId, ForeignKey("subsidy_household.id"))
    line: Mapped[int | None]  # the line of the imported file
    recipient_name: Mapped[str] = mapped_column(String(50))
    id_masked: Mapped[str] = mapped_column(String(18))  # the region code, the rest as *
    people: Mapped[int | None]
    amount_fen: Mapped[int]
    paid_on: Mapped[str | None] = mapped_column(String(10))
    group_name: Mapped[str | None] = mapped_column(String(50))  # 村民小组
    check_digest: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id", ondelete="SET NULL"))


class SubsidyLookupAttempt(Base):
    """Every household lookup sent from the public form, kept for a day: the rate limits count them,
    per sender and, for wrong checks, per household code."""

    __tablename__ = "subsidy_lookup_attempt"
    __table_args__ = (
        Index("ix_subsidy_lookup_attempt_who", "address", "at"),
        Index("ix_subsidy_lookup_attempt_code", "village_id", "code", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    # The household code as typed (whether or not it exists) and whether the check matched: wrong
    # checks are also counted per code, so guessing from many addresses is stopped too.
    village_id: Mapped[int | None]
    code: Mapped[str | None] = mapped_column(String(32))
    matched: Mapped[bool] = mapped_column(default=False)
