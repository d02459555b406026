"""Who a user is and what they may see: their roles, villages and matters.

A matter is visible to anyone holding a role in its village, its town or its county; for anyone
else it does not exist (``NotFound``), so its id reveals nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import policy
from engine.errors import NotFound
from engine.org.service import ancestors, get_user
from engine.persistence.enums import Level
from engine.persistence.models import Matter, OrgUnit, User
from engine.texts import text
from engine.workspace.labels import office, role_name


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
    auth_version: str  # changes when the password changes or the user signs out: old sessions end
    holdings: tuple[Holding, ...] = field(default_factory=tuple)
    must_change_password: bool = False  # an administrator chose the password

    def holds(self, *roles: str) -> bool:
        return any(h.role in roles for h in self.holdings)

    @property
    def is_admin(self) -> bool:
        return self.holds("admin")

    @property
    def role_names(self) -> list[str]:
        return [office(h.unit_name, h.role, h.level) for h in self.holdings]


def auth_version(user: User) -> str:
    """A fingerprint of the password and the session generation, kept in every session and
    remember cookie: a new password or signing out changes it, and every older cookie stops working."""
    material = f"{user.session_generation or 0}:{user.password_hash or '-'}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def profile_of(user: User) -> Profile:
    holdings = tuple(
        Holding(a.role, role_name(a.role), a.org_unit_id, a.org_unit.code, a.org_unit.name, a.org_unit.level)
        for a in sorted(user.roles, key=lambda a: (a.org_unit.level != Level.VILLAGE, a.org_unit.code, a.role))
    )
    return Profile(
        user.id, user.username, user.display_name, auth_version(user), holdings, bool(user.must_change_password)
    )


def profile(session: Session, username: str) -> Profile:
    return profile_of(get_user(session, username))


def profile_by_id(session: Session, user_id: int) -> Profile | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return profile_of(user)


def visible_instance(session: Session, username: str, instance_id: int) -> Matter:
    """The matter, for someone the access policy lets read it; for anyone else it does not exist."""
    instance = session.get(Matter, instance_id)
    if instance is None:
        raise NotFound(text("workspace.refusals.matter_not_found", id=instance_id), code="matter.not_found")
    policy.require(session, username, "matter.read", instance)
    return instance


def startable_villages(session: Session, username: str, key: str | None = None) -> list[OrgUnit]:
    """Villages where the user may start a matter (of flow ``key``, or of some flow): their own,
    or every village below the town or county where they hold a starting role."""
    user = get_user(session, username)
    units = {a.org_unit_id for a in user.roles if a.role in policy.access_rules().roles("acting")}
    if not units:
        return []
    villages = session.scalars(
        select(OrgUnit).where(OrgUnit.level == Level.VILLAGE, OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    )
    within = [v for v in villages if any(u.id in units for u in ancestors(v))]
    if key is None:
        return within
    from engine.definitions.deploy import latest_version
    from engine.runtime.loaded import loaded

    definition = loaded(latest_version(session, key))
    return [v for v in within if policy.may(session, username, "matter.start", policy.Start(definition, v))]
