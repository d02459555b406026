"""Fast, cached answers to "which unit holds this role for that village" and "may this user act".

Org units are never moved between parents, so their ancestry is cached per database for the life
of the process; role assignments change and are always read from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import caches
from engine.errors import NotFound, PermissionDenied, PowerlistError
from engine.org.roles import ROLES, role_level
from engine.persistence.models import OrgUnit, RoleAssignment, User


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


# Per database: unit ids belong to their database.
_chains = caches.PerDatabase()


def unit_chain(session: Session, unit_id: int) -> tuple[UnitInfo, ...]:
    """The unit and its ancestors, nearest first."""
    chains = _chains.of(session)
    chain = chains.get(unit_id)
    if chain is None:
        found: list[UnitInfo] = []
        next_id: int | None = unit_id
        while next_id is not None:
            row = session.execute(
                select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_id).where(
                    OrgUnit.id == next_id
                )
            ).one_or_none()
            if row is None:
                raise NotFound(f"no org unit {next_id}")
            found.append(UnitInfo(*row))
            next_id = row.parent_id
        chain = tuple(found)
        chains[unit_id] = chain
    return chain


def unit_for_role(session: Session, village_id: int, role: str) -> UnitInfo:
    """The unit in which ``role`` is held for a matter of the village."""
    level = role_level(role)
    chain = unit_chain(session, village_id)
    for unit in chain:
        if unit.level == level:
            return unit
    raise PowerlistError(f"village '{chain[0].code}' has no {level} for role '{role}'")


_HOLDS_ROLE = (
    select(RoleAssignment.id)
    .join(User, User.id == RoleAssignment.user_id)
    .where(
        User.username == bindparam("username"),
        User.active.is_(True),
        RoleAssignment.role == bindparam("role"),
        RoleAssignment.org_unit_id == bindparam("unit_id"),
    )
    .limit(1)
)


def holds_role(session: Session, username: str, role: str, unit_id: int) -> bool:
    found = session.execute(_HOLDS_ROLE, {"username": username, "role": role, "unit_id": unit_id}).first()
    return found is not None


def require_role(session: Session, username: str, role: str, unit_id: int) -> None:
    if holds_role(session, username, role, unit_id):
        return
    if session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
        raise NotFound(f"no active user '{username}'")
    unit = unit_chain(session, unit_id)[0]
    name = ROLES[role].name_zh if role in ROLES else role
    raise PermissionDenied(f"user '{username}' does not hold role '{role}' ({name}) in {unit.name} ({unit.code})")
