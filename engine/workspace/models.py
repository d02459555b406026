"""Tables of the cadre's workspace: attachments, approval operations, API tokens, logins, retries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.enums import EnumText
from engine.persistence.models import Base, BigId


class ApprovalStatus(StrEnum):
    """Where an added approval (加签) stands: waiting, agreed, declined, or dropped with its task."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Attachment(Base):
    """A file uploaded by a user; claimed by one step of one matter when that step is submitted.

    The content lives once per SHA-256 under the instance folder; the hash is also written into
    the step's history event, so a swapped file is detected.
    """

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_instance", "instance_id", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_at: Mapped[datetime]
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    step_id: Mapped[str | None] = mapped_column(String(100))
    slot: Mapped[str | None] = mapped_column(String(64))  # the x-attachments name


class MatterCopy(Base):
    """抄送: a matter copied to a user for their information."""

    __tablename__ = "matter_copy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None]


class TaskReminder(Base):
    """催办: someone asked the holders of an open step to act."""

    __tablename__ = "task_reminder"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class AddedApproval(Base):
    """加签: an extra approver asked to agree before a step is done (``before``) or before its
    submission takes effect (``after``; the holder's submission waits in ``parked``)."""

    __tablename__ = "added_approval"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(8))  # before | after
    approver: Mapped[str] = mapped_column(String(64), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ApprovalStatus] = mapped_column(EnumText(ApprovalStatus, 16), default=ApprovalStatus.PENDING)
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    parked: Mapped[dict[str, Any] | None]  # {"actor", "data", "waive_reason"} of an ``after`` submission


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every password login, kept for a day: the rate limit counts recent failures per user and address."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_who", "username", "address", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    success: Mapped[bool]


class IdempotencyKey(Base):
    """The result of a submission, so a retried submission shows it instead of acting twice."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("username", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    result: Mapped[dict[str, Any]]


class StagedUpload(Base):
    """An uploaded flow that passed validation, kept until the administrator deploys it."""

    __tablename__ = "staged_upload"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(String(200))
    bpmn: Mapped[bytes] = mapped_column(LargeBinary)
    forms: Mapped[dict[str, Any]]  # path -> text


class LoginAddressFailure(Base):
    """A failed password login, by address only and kept for a day: one address is limited across
    every user name it tries."""

    __tablename__ = "login_address_failure"
    __table_args__ = (Index("ix_login_address_failure_address", "address", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
