"""The closed sets of words the core tables hold, and the column type that maps them.

Each set is a :class:`enum.StrEnum`, so a member equals, hashes, formats and JSON-encodes as its
plain text: pages, exports and hashes see the same words as before. :class:`EnumText` keeps the
column a plain ``VARCHAR`` of the same length (the schema does not change) and gives back members.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A ``String(length)`` column holding one of ``enum``'s values.

    Binds a member or its text (anything else raises ``ValueError``); loads a member. A stored text
    outside the set raises too: the tables are written only by this code, so such a row is damage,
    not data to pass on.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return self.enum(value).value

    @property
    def python_type(self) -> type[E]:
        return self.enum


class MatterStatus(StrEnum):
    """Where a matter (process instance) stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Level(StrEnum):
    """The level of an org unit, of a role, and of who supervises a violation now."""

    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"


class EventKind(StrEnum):
    """What a history event records; every state change of a matter appends one or more."""

    INSTANCE_STARTED = "instance_started"
    TASK_COMPLETED = "task_completed"
    TASK_FORCED = "task_forced"  # moved past by a privileged user, with a reason
    EVIDENCE_RECORDED = "evidence_recorded"  # e.g. a village-card payment matched to the matter
    GATEWAY_TAKEN = "gateway_taken"
    TIMER_FIRED = "timer_fired"
    INSTANCE_ENDED = "instance_ended"
    INSTANCE_CANCELLED = "instance_cancelled"
    DECISION_REGISTERED = "decision_registered"  # the step passed a decision, numbered in the register
    DECISION_CLOSED = "decision_closed"  # a decision of the matter closed or revoked
    STATE_SEALED = "state_sealed"  # the state digest of a matter whose events predate state digests
    INSTANCE_MIGRATED = "instance_migrated"  # the matter moved to a newer version of its flow
    # Written by the workspace's approval operations.
    TASK_REJECTED = "task_rejected"
    TASK_RETURNED = "task_returned"
    TASK_WITHDRAWN = "task_withdrawn"
    TASK_TRANSFERRED = "task_transferred"
    TASK_REMINDED = "task_reminded"
    TASK_PARKED = "task_parked"  # submitted; waits for an added approver
    MATTER_COPIED = "matter_copied"
    APPROVER_ADDED = "approver_added"
    APPROVER_DECIDED = "approver_decided"
