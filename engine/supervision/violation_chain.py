"""The hash chain over each violation's events, built like the instances' history chains.

Each event's hash is :func:`engine.history.chain.violation_event_hash`: SHA-256 over the previous
hash, a canonical header line (violation, seq, kind, time, actor) and the stored payload text.
Verification also replays the events and compares the state they lead to with the violation row,
so editing the row alone is detected too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history.chain import ChainWalk, canonical_json, violation_event_hash, violation_link
from engine.supervision.models import Violation, ViolationEvent

# Fields of the violation row that events set; a replay of the events must reproduce them.
TRACKED = ("code", "severity", "points", "status", "level", "outcome", "village_id", "instance_id")


def append(
    session: Session, violation: Violation, kind: str, *, at: datetime, actor: str | None, data: dict[str, Any]
) -> ViolationEvent:
    """Chain an event after the violation's newest one. ``data["set"]`` holds the fields it changes."""
    seq = violation.event_seq + 1
    payload = canonical_json(data)
    digest = violation_event_hash(
        violation.event_head, violation_id=violation.id, seq=seq, kind=kind, at=at, actor=actor, data=payload
    )
    event = ViolationEvent(violation_id=violation.id, seq=seq, kind=kind, at=at, actor=actor, data=payload, hash=digest)
    session.add(event)
    violation.event_seq = seq
    violation.event_head = digest
    return event


@dataclass
class ChainReport:
    violations: int = 0
    events: int = 0
    bad: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad is None


def verify(session: Session, violation_id: int | None = None) -> ChainReport:
    """Re-compute every violation's chain and replay it against the row; stop at the first problem."""
    report = ChainReport()
    query = select(Violation).order_by(Violation.id)
    if violation_id is not None:
        query = query.where(Violation.id == violation_id)
    for violation in session.scalars(query):
        report.violations += 1
        walk, state = ChainWalk(violation_link), {}
        events = session.scalars(
            select(ViolationEvent).where(ViolationEvent.violation_id == violation.id).order_by(ViolationEvent.seq)
        )
        for event in events:
            report.events += 1
            broken = walk.step(event)
            if broken == "reordered":
                report.bad = (
                    f"violation {violation.id} event #{event.seq}: expected #{walk.next_seq} (deleted or reordered)"
                )
                return report
            if broken == "altered":
                report.bad = f"violation {violation.id} event #{event.seq}: hash does not match (the event was altered)"
                return report
            state.update(json.loads(event.data).get("set", {}))
        if not walk.ends_at(violation.event_seq, violation.event_head):
            report.bad = (
                f"violation {violation.id}: events end at #{walk.length}, the row records {violation.event_seq}"
            )
            return report
        for name in TRACKED:
            if name in state and state[name] != getattr(violation, name):
                report.bad = (
                    f"violation {violation.id}: {name} is {getattr(violation, name)!r} but its events say "
                    f"{state[name]!r} (the row was altered)"
                )
                return report
    return report
