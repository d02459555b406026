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
