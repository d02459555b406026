"""The administrators' side of the access policy, decided by county: flows, units, users, roles and tokens.

A county is a tenant. Holding an ``administering`` role (``rules/defaults/access.yaml``) in a county
makes one an administrator of that county: of its towns and villages, of the users whose every role
is in counties one administers, of their API tokens, and of the flows published to it. The command
line without ``--as`` is the province-level operator: callers skip the policy for it (actor None).

Someone who may not even see the target (a flow published to none of their counties, a user with
roles only elsewhere) gets ``"hidden"``; someone who sees it but may not change it gets ``"denied"``.

=====================  ====================  =========================================================
action                 target                who
=====================  ====================  =========================================================
``flow.list``          None                  administrators (they see the flows of their counties)
``flow.read``          key                   an administrator of a county the flow is published to
``flow.deploy``        key, or None          an administrator; for an existing key, only when every
                                             county it is published to is theirs
``flow.publish``       (key, county)         an administrator of the county who may deploy the key
``flow.retire``        key                   an administrator of every county the flow is published
                                             to (retiring and reinstating versions)
``unit.manage``        OrgUnit, or None      an administrator of the unit's county; None (a new
                                             county): nobody
``user.manage``        User                  an administrator of every county the user holds a role in
``role.grant``         (User, OrgUnit)       ``user.manage`` of the user and ``unit.manage`` of the
``role.revoke``                              unit
``token.create``       User (the owner)      the owner themself, or ``user.manage`` of the owner
``token.read``
``token.revoke``
=====================  ====================  =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions import scope
from engine.errors import NotFound, PermissionDenied, PowerlistError
from engine.org.units import unit_chain
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit, RoleAssignment, User
from engine.policy.rules import access_rules
from engine.texts import text, texts

ADMIN_PREFIXES = ("flow.", "unit.", "user.", "role.", "token.")
ACTIONS = (
    "flow.list",
    "flow.read",
    "flow.deploy",
    "flow.publish",
    "flow.retire",
    "unit.manage",
    "user.manage",
    "role.grant",
    "role.revoke",
    "token.create",
    "token.read",
    "token.revoke",
)

Holdings = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused: ``verdict`` is ``"hidden"`` or ``"denied"``; ``message`` when the
    refusal is worded otherwise than its code (``engine/texts``)."""

    verdict: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def error(self) -> PowerlistError:
        kind = NotFound if self.verdict == "hidden" else PermissionDenied
        return kind(self.message, code=self.code, params=self.params)


def county_of(session: Session, unit_id: int) -> int:
    """Id of the county a unit is in (a county is in itself)."""
    return unit_chain(session, unit_id)[-1].id


def holdings_of(session: Session, username: str) -> Holdings:
    """(role, unit id) of every role an active user holds; empty for an unknown or inactive user."""
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.org_unit_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.username == username, User.active.is_(True))
    ).all()
    return tuple((role, unit) for role, unit in rows)


def administered(session: Session, holdings: Holdings) -> set[int]:
    """Ids of the counties these holdings administer."""
    administering = access_rules().roles("administering")
    return {county_of(session, unit) for role, unit in holdings if role in administering}


def every_county(session: Session) -> set[int]:
    return set(session.scalars(select(OrgUnit.id).where(OrgUnit.level == Level.COUNTY)))


def user_counties(session: Session, user: User) -> set[int]:
    """Ids of the counties ``user`` holds a role in."""
    return {county_of(session, a.org_unit_id) for a in user.roles}


def user_verdict(counties: set[int], held_in: set[int]) -> str | None:
    """Whether an administrator of ``counties`` manages a user holding roles in ``held_in``: None when
    every role is theirs (or there is none yet), ``"hidden"`` when none is, else ``"denied"``."""
    if held_in and not held_in & counties:
        return "hidden"
    if not held_in <= counties:
        return "denied"
    return None


def _names(session: Session, county_ids: Iterable[int]) -> str:
    ids = sorted(county_ids)
    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()
    names = dict(rows)
    return text("policy.separator").join(names.get(i, str(i)) for i in ids)


def _not_admin(action: str) -> Refusal:
    area = action.split(".", 1)[0]
    areas = texts("policy.admin_areas")
    what = areas.get(area, areas["user"])
    return Refusal("denied", "policy.denied", {"action": action}, text("policy.refusals.only_admins", what=what))


def _user(session: Session, counties: set[int], user: User) -> Refusal | None:
    verdict = user_verdict(counties, user_counties(session, user))
    if verdict == "hidden":
        return Refusal("hidden", "user.not_found", {"user": user.username})
    if verdict == "denied":
        return Refusal("denied", "user.other_county", {"user": user.username})
    return None


def _unit(session: Session, counties: set[int], unit: OrgUnit | None) -> Refusal | None:
    if unit is None:
        return Refusal("denied", "unit.new_county", {})
    county = county_of(session, unit.id)
    if county not in counties:
        name = _names(session, [county])
        return Refusal("denied", "unit.not_administered", {"county": name})
    return None


def _flow_deploy(session: Session, counties: set[int], key: str | None) -> Refusal | None:
    if key is None:
        return None
    outside = scope.counties_of(session, key) - counties
    if outside:
        names = _names(session, outside)
        params = {"key": key, "counties": names}
        return Refusal("denied", "flow.other_county", params, text("policy.refusals.flow_other_county", **params))
    return None


def refusal(session: Session, username: str, holdings: Holdings, action: str, target: Any) -> Refusal | None:
    """None when ``username`` (holding ``holdings``) may do ``action`` on ``target``, else why not."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action '{action}'")
    if action.startswith("token.") and isinstance(target, User) and target.username == username:
        return None
    counties = administered(session, holdings)
    if not counties:
        return _not_admin(action)
    if action == "flow.list":
        return None
    if action == "flow.read":
        if not scope.counties_of(session, target) & counties:
            return Refusal("hidden", "flow.not_found", {"key": target})
        return None
    if action == "flow.deploy":
        return _flow_deploy(session, counties, target)
    if action == "flow.publish":
        key, county = target
        return _unit(session, counties, county) or _flow_deploy(session, counties, key)
    if action == "flow.retire":
        published = scope.counties_of(session, target)
        if not published & counties:
            return Refusal("hidden", "flow.not_found", {"key": target})
        outside = published - counties
        if outside:
            names = _names(session, outside)
            return Refusal(
                "denied",
                "flow.shared",
                {"key": target, "counties": names},
            )
        return None
    if action == "unit.manage":
        return _unit(session, counties, target)
    if action in ("role.grant", "role.revoke"):
        user, unit = target
        return _user(session, counties, user) or _unit(session, counties, unit)
    return _user(session, counties, target)  # user.manage, token.*


def decide(
    session: Session, username: str, holdings: tuple[tuple[str, int], ...], action: str, target: Any
) -> str | None:
    """None when allowed, ``"denied"`` or ``"hidden"`` otherwise."""
    found = refusal(session, username, holdings, action, target)
    return None if found is None else found.verdict
