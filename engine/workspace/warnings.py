"""Open violation warnings of a matter, as supervision reports them.

Supervision (``engine.supervision``) owns violations; this module only asks it, through
``engine.supervision.queries.list_violations(session, instance_id=…)``, and through any provider
registered with :func:`provide` (each returns dicts with ``message`` and ``severity``: ``red`` /
``yellow`` / ``blue``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.supervision.models import Severity, ViolationStatus

Provider = Callable[[Session, int], list[dict[str, Any]]]

_providers: list[Provider] = []


def provide(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def _supervision(session: Session, instance_id: int) -> list[dict[str, Any]]:
    try:
        queries = importlib.import_module("engine.supervision.queries")
    except ImportError:
        return []
    listing = getattr(queries, "list_violations", None)
    if listing is None:
        return []
    return [
        {
            "message": v.get("title") or v.get("message"),
            "detail": v.get("message") if v.get("title") else None,
            "severity": v.get("severity"),
            "severity_name": v.get("severity_name"),
            "step": v.get("step"),
            "raised_at": v.get("detected_at"),
            "rectify_by": v.get("rectify_by"),
        }
        for v in listing(session, instance_id=instance_id)
        if v.get("status") != ViolationStatus.CLOSED
    ]


def for_instance(session: Session, instance_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for provider in [_supervision, *_providers]:
        for warning in provider(session, instance_id) or []:
            if isinstance(warning, dict) and warning.get("message"):
                found.append(
                    {
                        "message": str(warning["message"]),
                        "detail": warning.get("detail"),
                        "severity": str(warning.get("severity") or Severity.YELLOW),
                        "severity_name": warning.get("severity_name"),
                        "step": warning.get("step"),
                        "raised_at": warning.get("raised_at"),
                        "rectify_by": warning.get("rectify_by"),
                    }
                )
    return found
