"""Remembering submissions by a key the form carries, so a double tap or a retry over a flaky
network acts once and then shows the first result."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import PowerlistError
from engine.workspace.models import IdempotencyKey

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEEP = timedelta(days=7)


def check_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not KEY_RE.match(key):
        raise PowerlistError("idempotency_key: 8–64 letters, digits, '-' or '_'")
    return key


def lookup(session: Session, username: str, key: str | None) -> dict[str, Any] | None:
    if not key:
        return None
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.username == username, IdempotencyKey.key == key))
    return dict(row.result, operation=row.operation) if row is not None else None


def remember(session: Session, username: str, key: str | None, operation: str, result: dict[str, Any]) -> None:
    if not key:
        return
    now = clock.now()
    session.add(IdempotencyKey(username=username, key=key, operation=operation, created_at=now, result=result))
    session.flush()


def forget_old(session: Session) -> int:
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < clock.now() - KEEP))
    return result.rowcount or 0
