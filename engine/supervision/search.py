"""Search over the matters in a supervisor's or auditor's scope: by title, receipt code (回执码),
person (who started it or acted in it, by username or display name) and decision number (决议编号,
the matter that passed it and those that cite it).

Plain ``LIKE`` with its wildcards escaped, so it runs the same on SQLite and PostgreSQL; the query
is bounded in length and the answer in rows; each hit is checked against the access policy
(``matter.read``), so a confidential matter stays hidden from whom it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import policy
from engine.inputs import InputInvalid
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OrgUnit, User
from engine.public import receipts
from engine.public.models import PublicReceipt
from engine.supervision.models import Decision, DecisionUse
from engine.supervision.worklist import scope_villages

MIN_QUERY = 2
MAX_QUERY = 100
MAX_HITS = 50
_CANDIDATES = 400


@dataclass(frozen=True)
class Hit:
    """A matter found, and why: ``matched`` lists ``title``, ``receipt``, ``person``, ``decision``."""

    instance_id: int
    title: str | None
    flow: str
    flow_name: str
    village: str
    village_name: str
    status: str
    started_by: str
    started_at: datetime
    matched: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        from engine.clock import format_time

        result = {name: getattr(self, name) for name in self.__dataclass_fields__}
        result["started_at"] = format_time(self.started_at)
        result["matched"] = list(self.matched)
        return result


@dataclass(frozen=True)
class Results:
    query: str
    hits: tuple[Hit, ...]
    truncated: bool

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [h.as_dict() for h in self.hits], "truncated": self.truncated}


def check_query(text: Any) -> str:
    query = " ".join(text.split()) if isinstance(text, str) else ""
    if not MIN_QUERY <= len(query) <= MAX_QUERY:
        raise InputInvalid(
            code="search.query",
            params={"min": MIN_QUERY, "max": MAX_QUERY},
            field="q",
        )
    return query


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, username: str, text: Any) -> Results:
    """The matters in ``username``'s scope matching ``text``, newest first, at most :data:`MAX_HITS`."""
    query = check_query(text)
    villages, _supervises = scope_villages(session, username)
    if not villages:
        return Results(query, (), False)
    pattern = _like(query)
    in_scope = Matter.village_id.in_(sorted(villages))
    matched: dict[int, set[str]] = {}

    def collect(reason: str, statement) -> None:
        for instance_id in session.scalars(statement.limit(_CANDIDATES)):
            if instance_id is not None:
                matched.setdefault(instance_id, set()).add(reason)

    collect(
        "title",
        select(Matter.id).where(in_scope, Matter.title.ilike(pattern, escape="\\")),
    )
    code = receipts.normalize(query)
    if code is not None:
        collect(
            "receipt",
            select(PublicReceipt.instance_id)
            .join(Matter, Matter.id == PublicReceipt.instance_id)
            .where(in_scope, PublicReceipt.code == code),
        )
    people = select(User.username).where(
        or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
    )
    collect("person", select(Matter.id).where(in_scope, Matter.started_by.in_(people)))
    collect(
        "person",
        select(HistoryEvent.instance_id)
        .join(Matter, Matter.id == HistoryEvent.instance_id)
        .where(in_scope, HistoryEvent.actor.in_(people))
        .distinct(),
    )
    decisions = select(Decision.id).where(
        Decision.village_id.in_(sorted(villages)), Decision.number.ilike(pattern, escape="\\")
    )
    collect("decision", select(Decision.instance_id).where(Decision.id.in_(decisions)))
    collect("decision", select(DecisionUse.instance_id).where(DecisionUse.decision_id.in_(decisions)).distinct())
    if not matched:
        return Results(query, (), False)
    rows = session.execute(
        select(Matter, DefinitionVersion.key, DefinitionVersion.name, OrgUnit.code, OrgUnit.name)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .join(OrgUnit, OrgUnit.id == Matter.village_id)
        .where(Matter.id.in_(sorted(matched)), in_scope)
        .order_by(Matter.started_at.desc(), Matter.id.desc())
    ).all()
    hits: list[Hit] = []
    truncated = False
    for instance, key, flow_name, village, village_name in rows:
        if not policy.may(session, username, "matter.read", instance):
            continue
        if len(hits) == MAX_HITS:
            truncated = True
            break
        hits.append(
            Hit(
                instance.id,
                instance.title,
                key,
                flow_name,
                village,
                village_name,
                instance.status,
                instance.started_by,
                instance.started_at,
                tuple(r for r in ("title", "receipt", "person", "decision") if r in matched[instance.id]),
            )
        )
    return Results(query, tuple(hits), truncated)
