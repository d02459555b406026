"""Tables of the engine. Schema changes go through Alembic migrations in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.persistence.enums import EnumText, EventKind, Level, MatterStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (rowid alias, auto-increment) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class OrgUnit(Base):
    """A county, town or village. Villages belong to towns, towns to counties."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[Level] = mapped_column(EnumText(Level, 10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="joined", join_depth=2)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Raised to end every session and remembered sign-in of the user (logout, password change).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an administrator chose the password: the user must choose their own before going on.
    # The server default '0' reads as false on SQLite and PostgreSQL alike.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default="0")

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class RoleAssignment(Base):
    """A user holds a role in one org unit (a village for village roles, a town or county above)."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class DefinitionVersion(Base):
    """One immutable deployed version of a power item's flow, its forms and its parsed spec."""

    __tablename__ = "definition_version"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The large columns are read only when a version is first restored in a process.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    forms: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # SpiffWorkflow specs, stored once per version
    meta: Mapped[dict[str, Any]]  # item metadata and steps (see engine.definitions.descriptions)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    retired: Mapped[bool] = mapped_column(default=False)


class Matter(Base):
    """A matter (事项) of one village running on one definition version."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[MatterStatus] = mapped_column(EnumText(MatterStatus, 16), default=MatterStatus.RUNNING)
    revision: Mapped[int] = mapped_column(default=0)
    # Compressed workflow state without the spec; deferred so revision checks do not read it.
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    history_seq: Mapped[int] = mapped_column(default=0)  # seq of the newest history event
    history_head: Mapped[bytes] = mapped_column(LargeBinary(32))  # hash of the newest history event
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    definition: Mapped[DefinitionVersion] = relationship()
    village: Mapped[OrgUnit] = relationship()

    __mapper_args__ = {"version_id_col": revision}


class OpenTask(Base):
    """Queryable index of the user tasks that are open now: one row per READY user task."""

    __tablename__ = "open_task"
    __table_args__ = (
        Index("ix_open_task_scope", "org_unit_id", "role"),
        Index("ix_open_task_due", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # made when the task opens
    engine_task_id: Mapped[str] = mapped_column(String(36))  # SpiffWorkflow's task id in the saved workflow
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(64))


class HistoryEvent(Base):
    """Append-only, hash-chained record of everything that happened to an instance."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"))
    seq: Mapped[int]
    kind: Mapped[EventKind] = mapped_column(EnumText(EventKind, 32))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    step_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON of the event's payload
    # Digest of the state the event leaves (engine.history.state); None on events older than it.
    state_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditLog(Base):
    """Administrative changes outside any instance (deployments, users, rules)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
