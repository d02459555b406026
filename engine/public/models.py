"""Tables of the public pages: receipt codes of matters, the reports' rate limit and reporters' contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base, BigId


class PublicReceipt(Base):
    """The unguessable code a villager keeps to look up how far a matter has got (流程到哪了)."""

    __tablename__ = "public_receipt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime]


class ReportAttempt(Base):
    """Every report sent from the public form, kept for a day: the rate limit counts them per address."""

    __tablename__ = "public_report_attempt"
    __table_args__ = (Index("ix_public_report_attempt_who", "address", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    accepted: Mapped[bool]


class ComplaintContact(Base):
    """The contact a 码上举报 reporter left, kept out of the matter's history.

    Only the holders of the reply step read it (:func:`engine.public.complaints.reporter_contact`).
    The history's start event holds ``HMAC-SHA256(salt, contact)`` instead, so the record proves
    which contact was given while the digest alone, without this row's salt, reveals nothing.
    """

    __tablename__ = "complaint_contact"

    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    contact: Mapped[str] = mapped_column(String(50))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
