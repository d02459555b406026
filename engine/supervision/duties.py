"""Separation of duties (不相容职务相分离), applied from the rule set an auditor reads.

``incompatible_roles`` of ``rules/defaults/supervision.yaml``: roles one person may not hold together
in the same village or town; :func:`check_grant` refuses the grant that would combine them (every
grant, from the web, the API or the command line, goes through ``people.grant_role``).

``incompatible_steps``: steps of one matter that one person may not both do; :func:`check_step`
refuses the second one before it runs (the ``complete`` command calls it), or lets it through and
raises the rule's violation: always (``on_conflict: warn``) or when the person gives a reason
(``on_conflict: waive``).

``escalation.dismiss_from`` (the lowest level whose supervisors may close a warning of a colour as
dismissed) is applied by :func:`engine.supervision.reach.require_dismiss_level`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import clock
from engine.errors import PermissionDenied
from engine.history import events as history
from engine.history.events import EventKind
from engine.org.roles import ROLES
from engine.org.units import unit_chain
from engine.persistence.models import Matter, OpenTask, OrgUnit, User
from engine.supervision.rules import RuleBook, rules_for
from engine.supervision.semantics import DEFAULT_STEP_CODE
from engine.texts import text


def _role_name(role: str) -> str:
    return ROLES[role].name_zh if role in ROLES else role


def _enabled(records: Any) -> list[dict[str, Any]]:
    return [r for r in records or [] if isinstance(r, dict) and r.get("enabled", True)]


# --- the rule data ---------------------------------------------------------------------------------


def role_rules(book: RuleBook) -> list[dict[str, Any]]:
    return _enabled(book.rules.get("incompatible_roles"))


def step_rules(book: RuleBook, item: str, step_id: str) -> list[dict[str, Any]]:
    return [r for r in _enabled(book.rules.get("incompatible_steps")) if r["item"] == item and step_id in r["steps"]]


def incompatible_with(book: RuleBook, role: str) -> list[tuple[str, dict[str, Any]]]:
    """(other role, rule) for every role one may not hold together with ``role`` in one unit."""
    found: list[tuple[str, dict[str, Any]]] = []
    for record in role_rules(book):
        if role in record["roles"]:
            found += [(other, record) for other in record["with"] if other != role]
        if role in record["with"]:
            found += [(other, record) for other in record["roles"] if other != role]
    return found


# --- roles -----------------------------------------------------------------------------------------


def _book_for_unit(session: Session, unit: OrgUnit) -> RuleBook:
    return rules_for(session, unit_chain(session, unit.id)[-1].code)


def check_grant(session: Session, user: User, role: str, unit: OrgUnit) -> None:
    """Refuse granting ``role`` in ``unit`` to a user who holds a role there it is incompatible with."""
    held = {a.role for a in user.roles if a.org_unit_id == unit.id} - {role}
    if not held:
        return
    for other, record in incompatible_with(_book_for_unit(session, unit), role):
        if other in held:
            raise PermissionDenied(
                code="role.incompatible",
                params={
                    "user": user.username,
                    "role": role,
                    "held": other,
                    "unit": unit.code,
                    "legal_basis": record["legal_basis"],
                    "rule": record["id"],
                    "unit_name": unit.name,
                    "held_name": _role_name(other),
                    "role_name": _role_name(role),
                },
                field="role",
            )


# --- steps of one matter ---------------------------------------------------------------------------


def _latest_completions(session: Session, instance: Matter) -> dict[str, Any]:
    """The latest completion event of each step of the matter (a step done again replaces it)."""
    latest: dict[str, Any] = {}
    for event in history.events_of(session, instance.id):
        if event.kind == EventKind.TASK_COMPLETED and event.step_id:
            latest[event.step_id] = event
    return latest


def check_step(
    session: Session,
    row: OpenTask,
    instance: Matter,
    definition: Any,
    actor: str,
    waive_reason: str | None = None,
) -> None:
    """Before ``actor`` does the open step ``row``: refuse it when they did an incompatible step of
    the same matter, or record the rule's violation (``warn``; ``waive`` with a reason)."""
    from engine.supervision.violations import Finding, book_for_village, event_ref, raise_violation

    book = book_for_village(session, instance.village_id)
    rules = step_rules(book, definition.key, row.step_id)
    if not rules:
        return
    latest = _latest_completions(session, instance)

    def name(step_id: str) -> str:
        step = definition.steps.get(step_id)
        return step.name if step is not None else step_id

    for record in rules:
        clashes = [s for s in record["steps"] if s != row.step_id and s in latest and latest[s].actor == actor]
        if not clashes:
            continue
        others = text("supervision.separator").join(text("supervision.duties.step", step=name(s)) for s in clashes)
        reason = (waive_reason or "").strip()
        mode = record.get("on_conflict", "refuse")
        if mode == "warn" or (mode == "waive" and reason):
            code = record.get("code", DEFAULT_STEP_CODE)
            raise_violation(
                session,
                book,
                Finding(
                    code=code,
                    village_id=instance.village_id,
                    dedup_key=f"{code}:{instance.id}:{row.id}",
                    message=text("supervision.duties.compromised", user=actor, others=others, step=name(row.step_id))
                    + (text("supervision.duties.reason", reason=reason) if reason else "")
                    + text("supervision.duties.basis", legal_basis=record["legal_basis"]),
                    instance_id=instance.id,
                    step_id=row.step_id,
                    task_id=row.id,
                    evidence=[event_ref(latest[s]) for s in clashes]
                    + [{"rule": record["id"], "reason": reason or None}],
                    responsible_role=row.role,
                    responsible_user=actor,
                ),
                clock.now(),
            )
            continue
        raise PermissionDenied(
            code="task.incompatible_duty",
            params={
                "user": actor,
                "step": name(row.step_id),
                "others": others,
                "other": text("supervision.separator").join(name(s) for s in clashes),
                "legal_basis": record["legal_basis"],
                "rule": record["id"],
                "waivable": mode == "waive",
            },
        )


# --- dismissing a warning --------------------------------------------------------------------------
