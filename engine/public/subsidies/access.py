"""Who may do what with a village's rosters (``subsidy.*``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, PermissionDenied
from engine.persistence.models import OrgUnit
from engine.texts import texts


def require(session: Session, actor: str | None, action: str, village: OrgUnit) -> None:
    from engine import policy

    if policy.may(session, actor, action, village):
        return
    from engine.persistence.models import User

    if not actor or session.scalar(select(User.id).where(User.username == actor, User.active.is_(True))) is None:
        raise NotFound(code="user.unknown", params={"user": actor})
    raise PermissionDenied(
        code="subsidy.denied",
        params={
            "user": actor,
            "action": action,
            "village": village.code,
            "action_name": texts("subsidies.actions")[action],
            "village_name": village.name,
        },
    )


def villages_for(session: Session, actor: str | None) -> list[OrgUnit]:
    """The villages whose rosters ``actor`` may import (for the staff page's choice)."""
    from engine import policy
    from engine.public.villages import villages

    return [unit for unit in villages(session) if policy.may(session, actor, "subsidy.import", unit)]
