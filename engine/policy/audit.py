"""The auditors' side of the access policy: who audits, how far they see, who makes anchors.

An auditor's scope is every village at or below the units where they hold an auditing role: a
village supervisory committee member (村务监督委员会成员) sees their village, the town discipline
commission its town's villages, the county discipline commission and the auditors the county.
A matter or unit outside the scope does not exist for them (``NotFound``), so an id reveals nothing.

=====================  ===================  ===============================================
action                 target               who
=====================  ===================  ===============================================
``audit.unit``         OrgUnit, or None     a unit at or below a unit of the scope
``audit.matter``       Matter,     a matter of a village of the scope
                       Violation, or None   (a violation: of such a village)
``audit.anchor``       None                 county discipline commission and auditors
=====================  ===================  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, PermissionDenied
from engine.org.service import ancestors, get_user, village_ids
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit
from engine.texts import text

__all__ = ["ANCHOR_ROLES", "AUDIT_ROLES", "AuditScope", "audit_scope", "may", "require", "require_unit"]

AUDIT_ROLES = ("supervisory_member", "town_discipline", "county_discipline", "auditor")
ANCHOR_ROLES = ("county_discipline", "auditor")
LEVEL_ORDER = {level: i for i, level in enumerate(Level)}


@dataclass(frozen=True)
class AuditScope:
    """The units where the user holds an auditing role (none below another), and their villages."""

    username: str
    units: tuple[tuple[int, str, str, str], ...]  # (id, code, name, level), widest first
    village_ids: frozenset[int]
    may_anchor: bool

    @property
    def default_unit(self) -> str:
        return self.units[0][1]

    @property
    def unit_ids(self) -> set[int]:
        return {unit[0] for unit in self.units}


def audit_scope(session: Session, username: str) -> AuditScope:
    """The scope of ``username``; refused to anyone holding no auditing role."""
    user = get_user(session, username)
    held = [a for a in user.roles if a.role in AUDIT_ROLES]
    if not held:
        raise PermissionDenied(
            text("audit.refusals.not_auditor"), code="policy.denied", params={"user": username, "action": "audit.read"}
        )
    units = {a.org_unit_id: a.org_unit for a in held}
    tops = [u for u in units.values() if not any(p.id in units for p in ancestors(u)[1:])]
    tops.sort(key=lambda u: (LEVEL_ORDER.get(u.level, 9), u.code))
    villages: set[int] = set()
    for unit in tops:
        villages.update(village_ids(session, unit.code))
    return AuditScope(
        username,
        tuple((u.id, u.code, u.name, u.level) for u in tops),
        frozenset(villages),
        any(a.role in ANCHOR_ROLES for a in held),
    )


def may(scope: AuditScope, action: str, target: Any = None) -> bool:
    """Whether the holder of ``scope`` may do ``action`` on ``target`` (None: a target not found)."""
    if action == "audit.anchor":
        return scope.may_anchor
    if action == "audit.matter":
        return target is not None and target.village_id in scope.village_ids
    if action == "audit.unit":
        return target is not None and any(a.id in scope.unit_ids for a in ancestors(target))
    raise ValueError(f"unknown action '{action}'")


def require(scope: AuditScope, action: str, target: Any = None, **params: Any) -> None:
    """Raise unless ``may``: ``NotFound`` for a unit or matter out of scope (``params`` name what was
    asked for), ``PermissionDenied`` for the rest."""
    if may(scope, action, target):
        return
    if action == "audit.unit":
        raise NotFound(text("audit.refusals.unit_not_found"), params=params)
    if action == "audit.matter":
        raise NotFound(text("audit.refusals.matter_not_found", **params), params=params)
    raise PermissionDenied(
        text("audit.refusals.anchor_denied"),
        code="policy.denied",
        params={"user": scope.username, "action": "anchor.make"},
    )


def require_unit(session: Session, scope: AuditScope, code: str | None) -> OrgUnit:
    """The unit with ``code`` (default: the widest of the scope) when it is in scope."""
    code = code or scope.default_unit
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    require(scope, "audit.unit", unit, unit=code)
    return unit
