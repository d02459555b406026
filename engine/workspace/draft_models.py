"""The table of drafts: what a cadre has typed into a form and not yet submitted.

A draft is a convenience kept for its writer only; it is never part of a matter's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base, BigId


class TaskDraft(Base):
    """One user's unsent form: of an open step (``task_id``) or of a flow's start form (``flow_key``).

    ``revision`` is the writer's own clock (milliseconds) at typing time: the latest typing wins,
    whichever device or request arrives last.
    """

    __tablename__ = "task_draft"
    __table_args__ = (UniqueConstraint("username", "task_id"), UniqueConstraint("username", "flow_key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    instance_id: Mapped[int | None] = mapped_column(BigId, index=True)
    step_id: Mapped[str | None] = mapped_column(String(100))
    flow_key: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]]
    revision: Mapped[int] = mapped_column(BigInteger)
    saved_at: Mapped[datetime]
