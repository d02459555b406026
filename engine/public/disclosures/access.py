"""Who may do what with a village's disclosures (``disclosure.*``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine import policy
from engine.persistence.models import OrgUnit


def readable_villages(session: Session, actor: str) -> list[OrgUnit]:
    """The villages whose disclosures ``actor`` may read as staff, by code."""
    from engine.public.villages import villages

    return [v for v in villages(session) if policy.may(session, actor, "disclosure.read", v)]


def may(session: Session, actor: str, action: str, village: OrgUnit) -> bool:
    return policy.may(session, actor, f"disclosure.{action}", village)
