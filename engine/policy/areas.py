"""The policy's answers for the villagers' side's staff actions (subsidy rosters, village accounts,
periodic disclosures); the supervision area's own are :mod:`engine.supervision.access`.

Each ``decide`` answers None (allowed), ``"hidden"`` (the target does not exist for the actor) or
``"denied"``. The areas call :func:`engine.policy.require`; they are never imported from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.org.roles import ROLES
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit
from engine.policy.rules import access_rules

Holds = Callable[[frozenset[str], int], bool]

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
