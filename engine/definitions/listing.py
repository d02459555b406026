"""Showing a flow to villagers (向村民公示): the public power list holds a flow only after an administrator
reviewed its category (五小一跑) and its power-list number, and only while it has a version in service.

Deploying puts a flow into service for cadres; it is not shown to villagers until :func:`publish`.
Showing takes the same authority as retiring its versions (the access policy's ``flow.retire``: an
administrator of every county the flow is published to, or the operator). Every change is in the
audit log. Retiring the last version in service removes the flow from the list (:func:`forget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions.models import VillagerListing
from engine.errors import InvalidState, NotFound
from engine.persistence.models import AuditLog, DefinitionVersion
from engine.policy import admin as admin_policy


def _in_service(session: Session, key: str) -> DefinitionVersion | None:
    return session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.key == key, DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )


def publish(session: Session, key: str, actor: str | None, reviewed_version: int | None = None) -> VillagerListing:
    """Show flow ``key`` to villagers, as its version in service says (category and number).

    ``reviewed_version`` is the version the administrator looked at: a newer one deployed since is
    refused, so nobody shows villagers what they did not review.
    """
    admin_policy.require(session, actor, "flow.retire", key)
    return _show(session, key, actor, reviewed_version)


def show_deployed_file(session: Session, key: str, actor: str | None) -> bool:
    """A flow deployed from a file on the server (``powerlist deploy FILE``, the shipped flows) was
    reviewed by whoever put the file there: it is shown to villagers at once when it carries a category
    and a number. Whether it is shown."""
    row = _in_service(session, key)
    if row is None or not (row.meta or {}).get("category") or not (row.meta or {}).get("number"):
        return False
    _show(session, key, actor, None)
    return True


def _show(session: Session, key: str, actor: str | None, reviewed_version: int | None) -> VillagerListing:
    row = _in_service(session, key)
    if row is None:
        if session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.key == key).limit(1)) is None:
            raise NotFound(code="flow.not_found", params={"key": key})
        raise InvalidState(code="flow.listing_retired", params={"key": key})
    if reviewed_version is not None and reviewed_version != row.version:
        raise InvalidState(
            code="flow.listing_changed",
            params={"key": key, "version": row.version},
        )
    meta = row.meta or {}
    if not meta.get("category"):
        raise InvalidState(
            code="flow.listing_uncategorised",
            params={"key": key},
            field="category",
        )
    if not meta.get("number"):
        raise InvalidState(
            code="flow.listing_unnumbered",
            params={"key": key},
            field="number",
        )
    listing = session.get(VillagerListing, key)
    if listing is None:
        listing = VillagerListing(key=key)
        session.add(listing)
    listing.version, listing.category, listing.number = row.version, meta["category"], meta["number"]
    listing.listed_at, listing.listed_by = clock.now(), actor
    session.add(
        AuditLog(
            at=clock.now(),
            actor=actor,
            action="villager_list",
            subject=f"{key} v{row.version}",
            detail={"category": meta["category"], "number": meta["number"]},
        )
    )
    session.flush()
    return listing


def withdraw(session: Session, key: str, actor: str | None) -> bool:
    """Take flow ``key`` off the villagers' list; whether it was on it."""
    admin_policy.require(session, actor, "flow.retire", key)
    removed = bool(session.execute(delete(VillagerListing).where(VillagerListing.key == key)).rowcount)
    if removed:
        session.add(AuditLog(at=clock.now(), actor=actor, action="villager_unlist", subject=key, detail={}))
    return removed


def forget(session: Session, key: str, actor: str | None) -> None:
    """After a version of ``key`` was retired: off the list when no version is left in service."""
    if _in_service(session, key) is None and session.get(VillagerListing, key) is not None:
        session.execute(delete(VillagerListing).where(VillagerListing.key == key))
        session.add(
            AuditLog(at=clock.now(), actor=actor, action="villager_unlist", subject=key, detail={"retired": True})
        )


def listed(session: Session) -> dict[str, tuple[str, str]]:
    """The flows villagers see, reviewed and with a version in service: key -> (category, number) as the
    administrator reviewed them."""
    in_service = select(DefinitionVersion.key).where(DefinitionVersion.retired.is_(False))
    rows = session.execute(
        select(VillagerListing.key, VillagerListing.category, VillagerListing.number).where(
            VillagerListing.key.in_(in_service)
        )
    )
    return {key: (category, number) for key, category, number in rows}


@dataclass(frozen=True, slots=True)
class Listing:
    """A flow as shown to villagers: the version reviewed, its category and number, who showed it and when."""

    version: int
    category: str
    number: str
    listed_at: datetime
    listed_by: str | None


def listing_of(session: Session, key: str) -> Listing | None:
    """Who showed flow ``key`` to villagers, when, and which version they reviewed (None: not shown)."""
    row = session.get(VillagerListing, key)
    if row is None:
        return None
    return Listing(row.version, row.category, row.number, row.listed_at, row.listed_by)
