"""Appending events to an instance's history, and reading them back.

What an event records is an :class:`EventKind`: every state change of a matter appends one or more.
The enum is defined beside the column types in :mod:`engine.persistence.enums` (the table needs it
before this module can load) and is imported from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import format_time
from engine.history import state
from engine.history.chain import canonical_json, event_hash
from engine.persistence.enums import EventKind
from engine.persistence.models import HistoryEvent, Matter

__all__ = ["EventKind", "append", "event_dict", "events_of"]


def append(
    session: Session,
    instance: Matter,
    kind: EventKind,
    *,
    at: datetime,
    actor: str | None = None,
    step_id: str | None = None,
    data: dict[str, Any] | None = None,
    state_digest: bytes | None = None,
) -> HistoryEvent:
    """Chain a new event after the instance's newest one; the caller's transaction keeps both.

    The event carries the digest of the matter's state as it is when the event is appended (make
    the change first, then record it), or ``state_digest`` when the caller computed it already.
    """
    seq = instance.history_seq + 1
    payload = canonical_json(data or {})
    if state_digest is None:
        state_digest = state.state_digest(session, instance)
    digest = event_hash(
        instance.history_head,
        instance_id=instance.id,
        seq=seq,
        kind=kind,
        at=at,
        actor=actor,
        step_id=step_id,
        data=payload,
        state_digest=state_digest,
    )
    values = {
        "instance_id": instance.id,
        "seq": seq,
        "kind": kind,
        "at": at,
        "actor": actor,
        "step_id": step_id,
        "data": payload,
        "state_digest": state_digest,
        "hash": digest,
    }
    # Events are append-only: a plain INSERT on the session's connection (same transaction) skips
    # the unit of work. The returned object is a detached record of what was written.
    session.connection().execute(_INSERT, values)
    event = HistoryEvent(**values)
    instance.history_seq = seq
    instance.history_head = digest
    return event


_INSERT = HistoryEvent.__table__.insert()


def event_dict(event: HistoryEvent) -> dict[str, Any]:
    import json

    return {
        "seq": event.seq,
        "kind": event.kind,
        "at": format_time(event.at),
        "actor": event.actor,
        "step": event.step_id,
        "data": json.loads(event.data),
        "state": event.state_digest.hex() if event.state_digest else None,
        "hash": event.hash.hex(),
    }


def events_of(session: Session, instance_id: int) -> list[HistoryEvent]:
    return list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq))
    )
