"""The access policy's answers for the supervision area's own targets: violations, its documents
and talks. :func:`install` hands them to :mod:`engine.policy` (the engine's bootstrap calls it); the
policy applies them in ``may`` and ``require``.

Each answer is None (allowed), ``"hidden"`` (the target does not exist for the actor) or ``"denied"``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import policy
from engine.errors import PermissionDenied
from engine.org.roles import ROLES
from engine.org.service import get_user, holds
from engine.org.units import unit_chain
from engine.persistence.models import OrgUnit, User
from engine.policy.rules import access_rules
from engine.supervision.models import SupervisionDocument, Violation
from engine.supervision.notice_rules import Target, kind_name, reach, readers, roles_for, talk_name
from engine.supervision.reach import book_for_village, is_owner, role_unit_id, supervises_at
from engine.texts import text

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


def install() -> None:
    """Let the access policy decide on violations, documents and talks (the engine's bootstrap calls this)."""
    policy.register_supervision(
        policy.SupervisionDecisions(violation_read, violation_act, document, document_denied)
    )
