"""Daily anchors: one digest a day over every history chain, to print, publish or send upwards.

The hash chains of :mod:`engine.history` show that an event was edited, but not that the newest
events of a matter, or a whole matter, were removed with the chain's head rewritten. An anchor
closes that gap. Each day it takes, for every instance, the leaf (instance id, history seq, head
hash), builds a Merkle root over the leaves sorted by instance id, and derives the digest from the
day and the root. Whoever keeps the digest outside the database can later ask
:func:`verify_anchor` whether the database still holds exactly what the anchor covered: later
events may have been appended, nothing covered may be missing or different.

Storage stays small: each anchor row keeps, compressed, only the leaves of instances that changed
since the previous anchor; the leaves of all anchors up to one anchor give the full set it covers.
The digest authenticates those stored leaves too, so altering the anchor table is detected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import merkle
from engine.audit.models import HistoryAnchor
from engine.calendar import CST
from engine.errors import InvalidState
from engine.history.chain import GENESIS, event_hash
from engine.persistence.db import begin_write
from engine.persistence.models import HistoryEvent, ProcessInstance

Leaves = dict[int, tuple[int, bytes]]  # instance id -> (seq, head)
MIN_PREFIX = 16


def digest_of(day: date, root: bytes) -> str:
    return hashlib.sha256(b"powerlist-anchor-v1\n" + day.isoformat().encode() + b"\n" + root).hexdigest()


def today() -> date:
    return clock.now().astimezone(CST).date()


def latest_anchor(session: Session) -> HistoryAnchor | None:
    return session.scalar(select(HistoryAnchor).order_by(HistoryAnchor.id.desc()).limit(1))


def current_leaves(session: Session) -> Leaves:
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.history_seq, ProcessInstance.history_head).order_by(
            ProcessInstance.id
        )
    )
    return {row.id: (row.history_seq, bytes(row.history_head)) for row in rows}


def anchored_leaves(session: Session, upto: HistoryAnchor | None = None) -> Leaves:
    """The full leaf set covered by ``upto`` (default: the newest anchor)."""
    query = select(HistoryAnchor.leaves).order_by(HistoryAnchor.id)
    if upto is not None:
        query = query.where(HistoryAnchor.id <= upto.id)
    leaves: Leaves = {}
    for blob in session.scalars(query):
        leaves.update(merkle.unpack(blob))
    return leaves


def root_of(leaves: Leaves) -> bytes:
    return merkle.root(merkle.leaf_bytes(i, seq, head) for i, (seq, head) in sorted(leaves.items()))


def make_anchor(session: Session, day: date | None = None) -> HistoryAnchor:
    """Today's (or ``day``'s) anchor over the database as it is now; the same row when it exists.

    Refuses when something an earlier anchor covered is gone or rewritten: anchoring a database
    that lost records would hide the loss.
    """
    day = day or today()
    begin_write(session)
    existing = session.scalar(select(HistoryAnchor).where(HistoryAnchor.day == day))
    if existing is not None:
        return existing
    previous = anchored_leaves(session)
    current = current_leaves(session)
    changed: Leaves = {}
    for instance_id, (seq, head) in current.items():
        before = previous.get(instance_id)
        if before != (seq, head):
            changed[instance_id] = (seq, head)
    _check_continuity(session, previous, current, changed)
    root = root_of(current)
    anchor = HistoryAnchor(
        day=day,
        digest=digest_of(day, root),
        instance_count=len(current),
        event_count=sum(seq for seq, _ in current.values()),
        changed_count=len(changed),
        leaves=merkle.pack(changed),
        created_at=clock.now(),
    )
    session.add(anchor)
    session.flush()
    return anchor


def _check_continuity(session: Session, previous: Leaves, current: Leaves, changed: Leaves) -> None:
    for instance_id, (seq, _head) in previous.items():
        if instance_id not in current:
            raise InvalidState(f"matter {instance_id} was covered by an earlier anchor and is missing now")
        if current[instance_id][0] < seq:
            raise InvalidState(
                f"matter {instance_id} has {current[instance_id][0]} events but an earlier anchor covered {seq}"
            )
    grown = [i for i in changed if i in previous and previous[i][0] > 0]
    for start in range(0, len(grown), 500):
        chunk = grown[start : start + 500]
        rows = session.execute(
            select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.hash).where(
                HistoryEvent.instance_id.in_(chunk)
            )
        )
        stored = {(r.instance_id, r.seq): bytes(r.hash) for r in rows}
        for instance_id in chunk:
            seq, head = previous[instance_id]
            if stored.get((instance_id, seq)) != head:
                raise InvalidState(
                    f"matter {instance_id}: event #{seq}, covered by an earlier anchor, is missing or was rewritten"
                )


@dataclass
class AnchorCheck:
    """Whether the database still holds exactly what an anchor covered."""

    ok: bool
    digest: str
    day: date | None = None
    instances: int = 0
    events: int = 0
    instance_id: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.day is None:
            return f"no anchor with digest {self.digest}: {self.problem}"
        what = f"anchor of {self.day.isoformat()} ({self.digest[:16]}…)"
        if self.ok:
            return (
                f"ok: {what} covers {self.instances} matters and {self.events} events; "
                "every one is still present and unchanged"
            )
        where = f"matter {self.instance_id}: " if self.instance_id is not None else ""
        return f"{what}: {where}{self.problem}"

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "digest": self.digest,
            "day": self.day.isoformat() if self.day else None,
            "instances": self.instances,
            "events": self.events,
            "instance": self.instance_id,
            "problem": self.problem,
            "message": str(self),
        }


def find_anchor(session: Session, digest: str) -> HistoryAnchor | None:
    text = digest.strip().lower()
    if len(text) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in text):
        return None
    if len(text) == 64:
        return session.scalar(select(HistoryAnchor).where(HistoryAnchor.digest == text))
    rows = list(session.scalars(select(HistoryAnchor).where(HistoryAnchor.digest.startswith(text)).limit(2)))
    return rows[0] if len(rows) == 1 else None


def verify_anchor(session: Session, digest: str) -> AnchorCheck:
    """Recompute what the anchor with ``digest`` covered and compare it with the database now."""
    anchor = find_anchor(session, digest)
    if anchor is None:
        return AnchorCheck(
            False,
            digest.strip(),
            problem=f"the anchor record was deleted or altered, or the digest is mistyped "
            f"(give all 64 hex digits or at least {MIN_PREFIX})",
        )
    check = AnchorCheck(False, anchor.digest, anchor.day)
    try:
        leaves = anchored_leaves(session, anchor)
    except ValueError as exc:
        check.problem = f"the stored anchor records are damaged ({exc})"
        return check
    check.instances = len(leaves)
    check.events = sum(seq for seq, _ in leaves.values())
    if digest_of(anchor.day, root_of(leaves)) != anchor.digest:
        check.problem = "the stored anchor records no longer give this digest: the anchor table was altered"
        return check
    bad = _first_difference(session, leaves)
    if bad is not None:
        check.instance_id, check.problem = bad
        return check
    check.ok = True
    return check


def _first_difference(session: Session, leaves: Leaves) -> tuple[int, str] | None:
    """The first anchored instance (by id) whose history no longer leads to its anchored head."""
    present = {
        row.id: row.history_seq
        for row in session.execute(select(ProcessInstance.id, ProcessInstance.history_seq))
        if row.id in leaves
    }
    events = session.execute(
        select(
            HistoryEvent.instance_id,
            HistoryEvent.seq,
            HistoryEvent.kind,
            HistoryEvent.at,
            HistoryEvent.actor,
            HistoryEvent.step_id,
            HistoryEvent.data,
            HistoryEvent.hash,
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
        .execution_options(yield_per=2000)
    )
    rows = iter(events)
    pending = next(rows, None)
    for instance_id in sorted(leaves):
        seq, head = leaves[instance_id]
        if instance_id not in present:
            return instance_id, f"the matter was deleted (the anchor covers {seq} of its events)"
        if present[instance_id] < seq:
            return instance_id, (
                f"it now records {present[instance_id]} events but the anchor covers {seq}: "
                f"events after #{present[instance_id]} were deleted"
            )
        while pending is not None and pending.instance_id < instance_id:
            pending = next(rows, None)
        prev, expected, altered = GENESIS, 1, None
        while pending is not None and pending.instance_id == instance_id:
            if pending.seq <= seq:
                if pending.seq != expected:
                    return instance_id, f"event #{expected} is missing"
                digest = event_hash(
                    prev,
                    instance_id=instance_id,
                    seq=pending.seq,
                    kind=pending.kind,
                    at=pending.at,
                    actor=pending.actor,
                    step_id=pending.step_id,
                    data=pending.data,
                )
                if altered is None and digest != bytes(pending.hash):
                    altered = pending.seq
                prev, expected = digest, expected + 1
            pending = next(rows, None)
        if expected <= seq:
            return instance_id, f"event #{expected} is missing (the anchor covers up to #{seq})"
        if prev != head:
            if altered is not None:
                return instance_id, f"event #{altered} was altered"
            return instance_id, f"its events up to #{seq} were rewritten: they no longer lead to the anchored head"
    return None


def anchor_info(anchor: HistoryAnchor | None) -> dict | None:
    """What export headers show about an anchor."""
    if anchor is None:
        return None
    return {
        "day": anchor.day.isoformat(),
        "digest": anchor.digest,
        "instances": anchor.instance_count,
        "events": anchor.event_count,
        "created_at": anchor.created_at.isoformat() if isinstance(anchor.created_at, datetime) else None,
    }
