"""One access policy: ``may(session, actor, action, target)``, for every page, API call and command.

The rules are data (``rules/defaults/access.yaml``, see :mod:`engine.policy.rules`); this module
applies them (:mod:`engine.policy.counties` the administrators' actions, :mod:`engine.policy.areas`
the villagers' side's, :mod:`engine.supervision.access` the supervision area's own). A role held in
a unit reaches that unit's matters and those of every village below it. Someone who may not see a
matter gets :class:`NotFound` for anything about it, so an id reveals nothing; someone who sees it
but may not do the action gets :class:`PermissionDenied`.

Actions and their targets:

============================  ==================  ==============================================
action                        target              who
============================  ==================  ==============================================
``matter.read``               Matter     ``read_matters`` within reach (confidential
                                                  flows: their ``read`` roles, less the conflicted)
``matter.start``              :class:`Start`      the flow's starters within reach
``matter.copy``               Matter     readers holding an acting role within reach
``matter.withdraw``           Matter     the same (whose step it was is the command's check)
``task.act``                  OpenTask            holder of the step's role in the step's unit,
                                                  or the person it was handed to; acting roles only
``task.force``                OpenTask            a ``forcing`` role within reach
``task.remind``               OpenTask            readers holding an acting role within reach
``approval.decide``           AddedApproval       the named approver, while they still act and see
``file.upload``               None                anyone holding an acting role
``violation.read``            Violation           supervisors and auditors within reach of its
                                                  village, and its rectification owner
``violation.handle``          Violation           its supervisors at its level or above (the
                                                  escalation chain of the supervision rules)
``violation.rectify``         Violation           the same, or the owner it names in the village
``decision.read``             OrgUnit (village)   ``read_matters`` within reach
``decision.record``           OrgUnit (village)   ``registering`` within reach (a decision passed
                                                  on paper, entered with its minutes)
``decision.close``            OrgUnit (village)   the same
``notice.read`` ``talk.read``  document, OrgUnit   ``supervising`` and ``read_only`` within reach
``notice.issue``              notice_rules.Target    the roles ``rules/defaults/notices.yaml`` names
                                                  for the kind (``issuers``), within reach
``notice.receive``            document            the same, for the document's kind
``talk.record``               notice_rules.Target    the roles it names for the kind of talk
============================  ==================  ==============================================

The villagers' side's staff actions, each on a village (OrgUnit), answer "not found" to anyone
holding no role within reach of it: ``subsidy.import`` and ``subsidy.withdraw`` for
``keeping_rosters``; ``subsidy.read`` and ``subsidy.households`` for those and ``disclosing``;
``ledger.import`` for ``keeping_accounts``, ``ledger.read`` for those, ``supervising`` and
``read_only``; ``disclosure.prepare`` and ``disclosure.post`` for ``disclosing``,
``disclosure.review`` for the village's own ``supervising`` roles (村监会), ``disclosure.read`` for
those and ``read_only``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import caches
from engine.definitions import scope
from engine.errors import NotFound, PermissionDenied
from engine.org.roles import ROLES
from engine.org.units import unit_chain
from engine.persistence.models import DefinitionVersion, Matter, OpenTask, OrgUnit, RoleAssignment, User
from engine.policy import areas, counties
from engine.policy.rules import access_rules
from engine.texts import text, texts

__all__ = [
    "Start",
    "may",
    "require",
    "register_concern",
    "starters",
    "ACTIONS",
    # public modules (the web app and the command line import only these; see .importlinter)
    "rules",
    "audit",
]

ACTIONS = (
    "matter.read",
    "matter.start",
    "matter.copy",
    "matter.withdraw",
    "task.act",
    "task.force",
    "task.remind",
    "approval.decide",
    "file.upload",
    "violation.read",
    "violation.handle",
    "violation.rectify",
    "decision.read",
    "decision.record",
    "decision.close",
    "notice.read",
    "notice.issue",
    "notice.receive",
    "talk.read",
    "talk.record",
)


@dataclass(frozen=True)
class Start:
    """Starting a matter of ``definition`` (a LoadedDefinition) in ``village``."""

    definition: Any
    village: OrgUnit


ConcernCheck = Callable[[Session, Matter], "str | None"]
# Whom the matters of a flow concern, by flow key: registered by ``engine.bootstrap()``.
_concern_checks: dict[str, ConcernCheck] = {}


def register_concern(key: str, check: ConcernCheck) -> None:
    """``check(session, instance)`` tells whom a matter of flow ``key`` concerns (``cadres``,
    ``supervisors``…, or None); the flow's ``conflicted`` roles for that concern, held in the
    matter's village, then neither see nor handle it."""
    _concern_checks[key] = check


@dataclass(frozen=True)
class SupervisionDecisions:
    """The supervision area's answers on its own targets (:mod:`engine.supervision.access`)."""

    violation_read: Callable[[Session, str, Any], bool]
    violation_act: Callable[[Session, str, str, Any], str | None]
    document: Callable[[Session, tuple[tuple[str, int], ...], str, Any], str | None]
    document_denied: Callable[[Session, str, str, Any], PermissionDenied]


# Registered by ``engine.bootstrap()``.
_supervision: list[SupervisionDecisions] = []


def register_supervision(decisions: SupervisionDecisions) -> None:
    """Decide ``violation.*``, ``notice.*`` and ``talk.*`` with ``decisions``."""
    _supervision[:] = [decisions]


def _supervision_decisions() -> SupervisionDecisions:
    if not _supervision:
        raise RuntimeError("violations, notices and talks are decided once engine.bootstrap() has run")
    return _supervision[0]


@dataclass(frozen=True)
class _Actor:
    username: str
    holdings: tuple[tuple[str, int], ...]  # (role, unit id)


_HOLDINGS = (
    select(User.id, RoleAssignment.role, RoleAssignment.org_unit_id)
    .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
    .where(User.username == bindparam("username"), User.active.is_(True))
)
_ACTORS = "powerlist.policy.actors"


def _actor(session: Session, username: str | None) -> _Actor | None:
    """The active user's role holdings, read once per session (a request, a command)."""
    if not username or not isinstance(username, str):
        return None
    known = session.info.setdefault(_ACTORS, {})
    if username in known:
        return known[username]
    rows = session.execute(_HOLDINGS, {"username": username}).all()
    found = _Actor(username, tuple((r.role, r.org_unit_id) for r in rows if r.role is not None)) if rows else None
    known[username] = found
    return found


def forget(session: Session) -> None:
    """Drop the holdings read in this session, after roles or users changed in it."""
    session.info.pop(_ACTORS, None)


def _reach(session: Session, village_id: int) -> set[int]:
    return {unit.id for unit in unit_chain(session, village_id)}


def _holds_within(actor: _Actor, roles: frozenset[str], reach: set[int]) -> bool:
    return any(role in roles and unit in reach for role, unit in actor.holdings)


# Caches of facts that never change once written: a definition version's flow key (per database)
# and the roles of a loaded definition's first steps. ``clear_caches`` empties them.
_keys = caches.PerDatabase()


def _key_of(session: Session, instance: Matter) -> str:
    """The flow key of the matter's definition version (versions never change their key)."""
    keys = _keys.of(session)
    key = keys.get(instance.definition_version_id)
    if key is None:
        key = session.scalar(
            select(DefinitionVersion.key).where(DefinitionVersion.id == bindparam("id")),
            {"id": instance.definition_version_id},
        )
        keys[instance.definition_version_id] = key
    return key


def _reads(session: Session, actor: _Actor, instance: Matter) -> bool:
    rules = access_rules()
    reach = _reach(session, instance.village_id)
    key = _key_of(session, instance)
    confidential = rules.confidential.get(key)
    if confidential is None:
        return _holds_within(actor, rules.read_matters, reach)
    if not _holds_within(actor, confidential.read, reach):
        return False
    if confidential.conflicted:
        check = _concern_checks.get(key)
        if check is None:  # nobody says whom it concerns: keep every conflicted role out
            kept_out = frozenset().union(*confidential.conflicted.values())
        else:
            kept_out = confidential.conflicted.get(check(session, instance) or "", frozenset())
        if any(role in kept_out and unit == instance.village_id for role, unit in actor.holdings):
            return False
    return True


def clear_caches() -> None:
    """Forget the flow keys and first-step roles read so far (a test that rebuilds its databases)."""
    _keys.clear()
    _first_roles.clear()


caches.register(clear_caches)


def starters(definition: Any) -> frozenset[str]:
    """The roles that start matters of ``definition``: the access rules' list for it, else the
    village's cadres and the roles of its first steps."""
    rules = access_rules()
    listed = rules.start.get(definition.key)
    if listed is not None:
        return listed
    return rules.start_default | first_step_roles(definition)


_first_roles: dict[int, tuple[Any, frozenset[str]]] = {}


def first_step_roles(definition: Any) -> frozenset[str]:
    """Roles of the user tasks a new matter reaches first (the start event's lane, in effect)."""
    found = _first_roles.get(id(definition.spec))
    if found is not None and found[0] is definition.spec:
        return found[1]
    roles = _first_step_roles(definition)
    _first_roles[id(definition.spec)] = (definition.spec, roles)
    return roles


def _first_step_roles(definition: Any) -> frozenset[str]:
    roles: set[str] = set()
    seen: set[str] = set()
    pending = [definition.spec.start]
    while pending:
        spec = pending.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if getattr(spec, "manual", False) and spec.name in definition.steps:
            roles.add(definition.steps[spec.name].role)
            continue
        pending.extend(spec.outputs)
    return frozenset(roles)


def _decide(session: Session, actor: _Actor, action: str, target: Any, ignore_assignee: bool = False) -> str | None:
    """None when allowed; otherwise ``"hidden"`` (the target does not exist for the actor) or ``"denied"``."""
    rules = access_rules()
    acting = rules.roles("acting")
    if action.startswith(counties.ADMIN_PREFIXES):
        return counties.decide(session, actor.username, actor.holdings, action, target)
    if action == "violation.read":
        return None if _supervision_decisions().violation_read(session, actor.username, target) else "hidden"
    if action.startswith("violation."):
        return _supervision_decisions().violation_act(session, actor.username, action, target)
    if action.startswith(("notice.", "talk.")):
        return _supervision_decisions().document(session, actor.holdings, action, target)
    if action == "file.upload":
        return None if any(role in acting for role, _unit in actor.holdings) else "denied"
    if action.startswith(PUBLIC_PREFIXES):
        decide = next(d for prefix, d in areas.PUBLIC.items() if action.startswith(prefix))
        return decide(session, action, target, lambda roles, unit_id: holds(session, actor, roles, unit_id))
    if action.startswith("decision."):
        reach = _reach(session, target.id)
        sets = rules.read_matters if action == "decision.read" else rules.roles("registering")
        if not _holds_within(actor, rules.read_matters, reach):
            return "hidden"
        return None if _holds_within(actor, sets, reach) else "denied"
    if action == "matter.start":
        chain = unit_chain(session, target.village.id)
        if not scope.is_published(session, target.definition.key, chain[-1].id):
            return "hidden"
        reach = {unit.id for unit in chain}
        return None if _holds_within(actor, starters(target.definition) & acting, reach) else "denied"
    if action == "approval.decide":
        instance = session.get(Matter, target.instance_id)
        if target.approver != actor.username or instance is None or not _reads(session, actor, instance):
            return "hidden"
        return None if _holds_within(actor, acting, _reach(session, instance.village_id)) else "denied"
    instance = target if isinstance(target, Matter) else session.get(Matter, target.instance_id)
    if instance is None or not _reads(session, actor, instance):
        return "hidden"
    if action == "matter.read":
        return None
    reach = _reach(session, instance.village_id)
    if action in ("matter.copy", "matter.withdraw", "task.remind"):
        return None if _holds_within(actor, acting, reach) else "denied"
    if action == "task.force":
        return None if _holds_within(actor, rules.roles("forcing"), reach) else "denied"
    if action == "task.act":
        row: OpenTask = target
        if row.role not in acting or (row.role, row.org_unit_id) not in actor.holdings:
            return "denied"
        if row.assignee and row.assignee != actor.username and not ignore_assignee:
            return "assigned"
        return None
    raise ValueError(f"unknown action '{action}'")


# The villagers' side's staff actions: subsidy rosters, the village accounts, the periodic disclosures,
# decided in :mod:`engine.policy.areas`.
PUBLIC_PREFIXES = tuple(areas.PUBLIC)


def holds(session: Session, actor: _Actor, roles: frozenset[str], village_id: int) -> bool:
    """Whether ``actor`` holds one of ``roles`` in the unit ``village_id`` or in a unit above it."""
    return _holds_within(actor, roles, _reach(session, village_id))


def could_hold(session: Session, username: str | None, row: OpenTask) -> bool:
    """Whether ``username`` could do the open step were it not handed to anyone: who a step may be
    handed to (转办)."""
    actor = _actor(session, username)
    return actor is not None and _decide(session, actor, "task.act", row, ignore_assignee=True) is None


def may(session: Session, username: str | None, action: str, target: Any = None) -> bool:
    """Whether ``username`` may do ``action`` on ``target`` now."""
    actor = _actor(session, username)
    return actor is not None and _decide(session, actor, action, target) is None


def require(session: Session, username: str | None, action: str, target: Any = None) -> None:
    """Raise unless ``username`` may do ``action`` on ``target``: NotFound where they may not even see it."""
    actor = _actor(session, username)
    if actor is None:
        raise NotFound(code="user.unknown", params={"user": username})
    verdict = _decide(session, actor, action, target)
    if verdict is None:
        return
    if verdict == "hidden":
        if action == "matter.start":
            raise NotFound(
                text("policy.refusals.flow_not_published", key=target.definition.key), code="flow.not_published"
            )
        if action.startswith("violation."):
            raise NotFound(
                text("policy.refusals.violation_hidden"), code="violation.not_found", params={"violation": target.id}
            )
        if action.startswith(("notice.", "talk.")):
            raise NotFound(code="not_found")
        if action.startswith("decision."):  # a village out of reach is as good as absent
            code = target.code
            raise NotFound(code="unit.not_found", params={"unit": code})
        raise NotFound(code="matter.not_found")
    if verdict == "assigned":
        raise PermissionDenied(code="task.assigned_to_other", params={"user": target.assignee})
    raise _denied(session, username, action, target)


def _denied(session: Session, username: str, action: str, target: Any) -> PermissionDenied:
    """The refusal, naming what would have been needed."""
    if action == "task.act":
        unit = unit_chain(session, target.org_unit_id)[0]
        role = ROLES[target.role].name_zh if target.role in ROLES else target.role
        return PermissionDenied(
            text(
                "policy.refusals.task_not_holder",
                user=username,
                step=target.step_name,
                unit_name=unit.name,
                unit=unit.code,
                role_name=role,
                role=target.role,
            ),
            code="task.not_holder",
            params={"user": username, "step": target.step_name, "role": target.role, "unit": unit.code},
        )
    if action.startswith(("notice.", "talk.")):
        return _supervision_decisions().document_denied(session, username, action, target)
    if action == "matter.start":
        return PermissionDenied(
            text(
                "policy.refusals.start_denied",
                user=username,
                village_name=target.village.name,
                village=target.village.code,
                flow_name=target.definition.name,
            ),
            code="matter.start_denied",
            params={"user": username, "village": target.village.code, "flow": target.definition.key},
        )
    return PermissionDenied(
        text("policy.refusals.denied", user=username, what=texts("policy.actions").get(action, action)),
        code="policy.denied",
        params={"user": username, "action": action},
    )
