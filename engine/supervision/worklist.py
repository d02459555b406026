"""The supervisors' worklist (待办): the warnings and complaints a supervising user must handle now,
and the others in their scope, most severe first, then newest.

A user of the ``supervising`` role set (村监会 ``supervisory_member``, 镇纪委 ``town_discipline``,
县纪委 ``county_discipline``) *must handle now* a violation waiting at their level
(:func:`violations.handles_now`) and a complaint whose open step they hold; *others* are the open
violations they may still act on (a level below theirs) and the running complaints they read. An
auditor reads every one within reach and acts on none (their ``now`` list stays empty).

A complaint has no colour of its own: an open step past its due time reads red, else yellow.

Filters (:class:`Filters`): village code, flow (item key), kind (violation code, or ``complaint``),
colour, state, period (``2026-11``, ``2026Q4`` or ``2026``, China time) and the page. Read only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST
from engine.clock import as_utc
from engine.errors import PermissionDenied
from engine.inputs import InputInvalid
from engine.org.service import get_user
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import DefinitionVersion, Matter, OpenTask, OrgUnit
from engine.policy.rules import access_rules
from engine.supervision import violations as v
from engine.supervision.models import Severity, Violation
from engine.supervision.reach import supervises_at
from engine.texts import text

COLOURS = tuple(Severity)
COLOUR_RANK = {colour: rank for rank, colour in enumerate(COLOURS)}
STATES = (v.OPEN, v.ACKNOWLEDGED, v.ESCALATED, v.RECTIFIED, v.CLOSED)
COMPLAINT = "complaint"
PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})|Q(?P<quarter>[1-4]))?")


@dataclass(frozen=True)
class Filters:
    village: str | None = None
    flow: str | None = None
    kind: str | None = None
    colour: str | None = None
    state: str | None = None
    period: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def as_dict(self) -> dict[str, Any]:
        return {
            "village": self.village,
            "flow": self.flow,
            "kind": self.kind,
            "colour": self.colour,
            "state": self.state,
            "period": self.period,
            "page": self.page,
            "per_page": self.per_page,
        }


@dataclass(frozen=True)
class WorkItem:
    """One warning (``kind`` ``violation``, ``id`` its id) or complaint (``complaint``, ``id`` its matter)."""

    kind: str
    id: int
    code: str
    title: str
    message: str
    colour: str
    state: str
    level: str | None
    village: str
    village_name: str
    instance_id: int | None
    matter_title: str | None
    flow: str | None
    step: str | None
    raised_at: datetime
    deadline: datetime | None
    owner_role: str | None
    owner_user: str | None
    task_id: str | None
    handles_now: bool
    may_act: bool

    def as_dict(self) -> dict[str, Any]:
        from engine.clock import format_time

        result = {name: getattr(self, name) for name in self.__dataclass_fields__}
        result["raised_at"] = format_time(self.raised_at)
        result["deadline"] = format_time(self.deadline)
        return result


@dataclass(frozen=True)
class Page:
    items: tuple[WorkItem, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": [item.as_dict() for item in self.items],
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


@dataclass(frozen=True)
class Worklist:
    username: str
    may_act: bool  # holds a supervising role (an auditor only reads)
    now: Page  # must handle now
    others: Page  # the rest in scope
    filters: Filters
    villages: tuple[tuple[str, str], ...] = field(default=())  # (code, name) in scope, for the filter

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "may_act": self.may_act,
            "now": self.now.as_dict(),
            "others": self.others.as_dict(),
            "filters": self.filters.as_dict(),
            "villages": [{"code": c, "name": n} for c, n in self.villages],
        }


# --- filters ----------------------------------------------------------------------------------------


def _bad(name: str, value: Any) -> InputInvalid:
    shown = str(value)[:40]
    return InputInvalid(code="worklist.filter", params={"field": name, "value": shown}, field=name)


def _int(name: str, value: Any, default: int, most: int) -> int:
    if value in (None, ""):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isdigit() and len(value) <= 6:
        number = int(value)
    else:
        raise _bad(name, value)
    if not 1 <= number <= most:
        raise _bad(name, value)
    return number


def parse_filters(raw: dict[str, Any]) -> Filters:
    """Filters from untrusted input (query string, CLI options); a bad one is refused naming it."""

    def text(name: str) -> str | None:
        value = raw.get(name)
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _CODE.fullmatch(value):
            raise _bad(name, value)
        return value

    colour, state, period = text("colour"), text("state"), text("period")
    if colour is not None and colour not in COLOURS:
        raise _bad("colour", colour)
    if state is not None and state not in STATES:
        raise _bad("state", state)
    if period is not None and period_range(period) is None:
        raise _bad("period", period)
    return Filters(
        village=text("village"),
        flow=text("flow"),
        kind=text("kind"),
        colour=colour,
        state=state,
        period=period,
        page=_int("page", raw.get("page"), 1, MAX_PAGE),
        per_page=_int("per_page", raw.get("per_page"), PER_PAGE, MAX_PER_PAGE),
    )


def period_range(text: str) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC of a month (2026-11), quarter (2026Q4) or year (2026), China time."""
    match = _PERIOD.fullmatch(text or "")
    if match is None:
        return None
    year = int(match["year"])
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            return None
        first, last = month, month
    elif match["quarter"]:
        quarter = int(match["quarter"])
        first, last = 3 * quarter - 2, 3 * quarter
    else:
        first, last = 1, 12
    if not 2000 <= year <= 2200:
        return None
    start = datetime(year, first, 1, tzinfo=CST)
    end = datetime(year + (last == 12), last % 12 + 1, 1, tzinfo=CST)
    return as_utc(start), as_utc(end)


# --- scope ------------------------------------------------------------------------------------------


def _villages_below(session: Session, unit_ids: set[int]) -> set[int]:
    rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.level)).all()
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    level = {row.id: row.level for row in rows}
    found: set[int] = set()
    pending = list(unit_ids)
    while pending:
        unit = pending.pop()
        if level.get(unit) == Level.VILLAGE:
            found.add(unit)
        pending.extend(child.id for child in children.get(unit, []))
    return found


def scope_villages(session: Session, username: str) -> tuple[set[int], bool]:
    """Villages within reach of the user's supervising or auditing roles, and whether they supervise."""
    user = get_user(session, username)
    supervising = access_rules().roles("supervising")
    readers = supervising | access_rules().roles("read_only")
    held = [a for a in user.roles if a.role in readers]
    if not held:
        raise PermissionDenied(
            text("supervision.refusals.worklist_denied", user=username),
            code="policy.denied",
            params={"user": username, "action": "violation.read"},
        )
    return _villages_below(session, {a.org_unit_id for a in held}), any(a.role in supervising for a in held)


# --- the worklist -----------------------------------------------------------------------------------


def worklist(session: Session, username: str, filters: Filters | None = None, now: datetime | None = None) -> Worklist:
    """The user's worklist under ``filters``: both lists sorted and paged."""
    filters = filters or Filters()
    now = now or clock.now()
    villages, supervises = scope_villages(session, username)
    units = {row.id: row for row in session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name))}
    options = tuple(sorted((units[i].code, units[i].name) for i in villages if i in units))
    if filters.village is not None:
        chosen = {i for i in villages if units[i].code == filters.village}
        if not chosen and filters.village not in {row.code for row in units.values()}:
            raise _bad("village", filters.village)
        villages = chosen
    user = get_user(session, username)
    mine: list[WorkItem] = []
    others: list[WorkItem] = []
    if villages and filters.kind != COMPLAINT:
        for item in _violations(session, username, user, villages, filters, units):
            (mine if item.handles_now else others).append(item)
    if villages and (filters.kind in (None, COMPLAINT)) and filters.flow in (None, COMPLAINT):
        for item in _complaints(session, username, villages, filters, units, now):
            (mine if item.handles_now else others).append(item)

    # The second list: every other warning and report in the reader's villages, those a higher level
    # handles too (a village committee follows the red warning the town handles in its village); each
    # item says whether the reader may act on it.

    def page(items: list[WorkItem]) -> Page:
        items.sort(key=lambda i: (COLOUR_RANK.get(i.colour, 9), -as_utc(i.raised_at).timestamp(), -i.id))
        start = (filters.page - 1) * filters.per_page
        return Page(tuple(items[start : start + filters.per_page]), len(items), filters.page, filters.per_page)

    return Worklist(username, supervises, page(mine), page(others), filters, options)


def count_now(session: Session, username: str) -> int:
    """How many items the user must handle now (the menu's badge); 0 for anyone outside supervision."""
    try:
        return worklist(session, username, Filters(per_page=1)).now.total
    except PermissionDenied:
        return 0


def _violations(session, username, user, villages, filters, units) -> list[WorkItem]:
    query = (
        select(Violation, DefinitionVersion.key, Matter.title)
        .outerjoin(Matter, Matter.id == Violation.instance_id)
        .outerjoin(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(Violation.village_id.in_(sorted(villages)))
    )
    if filters.state is not None:
        query = query.where(Violation.status == filters.state)
    else:
        query = query.where(Violation.status != v.CLOSED)
    if filters.colour is not None:
        query = query.where(Violation.severity == filters.colour)
    if filters.kind is not None:
        query = query.where(Violation.code == filters.kind)
    if filters.flow is not None:
        query = query.where(DefinitionVersion.key == filters.flow)
    if filters.period is not None:
        start, end = period_range(filters.period)
        query = query.where(Violation.detected_at >= start, Violation.detected_at < end)
    items: list[WorkItem] = []
    books: dict[int, Any] = {}
    # Who handles a warning depends only on its village and level: asked once per pair, not per warning.
    answers: dict[tuple[int, str], tuple[bool, bool]] = {}
    for violation, key, matter_title in session.execute(query):
        book = books.get(violation.village_id)
        if book is None:
            book = books[violation.village_id] = v.book_for_village(session, violation.village_id)
        closed = violation.status == v.CLOSED
        pair = (violation.village_id, violation.level)
        if pair not in answers:
            answers[pair] = (
                v.handles_now(session, book, user, violation),
                supervises_at(session, book, user, violation),
            )
        now_, acts = (False, False) if closed else answers[pair]
        unit = units[violation.village_id]
        items.append(
            WorkItem(
                kind="violation",
                id=violation.id,
                code=violation.code,
                title=violation.title,
                message=violation.message,
                colour=violation.severity,
                state=violation.status,
                level=violation.level,
                village=unit.code,
                village_name=unit.name,
                instance_id=violation.instance_id,
                matter_title=matter_title,
                flow=key,
                step=violation.step_id,
                raised_at=violation.detected_at,
                deadline=violation.rectify_by,
                owner_role=violation.owner_role,
                owner_user=violation.owner_user,
                task_id=None,
                handles_now=now_,
                may_act=acts,
            )
        )
    return items


def _complaints(session, username, villages, filters, units, now) -> list[WorkItem]:
    if filters.colour == Severity.BLUE or filters.state not in (None, v.OPEN):
        return []
    query = (
        select(Matter)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(
            DefinitionVersion.key == COMPLAINT,
            Matter.status == MatterStatus.RUNNING,
            Matter.village_id.in_(sorted(villages)),
        )
    )
    if filters.period is not None:
        start, end = period_range(filters.period)
        query = query.where(Matter.started_at >= start, Matter.started_at < end)
    instances = list(session.scalars(query))
    if not instances:
        return []
    tasks: dict[int, list[OpenTask]] = {}
    for row in session.scalars(
        select(OpenTask).where(OpenTask.instance_id.in_([i.id for i in instances])).order_by(OpenTask.opened_at)
    ):
        tasks.setdefault(row.instance_id, []).append(row)
    items: list[WorkItem] = []
    for instance in instances:
        if not policy.may(session, username, "matter.read", instance):
            continue
        open_rows = tasks.get(instance.id, [])
        held = next((t for t in open_rows if policy.may(session, username, "task.act", t)), None)
        shown = held or (open_rows[0] if open_rows else None)
        late = any(t.due_at is not None and as_utc(t.due_at) < as_utc(now) for t in open_rows)
        colour = Severity.RED if late else Severity.YELLOW
        if filters.colour is not None and colour != filters.colour:
            continue
        unit = units[instance.village_id]
        items.append(
            WorkItem(
                kind=COMPLAINT,
                id=instance.id,
                code=COMPLAINT,
                title=instance.title or COMPLAINT,
                message=shown.step_name if shown is not None else "",
                colour=colour,
                state=v.OPEN,
                level=None,
                village=unit.code,
                village_name=unit.name,
                instance_id=instance.id,
                matter_title=instance.title,
                flow=COMPLAINT,
                step=shown.step_id if shown is not None else None,
                raised_at=instance.started_at,
                deadline=shown.due_at if shown is not None else None,
                owner_role=shown.role if shown is not None else None,
                owner_user=shown.assignee if shown is not None else None,
                task_id=held.id if held is not None else None,
                handles_now=held is not None,
                may_act=held is not None,
            )
        )
    return items


# --- one violation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    at: datetime
    actor: str | None
    actor_name: str | None
    note: str | None
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        from engine.clock import format_time

        return {
            "seq": self.seq,
            "kind": self.kind,
            "at": format_time(self.at),
            "actor": self.actor,
            "actor_name": self.actor_name,
            "note": self.note,
            "data": self.data,
        }


@dataclass(frozen=True)
class ViolationView:
    """A violation's facts, its whole history and what the reader may do to it now."""

    id: int
    code: str
    title: str
    message: str
    colour: str
    colour_name: str
    points: int
    state: str
    outcome: str | None
    level: str
    supervisor: str
    legal_basis: str | None
    rule_version: str
    village: str
    village_name: str
    instance_id: int | None
    matter_title: str | None
    flow: str | None
    step: str | None
    step_name: str | None
    amount_fen: int | None
    owner_role: str | None
    owner_user: str | None
    owner_name: str | None
    deadline: datetime | None
    raised_at: datetime
    closed_at: datetime | None
    rectification_instance_id: int | None
    evidence: tuple[Any, ...]
    history: tuple[Event, ...]
    actions: tuple[str, ...]
    owner_roles: tuple[tuple[str, str], ...]  # (code, Chinese name) of the village roles, for assigning

    def as_dict(self) -> dict[str, Any]:
        from engine.clock import format_time

        result = {name: getattr(self, name) for name in self.__dataclass_fields__}
        result["deadline"] = format_time(self.deadline)
        result["raised_at"] = format_time(self.raised_at)
        result["closed_at"] = format_time(self.closed_at)
        result["evidence"] = list(self.evidence)
        result["history"] = [e.as_dict() for e in self.history]
        result["actions"] = list(self.actions)
        result["owner_roles"] = [{"role": r, "name": n} for r, n in self.owner_roles]
        return result


def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    from engine.persistence.models import User

    if not usernames:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(sorted(usernames))))
    return {row.username: row.display_name for row in rows}


def _amount(session: Session, instance_id: int | None) -> int | None:
    """The matter's amount in fen, from its start data or the latest form that gives one."""
    if instance_id is None:
        return None
    import json

    from engine.persistence.models import HistoryEvent

    found = None
    for raw in session.scalars(
        select(HistoryEvent.data).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq).limit(200)
    ):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for part in (data.get("data"), data.get("form")):
            if isinstance(part, dict):
                value = part.get("amount_fen")
                if isinstance(value, int) and not isinstance(value, bool):
                    found = value
    return found


def view(session: Session, username: str, violation_id: int) -> ViolationView:
    """One violation as ``username`` may see it (NotFound when they may not)."""
    import json

    from engine.errors import NotFound
    from engine.org.roles import ROLES
    from engine.supervision import handling
    from engine.supervision.models import ViolationEvent

    violation = session.get(Violation, violation_id) if isinstance(violation_id, int) else None
    if violation is None:
        raise NotFound(code="violation.not_found", params={"violation": violation_id})
    policy.require(session, username, "violation.read", violation)
    book = v.book_for_village(session, violation.village_id)
    village = session.get(OrgUnit, violation.village_id)
    instance = session.get(Matter, violation.instance_id) if violation.instance_id else None
    key = step_name = None
    if instance is not None:
        key = session.scalar(
            select(DefinitionVersion.key).where(DefinitionVersion.id == instance.definition_version_id)
        )
        if violation.step_id:
            step_name = _step_name(session, instance, violation.step_id)
    events = list(
        session.scalars(
            select(ViolationEvent).where(ViolationEvent.violation_id == violation.id).order_by(ViolationEvent.seq)
        )
    )
    names = _names(session, {e.actor for e in events if e.actor} | {violation.owner_user or ""} - {""})
    history = []
    for event in events:
        data = json.loads(event.data)
        history.append(
            Event(event.seq, event.kind, event.at, event.actor, names.get(event.actor or ""), data.get("note"), data)
        )
    return ViolationView(
        id=violation.id,
        code=violation.code,
        title=violation.title,
        message=violation.message,
        colour=violation.severity,
        colour_name=book.rules["severities"].get(violation.severity, violation.severity),
        points=violation.points,
        state=violation.status,
        outcome=violation.outcome,
        level=violation.level,
        supervisor=book.level_title(violation.level),
        legal_basis=violation.legal_basis,
        rule_version=violation.rule_version,
        village=village.code,
        village_name=village.name,
        instance_id=violation.instance_id,
        matter_title=instance.title if instance is not None else None,
        flow=key,
        step=violation.step_id,
        step_name=step_name,
        amount_fen=_amount(session, violation.instance_id),
        owner_role=violation.owner_role,
        owner_user=violation.owner_user,
        owner_name=names.get(violation.owner_user or ""),
        deadline=violation.rectify_by,
        raised_at=violation.detected_at,
        closed_at=violation.closed_at,
        rectification_instance_id=violation.rectification_instance_id,
        evidence=tuple(violation.evidence or ()),
        history=tuple(history),
        actions=handling.may_do(session, username, violation),
        owner_roles=tuple((r.code, r.name_zh) for r in ROLES.values() if r.level == Level.VILLAGE),
    )


def _step_name(session: Session, instance: Matter, step_id: str) -> str | None:
    """The step's name in the matter's flow version."""
    from engine.runtime.loaded import loaded

    try:
        step = loaded(instance.definition).steps.get(step_id)
    except Exception:  # a name is a nicety; the step id is shown anyway
        return None
    return step.name if step is not None else None


__all__ = ["Filters", "Page", "WorkItem", "Worklist", "ViolationView", "parse_filters", "worklist", "view"]
