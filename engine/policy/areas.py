"""The policy's answers for the areas' own actions: violations, supervision documents and talks, and
the villagers' side's staff actions (subsidy rosters, village accounts, periodic disclosures).

Each ``decide`` answers None (allowed), ``"hidden"`` (the target does not exist for the actor) or
``"denied"``. The areas call :func:`engine.policy.require`; they are never imported from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import PermissionDenied
from engine.org.roles import ROLES
from engine.org.service import get_user, holds
from engine.org.units import unit_chain
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit, User
from engine.policy.rules import access_rules
from engine.supervision.models import SupervisionDocument, Violation
from engine.supervision.notice_rules import Target, kind_name, reach, readers, roles_for, talk_name
from engine.supervision.reach import book_for_village, is_owner, role_unit_id, supervises_at
from engine.texts import text

Holds = Callable[[frozenset[str], int], bool]

# --- violations ------------------------------------------------------------------------------


def violation_read(session: Session, username: str, violation: Violation) -> bool:
    """Supervisors and auditors within reach of its village (any level), and its rectification owner."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        return False
    reach = {unit.id for unit in unit_chain(session, violation.village_id)}
    readers = access_rules().roles("supervising") | access_rules().roles("read_only")
    if any(a.role in readers and a.org_unit_id in reach for a in user.roles):
        return True
    return is_owner(session, user, violation)


def violation_act(session: Session, username: str, action: str, violation: Violation) -> str | None:
    """The supervisors at its level or above handle it; the owner of the rectification (the role it
    names in the village) may also report it rectified. None when allowed, ``"denied"`` otherwise."""
    user = get_user(session, username)
    book = book_for_village(session, violation.village_id)
    if supervises_at(session, book, user, violation):
        return None
    owner = violation.owner_role and holds(
        user, violation.owner_role, role_unit_id(session, violation.village_id, violation.owner_role)
    )
    if action == "violation.rectify" and owner:
        return None
    return "denied"


# --- documents and talks ---------------------------------------------------------------------


def document(session: Session, holdings: tuple[tuple[str, int], ...], action: str, target: Any) -> str | None:
    """The policy's answer for documents and talks: the supervisors and auditors within reach of the
    village read them; the roles the rules name for a kind issue it, record its receipt, or hold
    a talk of it. None when allowed, ``"hidden"`` or ``"denied"``."""
    if isinstance(target, SupervisionDocument):
        target = Target(target.kind, target.village_id)
    village_id = target.id if isinstance(target, OrgUnit) else target.village_id
    units = reach(session, village_id)
    if not any(role in readers() and unit in units for role, unit in holdings):
        return "hidden"
    if action in ("notice.read", "talk.read"):
        return None
    roles = set(roles_for(session, action, target))
    return None if any(role in roles and unit in units for role, unit in holdings) else "denied"


def document_denied(session: Session, username: str, action: str, target: Any) -> PermissionDenied:
    """The refusal, naming the roles that may do it."""
    if isinstance(target, SupervisionDocument):
        target = Target(target.kind, target.village_id)
    roles = text("supervision.separator").join(
        ROLES[r].name_zh for r in roles_for(session, action, target) if r in ROLES
    )
    if action.startswith("talk."):
        return PermissionDenied(
            code="talk.record_denied", params={"user": username, "kind": talk_name(target.kind), "roles": roles}
        )
    code = "notice.receive_denied" if action == "notice.receive" else "notice.issue_denied"
    return PermissionDenied(code=code, params={"user": username, "kind": kind_name(target.kind), "roles": roles})


# --- the villagers' side ---------------------------------------------------------------------


def subsidy(session: Session, action: str, target: Any, holds: Holds) -> str | None:
    """``subsidy.*`` on a village (an OrgUnit)."""
    rules = access_rules()
    keepers = rules.roles("keeping_rosters")
    if not holds(keepers | rules.roles("acting") | rules.roles("read_only"), target.id):
        return "hidden"  # a village out of reach is as good as absent
    if action in ("subsidy.import", "subsidy.withdraw"):
        return None if holds(keepers, target.id) else "denied"
    if action in ("subsidy.read", "subsidy.households"):
        return None if holds(keepers | rules.roles("disclosing"), target.id) else "denied"
    return "denied"


def _village_books(action: str, target: OrgUnit, holds: Holds, keepers: frozenset[str], acts: dict) -> str | None:
    """A village's books kept by ``keepers``: they, the supervisors and the read-only roles read them
    (``<area>.read``); ``acts`` names the roles of every other action. Anyone else holding no such or
    acting role within reach of the village finds none."""
    rules = access_rules()
    readers = keepers | rules.roles("supervising") | rules.roles("read_only")
    if not isinstance(target, OrgUnit) or not holds(readers | rules.roles("acting"), target.id):
        return "hidden"
    if action.endswith(".read"):
        return None if holds(readers, target.id) else "denied"
    if action in acts:
        return None if holds(acts[action](), target.id) else "denied"
    raise ValueError(f"unknown action '{action}'")


def ledger(session: Session, action: str, target: OrgUnit, holds: Holds) -> str | None:
    """``ledger.read|import`` on a village."""
    keeping = access_rules().roles("keeping_accounts")
    return _village_books(action, target, holds, keeping, {"ledger.import": lambda: keeping})


def review_roles() -> frozenset[str]:
    """The village's own 村监会: the village-level roles of ``supervising``."""
    return frozenset(r for r in access_rules().roles("supervising") if r in ROLES and ROLES[r].level == Level.VILLAGE)


def disclosure(session: Session, action: str, target: OrgUnit, holds: Holds) -> str | None:
    """``disclosure.read|prepare|review|post`` on a village."""
    disclosing = access_rules().roles("disclosing")
    acts = {"disclosure.prepare": lambda: disclosing, "disclosure.post": lambda: disclosing}
    return _village_books(action, target, holds, disclosing, {**acts, "disclosure.review": review_roles})


PUBLIC = {"subsidy.": subsidy, "ledger.": ledger, "disclosure.": disclosure}
