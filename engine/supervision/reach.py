"""Whom a violation reaches: the rule book of its village, the unit each role is held in, the
supervisors at its level and above, its rectification owner.

Read by :mod:`engine.policy` (who may see and handle a warning) and by the violation commands;
:func:`require_dismiss_level` applies ``escalation.dismiss_from`` (who may close a warning as dismissed).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import PermissionDenied, PowerlistError
from engine.org.roles import ROLES
from engine.org.service import get_user, holds
from engine.org.units import unit_chain, unit_for_role
from engine.persistence.models import User
from engine.supervision.models import Violation
from engine.supervision.rules import LEVEL_ORDER, RuleBook, rules_for


def county_of(session: Session, village_id: int) -> str | None:
    return unit_chain(session, village_id)[-1].code


def book_for_village(session: Session, village_id: int) -> RuleBook:
    return rules_for(session, county_of(session, village_id))


def role_unit_id(session: Session, village_id: int, role: str | None) -> int:
    """The unit a role is held in for a matter of the village (a town role: the town); else the village."""
    if role in ROLES:
        try:
            return unit_for_role(session, village_id, role).id
        except PowerlistError:
            pass
    return village_id


def supervisor_units(session: Session, book: RuleBook, violation: Violation) -> list[tuple[str, str, int]]:
    """(level, role, unit id) of the supervisors at the violation's level and above."""
    by_level = {unit.level: unit for unit in unit_chain(session, violation.village_id)}
    levels = [c["level"] for c in book.chain]
    start = levels.index(violation.level) if violation.level in levels else 0
    return [(c["level"], c["role"], by_level[c["level"]].id) for c in book.chain[start:] if c["level"] in by_level]


def supervises_at(session: Session, book: RuleBook, user: User, violation: Violation) -> bool:
    """May act on it: the supervisor at its level, or any level above."""
    return any(holds(user, role, unit_id) for _level, role, unit_id in supervisor_units(session, book, violation))


def is_owner(session: Session, user: User, violation: Violation) -> bool:
    if violation.owner_user and violation.owner_user == user.username:
        return True
    if not violation.owner_role:
        return False
    unit = role_unit_id(session, violation.village_id, violation.owner_role)
    return any(a.role == violation.owner_role and a.org_unit_id == unit for a in user.roles)


def require_dismiss_level(session: Session, book: RuleBook, violation: Violation, actor: str) -> None:
    """Closing a warning as dismissed needs a supervisor of the level ``escalation.dismiss_from`` names
    for its colour, or of a level above."""
    level = (book.rules["escalation"].get("dismiss_from") or {}).get(violation.severity)
    if level not in LEVEL_ORDER:
        return
    user = get_user(session, actor)
    lowest = LEVEL_ORDER.index(level)
    for unit_level, role, unit_id in supervisor_units(session, book, violation):
        if unit_level in LEVEL_ORDER and LEVEL_ORDER.index(unit_level) >= lowest and holds(user, role, unit_id):
            return
    title = book.level_title(level)
    raise PermissionDenied(
        code="violation.dismiss_level",
        params={
            "user": actor,
            "severity": violation.severity,
            "level": level,
            "severity_name": book.rules["severities"].get(violation.severity, violation.severity),
            "title": title,
        },
    )
