"""Open violation warnings of a matter, as supervision reports them.

Supervision (``engine.supervision``) owns violations; this module only asks it, through
``engine.supervision.queries.list_violations(session, instance_id=…)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.supervision.models import Severity, ViolationStatus
from engine.supervision.queries import list_violations


def _supervision(session: Session, instance_id: int) -> list[dict[str, Any]]:
    return [
        {
            "message": v.title or v.message,
            "detail": v.message if v.title else None,
            "severity": v.severity,
            "severity_name": v.severity_name,
            "step": v.step,
            "raised_at": v.detected_at,
            "rectify_by": v.rectify_by,
        }
        for v in list_violations(session, instance_id=instance_id)
        if v.status != ViolationStatus.CLOSED
    ]


def for_instance(session: Session, instance_id: int) -> list[dict[str, Any]]:
    return [
        {
            "message": str(warning["message"]),
            "detail": warning.get("detail"),
            "severity": str(warning.get("severity") or Severity.YELLOW),
            "severity_name": warning.get("severity_name"),
            "step": warning.get("step"),
            "raised_at": warning.get("raised_at"),
            "rectify_by": warning.get("rectify_by"),
        }
        for warning in _supervision(session, instance_id)
        if warning.get("message")
    ]
