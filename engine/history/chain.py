"""The hash chain over each instance's history.

Each event's hash is SHA-256 over the previous event's hash and the event's canonical encoding:
a header line (instance, seq, kind, time, actor, step, and the digest of the state the event leaves
when it has one, see :mod:`engine.history.state`) in sorted-key compact JSON, a newline, and the
stored payload text exactly as kept in the database. The payload is itself written canonically,
so the bytes hashed never depend on how a database returns JSON.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from engine.clock import as_utc

GENESIS = bytes(32)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, Chinese kept readable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_time(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    fields = {"actor": actor, "at": format_time(at), "instance": instance_id, "kind": kind, "seq": seq, "step": step_id}
    if state_digest is not None:  # events written before state digests existed have none
        fields["state"] = bytes(state_digest).hex()
    header = canonical_json(fields)
    digest = hashlib.sha256(prev)
    digest.update(header.encode())
    digest.update(b"\n")
    digest.update(data.encode())
    return digest.digest()
