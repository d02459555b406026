"""Tables of 三务公开: each periodic disclosure, what it showed, its digest and its posting.

One row is one revision of one village's disclosure of one kind (finance, village_affairs,
party_affairs) for one period (``2026-11`` or ``2026Q3``). A cadre prepares it (the content is
generated from the record, canonical JSON with its SHA-256), the village's 村监会 reviews it: approving
freezes the content and its digest, returning it keeps the revision as it was and the next preparation
makes a new revision. A cadre then posts the approved revision (the day and the places).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.enums import EnumText
from engine.persistence.models import Base, BigId


class DisclosureStatus(StrEnum):
    """A revision is drafted, then returned or approved by the 村监会; an approved one is posted."""

    DRAFT = "draft"
    RETURNED = "returned"
    APPROVED = "approved"
    POSTED = "posted"


class Disclosure(Base):
    """One revision of a village's periodic disclosure: draft → approved → posted, or returned."""

    __tablename__ = "disclosure"
    __table_args__ = (
        UniqueConstraint("village_id", "kind", "period", "revision"),
        Index("ix_disclosure_village_id_period", "village_id", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(24))  # finance | village_affairs | party_affairs
    period: Mapped[str] = mapped_column(String(8))  # 2026-11 (month) | 2026Q3 (quarter)
    revision: Mapped[int]
    status: Mapped[DisclosureStatus] = mapped_column(EnumText(DisclosureStatus, 12))
    due_on: Mapped[str] = mapped_column(String(10))  # ISO date, China time
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical JSON of content
    note: Mapped[str | None] = mapped_column(Text)  # the cadre's note, masked
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)  # the reason of a return
    posted_by: Mapped[str | None] = mapped_column(String(64))
    posted_at: Mapped[datetime | None]
    posted_on: Mapped[str | None] = mapped_column(String(10))  # ISO date, China time
    places: Mapped[list[Any] | None] = mapped_column(JSON)
