"""Tables of the audit area: daily history anchors and the auditors' activity-name mappings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base


class HistoryAnchor(Base):
    """One day's digest over every history chain (see :mod:`engine.audit.anchor`).

    ``leaves`` holds, compressed, the (instance, seq, head) of the instances that changed since the
    previous anchor; the leaves of all anchors up to this one give the full set it covers.
    """

    __tablename__ = "history_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    instance_count: Mapped[int]
    event_count: Mapped[int] = mapped_column(BigInteger)
    changed_count: Mapped[int]
    leaves: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ActivityMapping(Base):
    """How an activity name found in an imported event log maps to a step of a flow."""

    __tablename__ = "audit_activity_mapping"
    __table_args__ = (UniqueConstraint("flow_key", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_key: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    step_id: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))
