"""Which counties a flow is published to.

A flow (every version of its key) is published to one or more counties: their villages start its
matters and their administrators see it. These are the plain lookups and changes; who may change
a publication is the access policy's (:mod:`engine.policy.admin`), applied in
:mod:`engine.definitions.deploy`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.definitions.models import FlowPublication
from engine.persistence.models import OrgUnit

_KNOWN = "powerlist.publications"


def is_published(session: Session, key: str, county_id: int) -> bool:
    """Whether matters of flow ``key`` may be started in the county (read once per session)."""
    known = session.info.setdefault(_KNOWN, {})
    if (key, county_id) not in known:
        known[(key, county_id)] = (
            session.scalar(
                select(FlowPublication.key).where(FlowPublication.key == key, FlowPublication.county_id == county_id)
            )
            is not None
        )
    return known[(key, county_id)]


def counties_of(session: Session, key: str) -> set[int]:
    """Ids of the counties flow ``key`` is published to."""
    return set(session.scalars(select(FlowPublication.county_id).where(FlowPublication.key == key)))


def keys_in(session: Session, county_ids: Iterable[int]) -> set[str]:
    """Keys of the flows published to at least one of the counties."""
    ids = list(county_ids)
    if not ids:
        return set()
    return set(session.scalars(select(FlowPublication.key).where(FlowPublication.county_id.in_(ids))))


def publications(session: Session, field: str = "code") -> dict[str, list[str]]:
    """Every published key with the codes (or, with ``field="name"``, the names) of its counties."""
    column = OrgUnit.name if field == "name" else OrgUnit.code
    found: dict[str, list[str]] = {}
    rows = session.execute(
        select(FlowPublication.key, column)
        .join(OrgUnit, OrgUnit.id == FlowPublication.county_id)
        .order_by(FlowPublication.key, OrgUnit.code)
    )
    for key, value in rows:
        found.setdefault(key, []).append(value)
    return found


def add(session: Session, key: str, county_ids: Iterable[int], actor: str | None, now: datetime) -> list[int]:
    """Publish ``key`` to the counties; returns the ids of those it was not published to before."""
    session.info.pop(_KNOWN, None)
    already = counties_of(session, key)
    added = sorted(set(county_ids) - already)
    for county_id in added:
        session.add(FlowPublication(key=key, county_id=county_id, published_at=now, published_by=actor))
    session.flush()
    return added


def remove(session: Session, key: str, county_id: int) -> bool:
    """Withdraw ``key`` from the county; whether it was published there."""
    session.info.pop(_KNOWN, None)
    result = session.execute(
        delete(FlowPublication).where(FlowPublication.key == key, FlowPublication.county_id == county_id)
    )
    return bool(result.rowcount)
