"""Tables of supervision: due timers, violations and their event chains, evidence, rule-set versions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.enums import EnumText, Level
from engine.persistence.models import Base, BigId


class Severity(StrEnum):
    """The colour of a violation warning, worst first."""

    RED = "red"
    YELLOW = "yellow"
    BLUE = "blue"


class ViolationOutcome(StrEnum):
    """How a closed violation ended."""

    RECTIFIED = "rectified"
    HANDLED = "handled"
    DISMISSED = "dismissed"


class DecisionStatus(StrEnum):
    """A registered decision is open until it is closed (done with) or revoked."""

    OPEN = "open"
    CLOSED = "closed"
    REVOKED = "revoked"


class ViolationStatus(StrEnum):
    """open → acknowledged → rectified, or escalated up the chain → closed."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RECTIFIED = "rectified"
    ESCALATED = "escalated"
    CLOSED = "closed"


class SupervisionTimer(Base):
    """Something that must happen at a time: a deadline warning, a BPMN timer, an escalation.

    Rows are claimed by the sweep (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and marked ``fired`` in
    the same transaction as their effect, so each fires once. ``key`` makes scheduling idempotent.
    """

    __tablename__ = "supervision_timer"
    __table_args__ = (Index("ix_supervision_timer_fired_due_at", "fired", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime]
    fired: Mapped[bool] = mapped_column(default=False)
    fired_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    violation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("violation.id"))
    payload: Mapped[dict[str, Any]]


class Violation(Base):
    """A violation warning (违规预警): what rule was broken, where, by whom, and how it is being handled.

    The row holds the current state; every change is a :class:`ViolationEvent` in a hash chain whose
    head is kept here, so edits to either are detected (:mod:`engine.supervision.violation_chain`).
    """

    __tablename__ = "violation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    severity: Mapped[Severity] = mapped_column(EnumText(Severity, 8))
    points: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[str] = mapped_column(String(64))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    responsible_role: Mapped[str | None] = mapped_column(String(32))
    responsible_user: Mapped[str | None] = mapped_column(String(64))
    owner_role: Mapped[str | None] = mapped_column(String(32))
    owner_user: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[Level] = mapped_column(EnumText(Level, 10))  # who supervises now
    status: Mapped[ViolationStatus] = mapped_column(EnumText(ViolationStatus, 16), index=True)
    outcome: Mapped[ViolationOutcome | None] = mapped_column(EnumText(ViolationOutcome, 16))  # set on close
    detected_at: Mapped[datetime]
    rectify_by: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    period: Mapped[str] = mapped_column(String(8), index=True)  # 2026Q4, China time
    rectification_instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    event_seq: Mapped[int] = mapped_column(default=0)
    event_head: Mapped[bytes] = mapped_column(LargeBinary(32))


class ViolationEvent(Base):
    """Append-only record of a violation's changes, each with its actor, chained by SHA-256."""

    __tablename__ = "violation_event"
    __table_args__ = (UniqueConstraint("violation_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    violation_id: Mapped[int] = mapped_column(BigId, ForeignKey("violation.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Evidence(Base):
    """A fact from outside the flow, e.g. a village-card (村务卡) payment; also kept in the matter's history.

    Rows that match no matter are kept too (``instance_id`` empty) and reported.
    """

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_village_id_payee_at", "village_id", "payee", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    payee: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    history_seq: Mapped[int | None]
    data: Mapped[dict[str, Any]]


class RuleSetVersion(Base):
    """An activated supervision rule set (the YAML text as activated), per scope: ``*`` or a county code."""

    __tablename__ = "rule_set_version"
    __table_args__ = (UniqueConstraint("scope", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    label: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    activated_at: Mapped[datetime]
    activated_by: Mapped[str | None] = mapped_column(String(64))


class SupervisionNotice(Base):
    """A warning or rectification notice (预警通知 / 整改通知) issued to a village for its grade in a period."""

    __tablename__ = "supervision_notice"
    __table_args__ = (UniqueConstraint("period", "village_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    grade: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))  # warning | rectification
    score: Mapped[int]
    deducted: Mapped[int]
    issued_at: Mapped[datetime]
    issued_by: Mapped[str | None] = mapped_column(String(64))


class Decision(Base):
    """A passed approving decision in the village's register (决议台账), numbered by the system.

    A 四议两公开 resolution, a “两委” or 村民代表会议 decision, a payment approved under 先审后付, or
    one passed on paper before the village used the system (recorded by the town). Payments,
    contracts and works cite it by ``number``; :class:`DecisionUse` holds what each citation counts.
    """

    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("village_id", "number"),
        UniqueConstraint("village_id", "kind", "year", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24))  # resolution | joint_meeting | representatives | payment_approval
    year: Mapped[int]
    seq: Mapped[int]
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(200))
    passed_on: Mapped[str] = mapped_column(String(10))  # ISO date, China time
    status: Mapped[DecisionStatus] = mapped_column(EnumText(DecisionStatus, 12), index=True)
    source: Mapped[str] = mapped_column(String(12))  # flow | paper
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(String(100))
    history_seq: Mapped[int | None]
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class DecisionUse(Base):
    """What one step of a matter counts against a decision it cites: contracted or paid, in fen.

    One row per decision, matter and step, replaced when the step is done again; a cancelled matter's
    uses count nothing.
    """

    __tablename__ = "decision_use"
    __table_args__ = (UniqueConstraint("decision_id", "instance_id", "step_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int] = mapped_column(BigId, ForeignKey("decision.id"), index=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(12))  # contracted | paid
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    history_seq: Mapped[int | None]


class NoticeCounter(Base):
    """The last number an issuing unit gave a kind of document in a year: numbers are never reused.

    Taken under the row's lock after the violation's (see "Lock order" in docs/architecture.md).
    """

    __tablename__ = "notice_counter"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int]
    last: Mapped[int]


class SupervisionDocument(Base):
    """A numbered document issued by a supervising unit: 预警通知书, 整改通知书 or 三色督查令.

    For a violation (``violation_id``; its issue and receipt are events of the violation's chain)
    or for a village's grade in a quarter (``notice_id``: the :class:`SupervisionNotice` it puts on
    paper). ``content`` is the text as issued (title, addressee, paragraphs, signature, the facts
    it was made from); ``content_sha256`` is its digest, also kept in the chain event.
    """

    __tablename__ = "supervision_document"
    __table_args__ = (
        UniqueConstraint("issuer_unit_id", "kind", "year", "seq"),
        UniqueConstraint("notice_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # warning | rectification | order
    number: Mapped[str] = mapped_column(String(120), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    issuer_role: Mapped[str] = mapped_column(String(32))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    violation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("violation.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_notice.id"))
    colour: Mapped[str | None] = mapped_column(String(8))  # an order's: red | yellow | blue
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]]
    content_sha256: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(64))
    check_url: Mapped[str] = mapped_column(String(300))  # what its QR code opens
    rectify_by: Mapped[datetime | None]
    reply_by: Mapped[datetime | None]
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime | None]
    received_by: Mapped[str | None] = mapped_column(String(100))  # who signed for it, as written
    receipt_recorded_by: Mapped[str | None] = mapped_column(String(64))
    receipt_note: Mapped[str | None] = mapped_column(Text)


class SupervisionTalk(Base):
    """A 约谈 (interview) or 提醒谈话 (reminder talk) held about a violation and/or with a village.

    ``present`` lists the people present by name and office; the talk is an event of the
    violation's chain when it concerns one.
    """

    __tablename__ = "supervision_talk"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # interview | reminder
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    violation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("violation.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the unit that held it
    held_on: Mapped[str] = mapped_column(String(10))  # ISO date, China time
    place: Mapped[str] = mapped_column(String(200))
    present: Mapped[list[Any]] = mapped_column(JSON)  # [{"name", "office"}]
    subject_name: Mapped[str] = mapped_column(String(100))
    subject_office: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    follow_up_on: Mapped[str | None] = mapped_column(String(10))  # ISO date, China time
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
