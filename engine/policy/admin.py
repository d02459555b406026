"""The administrators' actions checked as :func:`engine.policy.require` checks them, their refusal
worded for administrators (see :mod:`engine.policy.counties` for who may do what).

``username`` None is the command-line operator, who may do everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import policy
from engine.errors import NotFound, PermissionDenied
from engine.policy.counties import (
    ACTIONS,
    ADMIN_PREFIXES,
    Refusal,
    administered,
    county_of,
    decide,
    every_county,
    holdings_of,
    refusal,
    user_counties,
    user_verdict,
)

__all__ = [
    "ACTIONS",
    "ADMIN_PREFIXES",
    "Refusal",
    "administered",
    "county_of",
    "decide",
    "every_county",
    "holdings_of",
    "may",
    "refusal",
    "require",
    "user_counties",
    "user_verdict",
]


def require(session: Session, username: str | None, action: str, target: Any = None) -> None:
    """:func:`engine.policy.require` for an administrative action, its refusal worded for administrators.

    ``username`` None is the command-line operator, who may do everything.
    """
    if username is None:
        return
    try:
        policy.require(session, username, action, target)
    except (NotFound, PermissionDenied) as exc:
        if exc.code == "user.unknown":
            raise
        found = refusal(session, username, holdings_of(session, username), action, target)
        if found is None:
            raise
        raise found.error() from None


def may(session: Session, username: str | None, action: str, target: Any = None) -> bool:
    """Whether ``username`` (None: the operator) may do the administrative action."""
    if username is None:
        return True
    return policy.may(session, username, action, target)
