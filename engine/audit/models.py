"""Tables of the audit area: daily history anchors and the auditors' activity-name mappings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base


class HistoryAnchor(Base):
    """One digest over every history and violation chain (see :mod:`engine.audit.anchor`), made for
    a day or for one hour of it.

    ``leaves`` and ``violation_leaves`` hold, compressed, the (id, seq, head) of the matters and the
    violations that changed since the previous anchor; the leaves of all anchors up to this one give
    the full set it covers. Version 1 anchors cover matters only (``violation_leaves`` is None).
    """

    __tablename__ = "history_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # China time
    label: Mapped[str] = mapped_column(String(16), unique=True)  # 2026-12-06, or 2026-12-06T14 for an hour
    version: Mapped[int] = mapped_column(default=1)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    instance_count: Mapped[int]
    event_count: Mapped[int] = mapped_column(BigInteger)
    changed_count: Mapped[int]
    leaves: Mapped[bytes] = mapped_column(LargeBinary)
    violation_count: Mapped[int] = mapped_column(default=0)
    violation_leaves: Mapped[bytes | None] = mapped_column(LargeBinary)
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
