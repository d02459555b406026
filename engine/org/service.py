"""Counties, towns, villages, users and their roles; who may act where."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import NotFound, PowerlistError
from engine.org.passwords import hash_password
from engine.org.reserved import refuse_reserved
from engine.org.roles import LEVEL_NAMES, LEVELS, ROLES, role_level
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit, RoleAssignment, User


def get_unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(code="unit.not_found", params={"unit": code})
    return unit


def get_village(session: Session, code: str) -> OrgUnit:
    unit = get_unit(session, code)
    if unit.level != Level.VILLAGE:
        raise PowerlistError(code="unit.not_a_village", params={"unit": code}, field="village")
    return unit


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise NotFound(code="user.unknown", params={"user": username})
    return user


def ensure_unit(session: Session, code: str, name: str, level: str, parent: OrgUnit | None = None) -> OrgUnit:
    if level not in LEVELS:
        raise PowerlistError(code="unit.bad_level", params={"level": level}, field="level")
    expected_parent = {Level.COUNTY: None, Level.TOWN: Level.COUNTY, Level.VILLAGE: Level.TOWN}[level]
    if (parent.level if parent else None) != expected_parent:
        if expected_parent is None:
            raise PowerlistError(code="unit.county_parent", field="parent")
        raise PowerlistError(
            code="unit.wrong_parent",
            params={
                "level": LEVEL_NAMES[level],
                "level_en": level,
                "parent": LEVEL_NAMES[expected_parent],
                "parent_en": expected_parent,
            },
            field="parent",
        )
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        unit = OrgUnit(code=code, name=name, level=level, parent=parent)
        session.add(unit)
        session.flush()
    return unit


def ensure_user(
    session: Session,
    username: str,
    display_name: str,
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    refuse_reserved(username)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            display_name=display_name,
            password_hash=password_hash or (hash_password(password) if password else None),
            created_at=clock.now(),
        )
        session.add(user)
        session.flush()
    return user


def grant(session: Session, user: User, role: str, unit: OrgUnit) -> RoleAssignment:
    if role not in ROLES:
        raise PowerlistError(code="role.unknown", params={"role": role}, field="role")
    check_role_level(role, unit)
    for assignment in user.roles:
        if assignment.role == role and assignment.org_unit_id == unit.id:
            return assignment
    assignment = RoleAssignment(user=user, role=role, org_unit=unit)
    session.add(assignment)
    session.flush()
    return assignment


def check_role_level(role: str, unit: OrgUnit) -> None:
    """Refuse a role held at another level than the unit's (a 村委会主任 in a town, a 镇纪委 in a village)."""
    level = role_level(role)
    if level != unit.level:
        raise PowerlistError(
            code="role.wrong_level",
            params={
                "role": ROLES[role].name_zh,
                "role_en": ROLES[role].name_en,
                "level": LEVEL_NAMES[level],
                "level_en": level,
                "unit": unit.name,
                "unit_level": LEVEL_NAMES[unit.level],
                "unit_level_en": unit.level,
            },
            field="unit",
        )


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    chain = [unit]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain


def village_ids(session: Session, code: str) -> list[int]:
    """Ids of the villages at or below the unit with ``code``."""
    unit = get_unit(session, code)
    ids, level = [unit.id], unit.level
    while level != Level.VILLAGE and ids:
        ids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.in_(ids))))
        level = {Level.COUNTY: Level.TOWN, Level.TOWN: Level.VILLAGE}[level]
    return ids


def holds(user: User, role: str, unit_id: int) -> bool:
    return any(a.role == role and a.org_unit_id == unit_id for a in user.roles)


def can_see_village(user: User, village: OrgUnit) -> bool:
    ids = {u.id for u in ancestors(village)}
    return any(a.org_unit_id in ids for a in user.roles)
