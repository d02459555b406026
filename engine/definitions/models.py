"""Tables of the flows' tenancy: which counties each flow (power item) is published to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base


class FlowPublication(Base):
    """A flow (every version of its key) is in service in a county: its villages start matters of it,
    and only administrators of all of its counties change it."""

    __tablename__ = "flow_publication"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True, index=True)
    published_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(String(64))


class VillagerListing(Base):
    """A flow an administrator reviewed (its category and power-list number) and showed to villagers: the
    public power list shows it while it has a version in service; retiring its last version removes it."""

    __tablename__ = "villager_listing"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int]  # the version reviewed
    category: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(32))
    listed_at: Mapped[datetime]
    listed_by: Mapped[str | None] = mapped_column(String(64))
