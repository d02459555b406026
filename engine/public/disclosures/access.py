"""Who may do what with a village's disclosures (``disclosure.*``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine import policy
from engine.org.roles import ROLES
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit
from engine.policy.rules import access_rules


def _review_roles() -> frozenset[str]:
    """The village's own 村监会: the village-level roles of ``supervising``."""
    return frozenset(r for r in access_rules().roles("supervising") if r in ROLES and ROLES[r].level == Level.VILLAGE)


def decide(session: Session, action: str, target: OrgUnit, holds) -> str | None:
    """``disclosure.read|prepare|review|post`` on a village: None, "hidden" or "denied"."""
    rules = access_rules()
    disclosing = rules.roles("disclosing")
    readers = disclosing | rules.roles("supervising") | rules.roles("read_only")
    if not isinstance(target, OrgUnit) or not holds(readers | rules.roles("acting"), target.id):
        return "hidden"
    if action == "disclosure.read":
        return None if holds(readers, target.id) else "denied"
    if action in ("disclosure.prepare", "disclosure.post"):
        return None if holds(disclosing, target.id) else "denied"
    if action == "disclosure.review":
        return None if holds(_review_roles(), target.id) else "denied"
    raise ValueError(f"unknown action '{action}'")



def readable_villages(session: Session, actor: str) -> list[OrgUnit]:
    """The villages whose disclosures ``actor`` may read as staff, by code."""
    from engine.public.villages import villages

    return [v for v in villages(session) if policy.may(session, actor, "disclosure.read", v)]


def may(session: Session, actor: str, action: str, village: OrgUnit) -> bool:
    return policy.may(session, actor, f"disclosure.{action}", village)
