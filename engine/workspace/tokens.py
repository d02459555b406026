"""API tokens for integrations: shown once when created, kept only as a SHA-256.

A user has tokens made for themself, or by an administrator who manages them (the access policy's
``token.*`` actions); actor None is the command-line operator.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import NotFound, PowerlistError
from engine.org.service import get_user
from engine.persistence.models import AuditLog, User
from engine.policy import admin as admin_policy
from engine.workspace.models import ApiToken

PREFIX = "plt_"
TOUCH_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, username: str, name: str, created_by: str | None) -> str:
    """A new token acting as ``username``, made by ``created_by``; the text is returned here and never again."""
    user = get_user(session, username)
    admin_policy.require(session, created_by, "token.create", user)
    name = (name or "").strip()[:100] or "integration"
    token = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_digest(token),
            prefix=token[: len(PREFIX) + 6],
            created_at=now,
            created_by=created_by,
        )
    )
    session.add(AuditLog(at=now, actor=created_by, action="token_create", subject=username, detail={"name": name}))
    session.flush()
    return token


def identify(session: Session, token: str) -> tuple[User | None, bool]:
    """The active user a token acts as (None for an unknown, revoked or malformed token), and
    whether its last use is due to be written. Reads only: most requests need no write at all."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None, False
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None, False
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None, False
    return user, row.last_used_at is None or clock.as_utc(row.last_used_at) < clock.now() - TOUCH_EVERY


def user_for(session: Session, token: str) -> User | None:
    """The active user a token acts as, recording its use (at most every few minutes)."""
    user, due = identify(session, token)
    if user is not None and due:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
        row.last_used_at = clock.now()
    return user


def listing(session: Session, actor: str | None, username: str | None = None) -> list[dict[str, Any]]:
    """The tokens ``actor`` may see (the operator: all), only ``username``'s when given."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username:
        query = query.where(User.username == username)
    seen: dict[int, bool] = {}
    rows = []
    for row, user in session.execute(query):
        if user.id not in seen:
            seen[user.id] = admin_policy.may(session, actor, "token.read", user)
        if seen[user.id]:
            rows.append((row, user.username))
    return [
        {
            "id": row.id,
            "username": user,
            "name": row.name,
            "prefix": row.prefix,
            "created_at": row.created_at,
            "created_by": row.created_by,
            "last_used_at": row.last_used_at,
            "revoked": row.revoked_at is not None,
        }
        for row, user in rows
    ]


def revoke(session: Session, token_id: int, actor: str | None, username: str | None = None) -> None:
    """Revoke a token (of ``username``, when given) that ``actor`` may revoke."""
    row = session.get(ApiToken, token_id)
    owner = session.get(User, row.user_id) if row is not None else None
    if row is None or owner is None or (username is not None and owner.username != username):
        raise NotFound(code="token.not_found", params={"token": token_id})
    admin_policy.require(session, actor, "token.revoke", owner)
    if row.revoked_at is not None:
        raise PowerlistError(code="token.revoked")
    row.revoked_at = clock.now()
    session.add(
        AuditLog(
            at=row.revoked_at, actor=actor, action="token_revoke", subject=str(token_id), detail={"name": row.name}
        )
    )
