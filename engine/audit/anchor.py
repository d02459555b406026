"""Anchors: a digest over every history chain, daily (and hourly when the rules say so), to
print, publish or send upwards.

The hash chains of :mod:`engine.history` and of the violations (:mod:`engine.supervision.violation_chain`)
show that an event was edited, but not that the newest events of a matter or a violation, or a
whole matter or violation, were removed with the chain's head rewritten. An anchor closes that gap.
It takes, for every matter, the leaf (id, history seq, head hash), and for every violation the leaf
(id, event seq, head hash), builds a Merkle root over each set sorted by id, and derives the digest
from the anchor's label (its day, or its day and hour) and both roots. Whoever keeps the digest
outside the database can later ask :func:`verify_anchor` whether the database still holds exactly
what the anchor covered: later events may have been appended, nothing covered may be missing or
different.

Storage stays small: each anchor row keeps, compressed, only the leaves that changed since the
previous anchor; the leaves of all anchors up to one anchor give the full set it covers. The digest
authenticates those stored leaves too, so altering the anchor table is detected. Anchors of
version 1 (made before violations were covered) keep their digest and cover matters only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import merkle
from engine.audit.models import HistoryAnchor
from engine.calendar import CST
from engine.errors import InvalidState, PowerlistError
from engine.history.chain import ChainWalk, history_link, violation_link
from engine.persistence.db import begin_write
from engine.persistence.models import HistoryEvent, Matter
from engine.ruleset import rule
from engine.supervision.models import Violation, ViolationEvent

Leaves = dict[int, tuple[int, bytes]]  # matter or violation id -> (seq, head)
MIN_PREFIX = 16
VERSION = 2  # matters and violations
PERIODS = ("day", "hour")


def digest_of(label: str, root: bytes, violation_root: bytes | None = None) -> str:
    """Version 1 (``violation_root`` None) covers matters only; version 2 both."""
    if violation_root is None:
        return hashlib.sha256(b"powerlist-anchor-v1\n" + label.encode() + b"\n" + root).hexdigest()
    return hashlib.sha256(b"powerlist-anchor-v2\n" + label.encode() + b"\n" + root + violation_root).hexdigest()


def today() -> date:
    return clock.now().astimezone(CST).date()


def period() -> str:
    """How often the scheduler anchors: ``day`` (at 23:55 China time) or ``hour`` (also at :55 of
    every hour), from the rule value ``anchors.every``."""
    every = str(rule("anchors.every"))
    if every not in PERIODS:
        raise PowerlistError(f"anchors.every must be one of {', '.join(PERIODS)}, not {every!r}")
    return every


def label_of(day: date, hour: int | None = None) -> str:
    """``2026-12-06`` for a day's anchor, ``2026-12-06T14`` for the hour 14:00–14:59 China time."""
    return day.isoformat() if hour is None else f"{day.isoformat()}T{hour:02d}"


def latest_anchor(session: Session) -> HistoryAnchor | None:
    return session.scalar(select(HistoryAnchor).order_by(HistoryAnchor.id.desc()).limit(1))


def current_leaves(session: Session) -> Leaves:
    rows = session.execute(
        select(Matter.id, Matter.history_seq, Matter.history_head).order_by(
            Matter.id
        )
    )
    return {row.id: (row.history_seq, bytes(row.history_head)) for row in rows}


def current_violation_leaves(session: Session) -> Leaves:
    rows = session.execute(select(Violation.id, Violation.event_seq, Violation.event_head).order_by(Violation.id))
    return {row.id: (row.event_seq, bytes(row.event_head)) for row in rows}


def anchored_leaves(session: Session, upto: HistoryAnchor | None = None) -> Leaves:
    """The matters' leaves covered by ``upto`` (default: the newest anchor)."""
    return _anchored(session, HistoryAnchor.leaves, upto)


def anchored_violation_leaves(session: Session, upto: HistoryAnchor | None = None) -> Leaves:
    """The violations' leaves covered by ``upto`` (default: the newest anchor)."""
    return _anchored(session, HistoryAnchor.violation_leaves, upto)


def _anchored(session: Session, column, upto: HistoryAnchor | None) -> Leaves:
    query = select(column).where(column.is_not(None)).order_by(HistoryAnchor.id)
    if upto is not None:
        query = query.where(HistoryAnchor.id <= upto.id)
    leaves: Leaves = {}
    for blob in session.scalars(query):
        leaves.update(merkle.unpack(blob))
    return leaves


def root_of(leaves: Leaves) -> bytes:
    return merkle.root(merkle.leaf_bytes(i, seq, head) for i, (seq, head) in sorted(leaves.items()))


def _changed(previous: Leaves, current: Leaves) -> Leaves:
    return {i: leaf for i, leaf in current.items() if previous.get(i) != leaf}


def make_anchor(session: Session, day: date | None = None, hour: int | None = None) -> HistoryAnchor:
    """The anchor of today (or ``day``), or of one hour of it, over the database as it is now; the
    same row when it exists.

    Refuses when something an earlier anchor covered is gone or rewritten: anchoring a database
    that lost records would hide the loss.
    """
    day = day or today()
    if hour is not None and not 0 <= hour <= 23:
        raise PowerlistError(f"hour must be 0–23, not {hour}")
    label = label_of(day, hour)
    begin_write(session)
    existing = session.scalar(select(HistoryAnchor).where(HistoryAnchor.label == label))
    if existing is not None:
        return existing
    previous, current = anchored_leaves(session), current_leaves(session)
    changed = _changed(previous, current)
    _check_continuity(session, previous, current, changed)
    previous_v, current_v = anchored_violation_leaves(session), current_violation_leaves(session)
    changed_v = _changed(previous_v, current_v)
    _check_continuity(session, previous_v, current_v, changed_v, "violation")
    anchor = HistoryAnchor(
        day=day,
        label=label,
        version=VERSION,
        digest=digest_of(label, root_of(current), root_of(current_v)),
        instance_count=len(current),
        event_count=sum(seq for seq, _ in current.values()),
        changed_count=len(changed),
        leaves=merkle.pack(changed),
        violation_count=len(current_v),
        violation_leaves=merkle.pack(changed_v),
        created_at=clock.now(),
    )
    session.add(anchor)
    session.flush()
    return anchor


def _check_continuity(
    session: Session, previous: Leaves, current: Leaves, changed: Leaves, noun: str = "matter"
) -> None:
    """Everything an earlier anchor covered is still there: each owner (a matter, or a violation)
    with at least as many events, and the event at each covered seq still has its covered hash."""
    owner, table = (
        (HistoryEvent.instance_id, HistoryEvent) if noun == "matter" else (ViolationEvent.violation_id, ViolationEvent)
    )
    for owner_id, (seq, _head) in previous.items():
        if owner_id not in current:
            raise InvalidState(f"{noun} {owner_id} was covered by an earlier anchor and is missing now")
        if current[owner_id][0] < seq:
            now_seq = current[owner_id][0]
            raise InvalidState(f"{noun} {owner_id} has {now_seq} events but an earlier anchor covered {seq}")
    grown = [i for i in changed if i in previous and previous[i][0] > 0]
    for start in range(0, len(grown), 500):
        chunk = grown[start : start + 500]
        rows = session.execute(select(owner.label("owner"), table.seq, table.hash).where(owner.in_(chunk)))
        stored = {(r.owner, r.seq): bytes(r.hash) for r in rows}
        for owner_id in chunk:
            seq, head = previous[owner_id]
            if stored.get((owner_id, seq)) != head:
                raise InvalidState(
                    f"{noun} {owner_id}: event #{seq}, covered by an earlier anchor, is missing or was rewritten"
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
    label: str | None = None
    violations: int = 0
    violation_id: int | None = None

    def __str__(self) -> str:
        if self.day is None:
            return f"no anchor with digest {self.digest}: {self.problem}"
        what = f"anchor of {self.label or self.day.isoformat()} ({self.digest[:16]}…)"
        if self.ok:
            covered = f"{self.instances} matters and {self.events} events"
            if self.violations:
                covered += f" and {self.violations} violations"
            return f"ok: {what} covers {covered}; every one is still present and unchanged"
        if self.instance_id is not None:
            where = f"matter {self.instance_id}: "
        elif self.violation_id is not None:
            where = f"violation {self.violation_id}: "
        else:
            where = ""
        return f"{what}: {where}{self.problem}"

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "digest": self.digest,
            "day": self.day.isoformat() if self.day else None,
            "label": self.label,
            "instances": self.instances,
            "events": self.events,
            "violations": self.violations,
            "instance": self.instance_id,
            "violation": self.violation_id,
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
    check = AnchorCheck(False, anchor.digest, anchor.day, label=anchor.label)
    try:
        leaves = anchored_leaves(session, anchor)
        violations = anchored_violation_leaves(session, anchor) if anchor.version >= 2 else None
    except ValueError as exc:
        check.problem = f"the stored anchor records are damaged ({exc})"
        return check
    check.instances = len(leaves)
    check.events = sum(seq for seq, _ in leaves.values())
    check.violations = len(violations or {})
    expected = digest_of(anchor.label, root_of(leaves), root_of(violations) if violations is not None else None)
    if expected != anchor.digest:
        check.problem = "the stored anchor records no longer give this digest: the anchor table was altered"
        return check
    bad = _first_difference(session, leaves)
    if bad is not None:
        check.instance_id, check.problem = bad
        return check
    if violations is not None:
        bad = _first_violation_difference(session, violations)
        if bad is not None:
            check.violation_id, check.problem = bad
            return check
    check.ok = True
    return check


def _first_violation_difference(session: Session, leaves: Leaves) -> tuple[int, str] | None:
    """The first anchored violation (by id) whose events no longer lead to its anchored head."""
    present = {
        row.id: row.event_seq for row in session.execute(select(Violation.id, Violation.event_seq)) if row.id in leaves
    }
    events = session.execute(
        select(
            ViolationEvent.violation_id,
            ViolationEvent.seq,
            ViolationEvent.kind,
            ViolationEvent.at,
            ViolationEvent.actor,
            ViolationEvent.data,
            ViolationEvent.hash,
        )
        .order_by(ViolationEvent.violation_id, ViolationEvent.seq)
        .execution_options(yield_per=2000)
    )
    return _first_broken(leaves, present, events, violation_link, "violation_id", "violation")


def _first_difference(session: Session, leaves: Leaves) -> tuple[int, str] | None:
    """The first anchored instance (by id) whose history no longer leads to its anchored head."""
    present = {
        row.id: row.history_seq
        for row in session.execute(select(Matter.id, Matter.history_seq))
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
            HistoryEvent.state_digest,
            HistoryEvent.hash,
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
        .execution_options(yield_per=2000)
    )
    return _first_broken(leaves, present, events, history_link, "instance_id", "matter")


def _first_broken(
    leaves: Leaves, present: dict[int, int], events, link, owner_column: str, noun: str
) -> tuple[int, str] | None:
    """Walk chains (``events`` ordered by owner and seq, each row with the owner's id in
    ``owner_column``, ``seq`` and ``hash``, chained by ``link``) against the anchored leaves: the
    first owner (by id) that is gone, shorter than anchored, or whose events up to the anchored seq
    no longer lead to the anchored head."""
    owner_of = attrgetter(owner_column)
    rows = iter(events)
    pending = next(rows, None)
    for owner in sorted(leaves):
        seq, head = leaves[owner]
        if owner not in present:
            return owner, f"the {noun} was deleted (the anchor covers {seq} of its events)"
        if present[owner] < seq:
            return owner, (
                f"it now records {present[owner]} events but the anchor covers {seq}: "
                f"events after #{present[owner]} were deleted"
            )
        while pending is not None and owner_of(pending) < owner:
            pending = next(rows, None)
        walk = ChainWalk(link)
        while pending is not None and owner_of(pending) == owner:
            if pending.seq <= seq and walk.step(pending) == "reordered":
                return owner, f"event #{walk.next_seq} is missing"
            pending = next(rows, None)
        if walk.next_seq <= seq:
            return owner, f"event #{walk.next_seq} is missing (the anchor covers up to #{seq})"
        if walk.head != head:
            if walk.altered is not None:
                return owner, f"event #{walk.altered} was altered"
            return owner, f"its events up to #{seq} were rewritten: they no longer lead to the anchored head"
    return None


def check_path(digest: str) -> str:
    """Where the auditors' page checks the database against ``digest``."""
    return f"/audit/anchors?digest={digest}#check"


def anchor_info(anchor: HistoryAnchor | None) -> dict | None:
    """What export headers show about an anchor."""
    if anchor is None:
        return None
    return {
        "day": anchor.day.isoformat(),
        "label": anchor.label,
        "digest": anchor.digest,
        "instances": anchor.instance_count,
        "violations": anchor.violation_count,
        "events": anchor.event_count,
        "created_at": anchor.created_at.isoformat() if isinstance(anchor.created_at, datetime) else None,
    }
