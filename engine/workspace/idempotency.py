"""Remembering submissions by a key the form carries, so a double tap or a retry over a flaky
network acts once and then shows the first result.

Two submissions with one key may arrive at once (a double tap, a client retrying before the first
answer). Each looks the key up again inside its write transaction and claims it there, before
doing anything: on SQLite the writers take turns, so the second finds the first's outcome; on
PostgreSQL the second one's claim waits for the first transaction and then collides with its key,
and :class:`KeyTaken` tells the caller to roll back and answer with the first outcome.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import Conflict
from engine.inputs import InputInvalid
from engine.workspace.models import IdempotencyKey

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEEP = timedelta(days=7)
TAKEN_CODE = "idempotency.taken"
KEY_CODE = "input.idempotency_key"


class KeyTaken(Conflict):
    """Another submission with the same key committed first; this transaction must be rolled back
    and the first outcome answered (:func:`lookup` finds it once rolled back)."""

    default_code = TAKEN_CODE


def check_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise InputInvalid(
            code=KEY_CODE,
            field="idempotency_key",
        )
    return key


def _row(session: Session, username: str, key: str) -> IdempotencyKey | None:
    return session.scalar(select(IdempotencyKey).where(IdempotencyKey.username == username, IdempotencyKey.key == key))


def lookup(session: Session, username: str, key: str | None) -> dict[str, Any] | None:
    """The outcome remembered for the key, if a submission with it was committed."""
    if not key:
        return None
    row = _row(session, username, key)
    if row is None or not row.result:
        return None
    return dict(row.result, operation=row.operation)


def claim(session: Session, username: str, key: str | None, operation: str) -> dict[str, Any] | None:
    """Inside the write transaction, before acting: the first outcome when a submission with the
    key was committed, else None and the key is held for this transaction until :func:`remember`.

    Raises :class:`KeyTaken` when a concurrent submission with the key committed meanwhile.
    """
    if not key:
        return None
    earlier = lookup(session, username, key)
    if earlier is not None:
        return earlier
    session.add(IdempotencyKey(username=username, key=key, operation=operation, created_at=clock.now(), result={}))
    _flush(session, key)
    return None


def remember(session: Session, username: str, key: str | None, operation: str, result: dict[str, Any]) -> None:
    """Keep the outcome for the key, in the transaction that acted."""
    if not key:
        return
    row = _row(session, username, key)
    if row is None:
        row = IdempotencyKey(username=username, key=key, operation=operation, created_at=clock.now(), result=result)
        session.add(row)
    else:
        row.operation, row.result = operation, result
    _flush(session, key)


def _flush(session: Session, key: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyTaken(
            code=TAKEN_CODE,
            params={"key": key},
        ) from exc


def forget_old(session: Session) -> int:
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < clock.now() - KEEP))
    return result.rowcount or 0
