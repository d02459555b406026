"""The hash chains: each matter's history and each violation's events, and walking them.

Each event's hash is SHA-256 over the previous event's hash and the event's canonical encoding:
a header line in sorted-key compact JSON, a newline, and the stored payload text exactly as kept
in the database. A history event's header holds its instance, seq, kind, time, actor, step and the
digest of the state the event leaves when it has one (see :mod:`engine.history.state`); a
violation event's header holds its violation, seq, kind, time and actor. The payload is itself
written canonically, so the bytes hashed never depend on how a database returns JSON.

:class:`ChainWalk` re-computes one chain event by event and says where it first breaks; the
history check (:mod:`engine.history.verify`), the violations' check
(:mod:`engine.supervision.violation_chain`) and the anchors (:mod:`engine.audit.anchor`) walk with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from engine.clock import format_time

GENESIS = bytes(32)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, Chinese kept readable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def link_hash(prev: bytes, header: Mapping[str, Any], data: str) -> bytes:
    """The hash of an event chained after ``prev``: its header fields and its stored payload text."""
    digest = hashlib.sha256(prev)
    digest.update(canonical_json(header).encode())
    digest.update(b"\n")
    digest.update(data.encode())
    return digest.digest()


def event_hash(
    prev: bytes,
    *,
    instance_id: int,
    seq: int,
    kind: str,
    at: datetime,
    actor: str | None,
    step_id: str | None,
    data: str,
    state_digest: bytes | None = None,
) -> bytes:
    """The hash of a matter's history event."""
    fields = {"actor": actor, "at": format_time(at), "instance": instance_id, "kind": kind, "seq": seq, "step": step_id}
    if state_digest is not None:  # events written before state digests existed have none
        fields["state"] = bytes(state_digest).hex()
    return link_hash(prev, fields, data)


def violation_event_hash(
    prev: bytes, *, violation_id: int, seq: int, kind: str, at: datetime, actor: str | None, data: str
) -> bytes:
    """The hash of a violation's event."""
    fields = {"actor": actor, "at": format_time(at), "kind": kind, "seq": seq, "violation": violation_id}
    return link_hash(prev, fields, data)


def history_fields(event: Any) -> dict[str, Any]:
    """The hashed columns of a history event row, as :func:`event_hash` takes them."""
    return {
        "instance_id": event.instance_id,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor,
        "step_id": event.step_id,
        "data": event.data,
        "state_digest": event.state_digest,
    }


def history_link(prev: bytes, event: Any) -> bytes:
    """:func:`event_hash` of a row with the columns of a history event."""
    return event_hash(prev, **history_fields(event))


def violation_link(prev: bytes, event: Any) -> bytes:
    """:func:`violation_event_hash` of a row with the columns of a violation event."""
    return violation_event_hash(
        prev,
        violation_id=event.violation_id,
        seq=event.seq,
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        data=event.data,
    )


Break = Literal["reordered", "altered"]


class ChainWalk:
    """One chain re-computed from its first event: feed it the events in seq order.

    ``head`` is the hash the events fed so far lead to and ``next_seq`` the seq the next one must
    have; ``altered`` is the seq of the first event whose stored hash is not the one computed.
    """

    __slots__ = ("altered", "head", "link", "next_seq")

    def __init__(self, link: Callable[[bytes, Any], bytes]) -> None:
        self.link = link
        self.head = GENESIS
        self.next_seq = 1
        self.altered: int | None = None

    @property
    def length(self) -> int:
        return self.next_seq - 1

    def step(self, event: Any) -> Break | None:
        """Chain ``event`` (a row with ``seq`` and ``hash``) after the events before it. ``reordered``:
        its seq is not the next one, and it is not chained; ``altered``: it is chained with the hash
        computed, which is not its stored one; None: it links."""
        if event.seq != self.next_seq:
            return "reordered"
        digest = self.link(self.head, event)
        self.head, self.next_seq = digest, self.next_seq + 1
        if digest != bytes(event.hash):
            if self.altered is None:
                self.altered = event.seq
            return "altered"
        return None

    def ends_at(self, seq: int, head: bytes) -> bool:
        """Whether the events fed are ``seq`` long and lead to ``head``."""
        return self.length == seq and self.head == head
