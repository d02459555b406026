"""Administering the organisation: counties, towns, villages, users and their roles.

An administrator holds the ``admin`` role in a county and manages that county only: its units, and
the users whose every role is in counties they administer (the access policy's ``unit.manage``,
``user.manage`` and ``role.*`` actions, :mod:`engine.policy.admin`). Actor None is the command-line
operator. Every change is written to the audit log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.errors import NotFound, PermissionDenied, PowerlistError
from engine.org.passwords import hash_password
from engine.org.reserved import refuse_reserved
from engine.org.roles import LEVEL_NAMES, LEVELS, ROLES
from engine.org.service import ensure_unit, get_unit, grant
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog, OrgUnit, RoleAssignment, User
from engine.policy import admin as admin_policy
from engine.texts import data, text
from engine.workspace.labels import office, role_name

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_PASSWORD = 8


def _audit(session: Session, actor: str | None, action: str, subject: str, **detail: Any) -> None:
    session.add(AuditLog(at=clock.now(), actor=actor, action=action, subject=subject, detail=detail))


def admin_counties(session: Session, actor: str | None) -> set[int]:
    """Ids of the counties ``actor`` administers; None means the command line (every county)."""
    if actor is None:
        return admin_policy.every_county(session)
    return admin_policy.administered(session, admin_policy.holdings_of(session, actor))


def _require_unit(session: Session, actor: str | None, unit: OrgUnit | None) -> None:
    """The actor administers the unit's county (None: a new county, the operator's alone)."""
    admin_policy.require(session, actor, "unit.manage", unit)


def _require_user(session: Session, actor: str | None, user: User) -> None:
    """An administrator manages users whose roles are all in their counties (or who have none yet)."""
    admin_policy.require(session, actor, "user.manage", user)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(code="people.no_user", params={"user": username})
    return user


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise PowerlistError(code="people.password_short", params={"min": MIN_PASSWORD})
    if len(password) > 200:
        raise PowerlistError(code="people.password_long")


def generated_password() -> str:
    return secrets.token_urlsafe(9)


def add_user(session: Session, actor: str | None, username: str, display_name: str, password: str) -> User:
    username = (username or "").strip().lower()
    display_name = (display_name or "").strip()
    if not USERNAME_RE.match(username):
        raise PowerlistError(code="people.username")
    refuse_reserved(username)
    if not display_name or len(display_name) > 100:
        raise PowerlistError(code="people.display_name")
    check_password_strength(password)
    if actor is not None and not admin_counties(session, actor):
        raise PermissionDenied(code="people.add_denied")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise PowerlistError(code="people.username_taken", params={"user": username})
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        created_at=clock.now(),
        must_change_password=True,  # someone else chose it
    )
    session.add(user)
    session.flush()
    _audit(session, actor, "user_add", username, display_name=display_name)
    return user


def set_password(session: Session, actor: str | None, username: str, password: str) -> None:
    user = _user(session, username)
    if actor is not None:
        _require_user(session, actor, user)
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.must_change_password = actor != user.username
    _audit(session, actor, "user_password", username)


def set_active(session: Session, actor: str | None, username: str, active: bool) -> None:
    user = _user(session, username)
    if actor is not None:
        _require_user(session, actor, user)
        if user.username == actor and not active:
            raise PowerlistError(code="people.deactivate_self")
    user.active = active
    policy.forget(session)  # the holdings read in this session changed
    _audit(session, actor, "user_activate" if active else "user_deactivate", username)


def grant_role(session: Session, actor: str | None, username: str, role: str, unit_code: str) -> None:
    """Grant ``role`` in the unit to a user the actor manages, in a unit of the actor's counties."""
    user = _user(session, username)
    unit = get_unit(session, unit_code)
    admin_policy.require(session, actor, "role.grant", (user, unit))
    if role not in ROLES:
        raise PowerlistError(code="people.no_role", params={"role": role})
    from engine.supervision.duties import check_grant

    check_grant(session, user, role, unit)  # incompatible roles in one unit (rule data)
    grant(session, user, role, unit)
    policy.forget(session)  # the holdings read in this session changed
    _audit(session, actor, "role_grant", username, role=role, unit=unit.code)


def revoke_role(session: Session, actor: str | None, username: str, role: str, unit_code: str) -> None:
    user = _user(session, username)
    unit = get_unit(session, unit_code)
    admin_policy.require(session, actor, "role.revoke", (user, unit))
    found = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.role == role, RoleAssignment.org_unit_id == unit.id
        )
    )
    if found is None:
        raise NotFound(code="people.not_held", params={"user": username, "unit": unit.name, "role": role_name(role)})
    if actor == username and role == "admin":
        raise PowerlistError(code="people.revoke_own_admin")
    user.roles.remove(found)
    policy.forget(session)  # the holdings read in this session changed
    _audit(session, actor, "role_revoke", username, role=role, unit=unit.code)


def add_unit(session: Session, actor: str | None, code: str, name: str, level: str, parent_code: str | None) -> OrgUnit:
    code, name = (code or "").strip(), (name or "").strip()
    if not CODE_RE.match(code):
        raise PowerlistError(code="people.unit_code")
    if not name or len(name) > 100:
        raise PowerlistError(code="people.unit_name")
    if level not in LEVELS:
        raise PowerlistError(code="people.unit_level")
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise PowerlistError(code="people.unit_code_taken", params={"code": code})
    parent = get_unit(session, parent_code) if parent_code else None
    _require_unit(session, actor, parent)
    unit = ensure_unit(session, code, name, level, parent)
    _audit(session, actor, "unit_add", code, name=name, level=level, parent=parent_code)
    return unit


def org_tree(session: Session, actor: str | None) -> list[dict[str, Any]]:
    """The counties the actor administers, with their towns and villages."""
    counties = admin_counties(session, actor)
    units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)

    def node(unit: OrgUnit) -> dict[str, Any]:
        return {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level,
            "level_name": LEVEL_NAMES.get(unit.level, unit.level),
            "active": unit.active,
            "children": [node(c) for c in children.get(unit.id, [])],
        }

    return [node(u) for u in children.get(None, []) if u.id in counties]


def users(session: Session, actor: str | None, query: str | None = None) -> list[dict[str, Any]]:
    """Users with a role in the actor's counties and users without any role yet; ``manageable`` tells
    whether every role of theirs is in the actor's counties, so the actor may change them."""
    counties = admin_counties(session, actor)
    needle = (query or "").strip().lower()
    result = []
    for user in session.scalars(select(User).order_by(User.username)):
        verdict = admin_policy.user_verdict(counties, admin_policy.user_counties(session, user))
        if verdict == "hidden":
            continue
        if needle and needle not in user.username.lower() and needle not in user.display_name.lower():
            continue
        result.append(
            {
                "username": user.username,
                "display_name": user.display_name,
                "active": user.active,
                "manageable": verdict is None,
                "roles": [
                    {
                        "role": a.role,
                        "role_name": role_name(a.role),
                        "unit_code": a.org_unit.code,
                        "unit_name": a.org_unit.name,
                        "office": office(a.org_unit.name, a.role, a.org_unit.level),
                    }
                    for a in user.roles
                ],
            }
        )
    return result


def units_for_role(session: Session, actor: str | None) -> list[dict[str, str]]:
    """Units of the actor's counties, for choosing where a role is granted."""
    counties = admin_counties(session, actor)
    return [
        {"code": u.code, "name": u.name, "level": u.level, "level_name": LEVEL_NAMES[u.level]}
        for u in session.scalars(select(OrgUnit).order_by(OrgUnit.code))
        if admin_policy.county_of(session, u.id) in counties
    ]


# --- people as the cadres' pages name them ----------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone named on a page: their name and office ("上塘村报账员", "东溪镇三资中心"), never
    their username alone."""

    username: str
    display_name: str
    office: str

    @property
    def label(self) -> str:
        """ "张三（东溪镇三资中心）"; just the name where it already is the office."""
        if not self.office or self.office == self.display_name:
            return self.display_name
        return text("workspace.person", name=self.display_name, office=self.office)

    def as_dict(self) -> dict[str, str]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "office": self.office,
            "label": self.label,
        }


def _office_of(user: User, role: str | None = None) -> str:
    holdings = sorted(user.roles, key=lambda a: (a.org_unit.level != Level.VILLAGE, a.org_unit.code, a.role))
    chosen = [a for a in holdings if a.role == role] or holdings
    return text("workspace.values.separator").join(
        office(a.org_unit.name, a.role, a.org_unit.level) for a in chosen[:2]
    )


def persons(
    session: Session, usernames: Iterable[str | None], roles: dict[str, str] | None = None
) -> dict[str, Person]:
    """The people of ``usernames`` by username, each with their office (in ``roles[username]``
    where they hold it, else every role they hold). An unknown name stands for itself."""
    names = {n for n in usernames if n}
    found: dict[str, Person] = {}
    if names:
        for user in session.scalars(select(User).where(User.username.in_(names))):
            role = (roles or {}).get(user.username)
            found[user.username] = Person(user.username, user.display_name, _office_of(user, role))
    for name in names - set(found):
        found[name] = Person(name, *NOT_PEOPLE.get(name, (name, "")))
    return found


# Actors that are not a user: villagers reporting through 码上举报, the supervision rules.
NOT_PEOPLE = {name: (said["name"], said["office"]) for name, said in data("workspace.not_people").items()}


def person(session: Session, username: str | None, role: str | None = None) -> Person | None:
    if not username:
        return None
    return persons(session, [username], {username: role} if role else None)[username]


def by_office(people: Iterable[Person]) -> list[Person]:
    """People sorted by office, then name."""
    return sorted(people, key=lambda p: (p.office, p.display_name, p.username))
