"""Who a user is and what they may see: their roles, villages and matters.

A matter is visible to anyone holding a role in its village, its town or its county; for anyone
else it does not exist (``NotFound``), so its id reveals nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, PermissionDenied
from engine.org.service import ancestors, can_see_village, get_user
from engine.persistence.models import OrgUnit, ProcessInstance, User
from engine.workspace.labels import role_name


@dataclass(frozen=True)
class Holding:
    role: str
    role_name: str
    unit_id: int
    unit_code: str
    unit_name: str
    level: str


@dataclass(frozen=True)
class Profile:
    """A signed-in user as the web app needs them, detached from the database session."""

    id: int
    username: str
    display_name: str
    auth_version: str  # changes when the password changes: old sessions end
    holdings: tuple[Holding, ...] = field(default_factory=tuple)

    def holds(self, *roles: str) -> bool:
        return any(h.role in roles for h in self.holdings)

    @property
    def is_admin(self) -> bool:
        return self.holds("admin")

    @property
    def role_names(self) -> list[str]:
        return [f"{h.unit_name}{h.role_name}" for h in self.holdings]


def auth_version(user: User) -> str:
    return hashlib.sha256((user.password_hash or "-").encode()).hexdigest()[:16]


def profile_of(user: User) -> Profile:
    holdings = tuple(
        Holding(a.role, role_name(a.role), a.org_unit_id, a.org_unit.code, a.org_unit.name, a.org_unit.level)
        for a in sorted(user.roles, key=lambda a: (a.org_unit.level != "village", a.org_unit.code, a.role))
    )
    return Profile(user.id, user.username, user.display_name, auth_version(user), holdings)


def profile(session: Session, username: str) -> Profile:
    return profile_of(get_user(session, username))


def profile_by_id(session: Session, user_id: int) -> Profile | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return profile_of(user)


def visible_instance(session: Session, username: str, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not can_see_village(get_user(session, username), instance.village):
        raise NotFound(f"没有编号为 {instance_id} 的事项，或您无权查看")
    return instance


def startable_villages(session: Session, username: str) -> list[OrgUnit]:
    """Villages where the user may start a matter: theirs, or every village below their town or county."""
    user = get_user(session, username)
    units = {a.org_unit_id for a in user.roles}
    if not units:
        return []
    villages = session.scalars(
        select(OrgUnit).where(OrgUnit.level == "village", OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    )
    return [v for v in villages if any(u.id in units for u in ancestors(v))]


def require_start_in(session: Session, username: str, village_code: str) -> None:
    if village_code not in {v.code for v in startable_villages(session, username)}:
        raise PermissionDenied(f"您不能在 {village_code} 发起事项")
