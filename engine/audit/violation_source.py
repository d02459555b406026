"""Violations as the audit views see them: which matters have any, and how many."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.audit.replay import set_violation_source
from engine.supervision.models import Violation


class SupervisionViolations:
    def instances_with_violations(self) -> Select:
        return select(Violation.instance_id).where(Violation.instance_id.is_not(None)).distinct()

    def counts(self, session: Session, instance_ids: list[int]) -> dict[int, int]:
        if not instance_ids:
            return {}
        rows = session.execute(
            select(Violation.instance_id, func.count())
            .where(Violation.instance_id.in_(instance_ids))
            .group_by(Violation.instance_id)
        )
        return {instance_id: count for instance_id, count in rows}


def install() -> None:
    """Let the audit views count violations (the engine's bootstrap calls this)."""
    set_violation_source(SupervisionViolations())
