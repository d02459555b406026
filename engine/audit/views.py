"""What the auditors' pages show: the units and flows to choose from, matter lists, replays,
heatmaps, conformance checks, chain checks and anchors, as typed results.

Who may see what is the auditors' side of the access policy (:mod:`engine.policy.audit`): a matter
or unit outside the user's scope does not exist for them (``NotFound``), so an id reveals nothing.
The pages word and draw these results (``web/auditor``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import anchor, replay
from engine.audit.conformance import Findings
from engine.audit.histories import Scope, check_histories, instances_query
from engine.audit.models import HistoryAnchor
from engine.audit.reference_model import model_for
from engine.diagram import Diagram, DiagramUnavailable, diagram_of
from engine.errors import NotFound
from engine.history.events import EventKind
from engine.persistence.models import DefinitionVersion, Matter, OrgUnit, User
from engine.policy import audit as policy
from engine.policy.audit import AuditScope, require_unit
from engine.runtime.consistency import verify_record as verify
from engine.supervision.models import Severity, Violation
from engine.texts import text
from engine.workspace import matter_detail

COLOURS = tuple(Severity)
CLOSING = (EventKind.INSTANCE_ENDED, EventKind.INSTANCE_CANCELLED)
RESETS = (EventKind.TASK_RETURNED, EventKind.TASK_WITHDRAWN)
DONE = (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)


# --- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitOption:
    """A unit to choose, ``depth`` levels below the widest unit of the scope."""

    code: str
    name: str
    level: str
    depth: int


@dataclass(frozen=True, slots=True)
class FlowOption:
    """A deployed flow (power-list item) with the name of its newest version."""

    key: str
    name: str


def unit_options(session: Session, scope: AuditScope) -> list[UnitOption]:
    """Every unit in scope for a select, each followed by the units below it."""
    rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.level))
    children: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda r: r.code):
        children.setdefault(row.parent_id, []).append(row)
    by_id = {row.id: row for rows_ in children.values() for row in rows_}
    options: list[UnitOption] = []

    def walk(row: Any, depth: int) -> None:
        options.append(UnitOption(row.code, row.name, row.level, depth))
        for child in children.get(row.id, []):
            walk(child, depth + 1)

    for unit_id, *_rest in scope.units:
        walk(by_id[unit_id], 0)
    return options


def require_matter(session: Session, scope: AuditScope, instance_id: int) -> Matter:
    row = session.get(Matter, instance_id)
    policy.require(scope, "audit.matter", row, id=instance_id)
    return row


def flow_options(session: Session) -> list[FlowOption]:
    """Deployed flows (power-list items), each with the name of its newest version."""
    latest: dict[str, str] = {}
    for row in session.execute(
        select(DefinitionVersion.key, DefinitionVersion.name).order_by(DefinitionVersion.version)
    ):
        latest[row.key] = row.name
    return [FlowOption(key, name) for key, name in sorted(latest.items(), key=lambda kv: kv[1])]


def require_flow(session: Session, key: str) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version.desc())
    )
    if row is None:
        raise NotFound(text("audit.refusals.flow_not_found"), params={"key": key})
    return row


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())


# --- matter lists ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatterRow:
    """A matter of the list: ``violations`` found on it, ``colour`` the severity of the worst."""

    id: int
    title: str
    key: str
    item: str
    version: int
    village: str
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    violations: int
    colour: str | None


@dataclass(frozen=True, slots=True)
class MatterList:
    """One page of the matters of ``unit``: page ``page`` of ``pages``, ``total`` in all."""

    unit: str
    total: int
    page: int
    pages: int
    matters: list[MatterRow]


def violations_recorded(session: Session, scope: AuditScope) -> bool:
    """Whether any violation was ever recorded in the scope's villages (the colour filter needs them)."""
    violation = Violation
    if not scope.village_ids:
        return False
    found = session.scalar(
        select(violation.id).where(violation.village_id.in_(scope.village_ids), violation.instance_id.is_not(None))
    )
    return found is not None


def list_matters(
    session: Session,
    scope: AuditScope,
    unit: str | None = None,
    key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
    colour: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> MatterList:
    """Matters in ``unit`` (default: the whole scope), newest first, one page of them.

    ``colour`` keeps matters with a violation of that severity, or ``none`` those without any.
    """
    unit_row = require_unit(session, scope, unit)
    query = instances_query(
        session, Scope(key=key or None, unit=unit_row.code, since=since, until=until, status=status)
    )
    violation = Violation
    if colour:
        flagged = select(violation.instance_id).where(violation.instance_id.is_not(None))
        if colour == "none":
            query = query.where(Matter.id.not_in(flagged))
        else:
            query = query.where(Matter.id.in_(flagged.where(violation.severity == colour)))
    total = session.scalar(query.with_only_columns(func.count(Matter.id)).order_by(None)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    rows = list(
        session.scalars(
            query.order_by(Matter.started_at.desc(), Matter.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    counts = _violation_counts(session, [r.id for r in rows])
    people = display_names(session, {r.started_by for r in rows})
    items = []
    for row in rows:
        found = counts.get(row.id, {})
        items.append(
            MatterRow(
                id=row.id,
                title=row.title,
                key=row.definition.key,
                item=row.definition.name,
                version=row.definition.version,
                village=row.village.name,
                status=row.status,
                started_by=people.get(row.started_by, row.started_by),
                started_at=row.started_at,
                ended_at=row.ended_at,
                violations=sum(found.values()),
                colour=next((c for c in COLOURS if found.get(c)), None),
            )
        )
    return MatterList(unit_row.code, total, page, pages, items)


def _violation_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    violation = Violation
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(violation.instance_id, violation.severity, func.count())
        .where(violation.instance_id.in_(ids))
        .group_by(violation.instance_id, violation.severity)
    )
    for instance_id, severity, count in rows:
        counts.setdefault(instance_id, {})[severity] = count
    return counts


# --- one matter, position by position ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayPosition:
    """One recorded event of the matter: its place ``index`` in the replay and its ``seq`` in the record."""

    index: int
    seq: int
    kind: str
    step_name: str | None
    at: str
    actor_name: str | None


@dataclass(frozen=True, slots=True)
class ReplayView:
    """The matter (its workspace page) replayed up to position ``pos`` of ``last``: the event there,
    the steps done so far (``completions``, each with ``by_name``, ``withdrawn``, ``late_seconds``),
    the steps open then, the conformance findings (each with the ``position`` of its event) and the
    state of each diagram element (``done``, ``current``, ``overdue``, ``skipped``) on ``diagram``."""

    matter: matter_detail.MatterView
    as_of: datetime | None
    pos: int
    last: int
    positions: list[ReplayPosition]
    event: dict[str, Any] | None
    completions: list[dict[str, Any]]
    open: list[dict[str, Any]]
    deviations: list[dict[str, Any]]
    diagram: Diagram | None
    states: dict[str, str]


def replay_view(
    session: Session, scope: AuditScope, instance_id: int, pos: int | None = None, as_of: datetime | None = None
) -> ReplayView:
    """The matter's history up to ``as_of`` at position ``pos`` (default: the last): the event there,
    the steps done so far and how long each took, the steps open at that moment, and the diagram."""
    row = require_matter(session, scope, instance_id)
    record = replay.replay(session, instance_id, as_of)
    page = matter_detail.matter(session, scope.username, instance_id)
    timeline = {entry.seq: entry for entry in page.timeline}
    names = {e.actor: e.actor_name for e in page.timeline if e.actor}
    names.update(display_names(session, {c["by"] for c in record["completions"]} - set(names)))
    positions = record["positions"]
    last = len(positions) - 1
    pos = last if pos is None else min(max(pos, 0), last)
    withdrawn_at = _withdrawals(positions, record["completions"])
    shown = [
        ReplayPosition(
            index=index,
            seq=p["seq"],
            kind=p["kind"],
            step_name=timeline[p["seq"]].step_name if p["seq"] in timeline else p["step_name"],
            at=p["at"],
            actor_name=names.get(p["actor"] or "", p["actor"]),
        )
        for index, p in enumerate(positions)
    ]
    diagram = _diagram(row)
    event, completions, open_steps = None, [], []
    if pos >= 0:
        here = positions[pos]
        entry = timeline.get(here["seq"])
        event = {**(asdict(entry) if entry else {}), "at": here["at"], "seq": here["seq"]}
        completions = [
            {
                **c,
                "by_name": names.get(c["by"], c["by"]),
                "withdrawn": withdrawn_at.get(i, pos + 1) <= pos,
                "late_seconds": _seconds_between(c["due_at"], c["at"]) if c["overdue"] else None,
            }
            for i, c in enumerate(record["completions"])
            if c["position"] <= pos
        ]
        open_steps = record["open"] if pos == last else here["open"]
    states = {}
    if diagram is not None:
        states = replay_states(diagram, positions[: pos + 1], open_steps if pos >= 0 else None, final=0 <= pos == last)
    return ReplayView(
        matter=page,
        as_of=as_of,
        pos=pos,
        last=last,
        positions=shown,
        event=event,
        completions=completions,
        open=open_steps,
        deviations=_deviations_with_positions(record, names),
        diagram=diagram,
        states=states,
    )


def _diagram(row: Matter) -> Diagram | None:
    try:
        return diagram_of(row.definition.bpmn_xml)
    except DiagramUnavailable:
        return None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (_parse(end) - _parse(start)).total_seconds()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _withdrawals(positions: list[dict[str, Any]], completions: list[dict[str, Any]]) -> dict[int, int]:
    """Completion index -> the position at which it was withdrawn (撤回)."""
    found: dict[int, int] = {}
    for index, position in enumerate(positions):
        if position["kind"] != EventKind.TASK_WITHDRAWN:
            continue
        earlier = [
            i
            for i, c in enumerate(completions)
            if c["step"] == position["step"] and c["position"] < index and i not in found
        ]
        if earlier:
            found[earlier[-1]] = index
    return found


def _deviations_with_positions(record: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The matter's conformance findings, each with the replay position of the event it names."""
    active = [c for c in record["completions"] if not c["withdrawn"]]
    result = []
    for deviation in record["deviations"]:
        index = deviation["event"] - 1
        position = active[index]["position"] if 0 <= index < len(active) else None
        result.append(
            {
                **deviation,
                "position": position,
                "resource_name": names.get(deviation["resource"] or "", deviation["resource"]),
            }
        )
    return result


def replay_states(
    drawing: Diagram, positions: list[dict[str, Any]], open_steps: list[dict[str, Any]] | None, final: bool
) -> dict[str, str]:
    """The state of each element of the diagram after ``positions``: done, current and overdue steps,
    flows taken, and (``final`` for a closed matter) the steps skipped."""
    states: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    previous: str | None = None
    starts = [s.element_id for s in drawing.shapes if s.kind == "startEvent"]
    for position in positions:
        kind, step, data = position["kind"], position["step"], position["data"]
        if kind == EventKind.INSTANCE_STARTED:
            for start in starts:
                states[start] = "done"
                taken.update((start, target) for target in data.get("opened", []))
            previous = starts[0] if len(starts) == 1 else None
        elif kind in DONE and step:
            states[step] = "done"
            if previous:
                taken.add((previous, step))
            taken.update((step, target) for target in data.get("opened", []))
            previous = step
        elif kind == EventKind.GATEWAY_TAKEN and step:
            states[step] = "done"
            if previous:
                taken.add((previous, step))
            taken.update((step, target) for target in data.get("to", []))
            previous = step
        elif kind == EventKind.TASK_WITHDRAWN and step:
            states.pop(step, None)
        elif kind == EventKind.INSTANCE_ENDED and data.get("end"):
            states[data["end"]] = "done"
            if previous:
                taken.add((previous, data["end"]))
        if kind in RESETS:
            previous = None
    for item in open_steps or []:
        states[item["step"]] = "overdue" if item["overdue"] else "current"
    for source, target in taken:
        if source in states and target in states:
            for flow_id in drawing.flows_between(source, target):
                states[flow_id] = "done"
    if final and positions and positions[-1]["kind"] in CLOSING:
        for shape in drawing.shapes:
            if shape.kind not in ("participant", "lane", "group", "textAnnotation"):
                states.setdefault(shape.element_id, "skipped")
    return states


# --- heatmaps ----------------------------------------------------------------------------------

METRICS = ("overdue", "skip", "rework", "median")


@dataclass(frozen=True, slots=True)
class HeatmapView:
    """The heatmap of flow ``flow`` (``name``) over the matters of ``unit``: per step the figures of
    :func:`engine.audit.replay.heatmap_of`, its ``limit_seconds``, ``skip_rate``, ``rework_rate`` and
    its ``level`` on a scale of 0–4 by ``metric`` (None: no data); the flow's ``diagram``."""

    flow: str
    name: str
    unit: str
    metric: str
    cases: int
    events: int
    deviating_cases: int
    steps: list[dict[str, Any]]
    diagram: Diagram | None


def heatmap_view(
    session: Session,
    scope: AuditScope,
    key: str,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    metric: str = "overdue",
) -> HeatmapView:
    """Per step of the flow over the matters in scope: how often overdue, skipped, reworked, and the
    median time taken; each step placed on a scale of 0–4 by ``metric``."""
    latest = require_flow(session, key)
    unit_row = require_unit(session, scope, unit)
    heat = replay.heatmap(session, key, unit_row.code, since, until)
    model = model_for(latest)
    limits = {
        step: seconds or days * 86400.0
        for step, seconds, days in zip(model.steps, model.limit_seconds, model.working_days, strict=True)
    }
    longest = max((s["median_seconds"] or 0.0 for s in heat["steps"]), default=0.0)
    for step in heat["steps"]:
        step["limit_seconds"] = limits.get(step["step"]) or None
        step["skip_rate"] = round(step["skip"] / heat["cases"], 4) if heat["cases"] else 0.0
        step["rework_rate"] = round(step["reworked"] / step["count"], 4) if step["count"] else 0.0
        step["level"] = _level(step, metric, longest)
    try:
        diagram = diagram_of(latest.bpmn_xml)
    except DiagramUnavailable:
        diagram = None
    return HeatmapView(
        flow=heat["flow"],
        name=latest.name,
        unit=unit_row.code,
        metric=metric,
        cases=heat["cases"],
        events=heat["events"],
        deviating_cases=heat["deviating_cases"],
        steps=heat["steps"],
        diagram=diagram,
    )


def _level(step: dict[str, Any], metric: str, longest: float) -> int | None:
    if metric == "skip":
        ratio = step["skip_rate"]
        return None if not step["count"] and not step["skip"] else _scale(ratio)
    if not step["count"]:
        return None
    if metric == "overdue":
        return _scale(step["overdue_rate"])
    if metric == "rework":
        return _scale(step["rework_rate"])
    median = step["median_seconds"] or 0.0
    reference = step["limit_seconds"] or longest
    return _scale(median / reference if reference else 0.0)


def _scale(ratio: float) -> int:
    return 0 if ratio <= 0 else min(4, math.ceil(ratio * 4))


# --- conformance -------------------------------------------------------------------------------


def check_scope(
    session: Session,
    scope: AuditScope,
    key: str,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
) -> Findings:
    require_flow(session, key)
    unit_row = require_unit(session, scope, unit)
    return check_histories(session, Scope(key=key, unit=unit_row.code, since=since, until=until, status=status))


# --- trust: chains and anchors -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BadEvent:
    """The first event whose hash does not match: ``problem`` is its code, ``reason`` says why."""

    instance: int
    seq: int | None
    row: int | None
    problem: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Chains re-computed: of ``instances`` matters with ``events`` events, ``bad`` the first bad one;
    for a unit, its ``unit`` code and ``unit_name``; for one matter, its id ``matter``."""

    instances: int
    events: int
    bad: BadEvent | None
    unit: str | None = None
    unit_name: str | None = None
    matter: int | None = None


def verify_matter(session: Session, scope: AuditScope, instance_id: int) -> ChainCheck:
    require_matter(session, scope, instance_id)
    report = verify(session, instance_id)
    return ChainCheck(report.instances, report.events, _bad(report), matter=instance_id)


def verify_unit(session: Session, scope: AuditScope, unit: str | None = None) -> ChainCheck:
    """Re-compute the chain of every matter in ``unit``; stop at the first bad event."""
    unit_row = require_unit(session, scope, unit)
    ids = list(
        session.scalars(
            instances_query(session, Scope(unit=unit_row.code))
            .with_only_columns(Matter.id)
            .order_by(Matter.id)
        )
    )
    instances = events = 0
    bad = None
    for instance_id in ids:
        report = verify(session, instance_id)
        instances += report.instances
        events += report.events
        bad = _bad(report)
        if bad is not None:
            break
    return ChainCheck(instances, events, bad, unit=unit_row.code, unit_name=unit_row.name)


def _bad(report: Any) -> BadEvent | None:
    bad = report.bad
    if bad is None:
        return None
    return BadEvent(bad.instance_id, bad.seq, bad.event_id, bad.code, str(bad))


@dataclass(frozen=True, slots=True)
class AnchorRow:
    """An anchor of a day or (``hourly``) an hour: its digest and what it covered."""

    day: Any
    label: str
    hourly: bool
    digest: str
    instances: int
    events: int
    violations: int | None
    changed: int | None
    created_at: datetime


def anchors(session: Session, limit: int = 30, daily: bool = False) -> list[AnchorRow]:
    """The newest anchors, newest first; ``daily``: the days' anchors only, not the hours'."""
    query = select(HistoryAnchor).order_by(HistoryAnchor.id.desc()).limit(limit)
    if daily:
        query = query.where(func.length(HistoryAnchor.label) == DAY_LABEL_CHARS)
    return [_anchor_row(r) for r in session.scalars(query)]


DAY_LABEL_CHARS = len("2026-12-06")


def _anchor_row(r: HistoryAnchor) -> AnchorRow:
    return AnchorRow(
        day=r.day,
        label=r.label,
        hourly=r.label != r.day.isoformat(),
        digest=r.digest,
        instances=r.instance_count,
        events=r.event_count,
        violations=r.violation_count if r.version >= 2 else None,
        changed=r.changed_count,
        created_at=r.created_at,
    )


def anchor_by_label(session: Session, label: str) -> AnchorRow | None:
    """The anchor of a day (``2026-12-06``) or an hour (``2026-12-06T14``), if it was made."""
    if len(label) > DAY_LABEL_CHARS + 3:
        return None
    row = session.scalar(select(HistoryAnchor).where(HistoryAnchor.label == label))
    return _anchor_row(row) if row is not None else None


def today_anchor(session: Session) -> AnchorRow | None:
    """Today's daily anchor (not an hourly one)."""
    row = session.scalar(select(HistoryAnchor).where(HistoryAnchor.label == anchor.today().isoformat()))
    return _anchor_row(row) if row is not None else None


def make_today_anchor(session: Session, scope: AuditScope) -> str:
    """Today's anchor (made once a day); only county discipline and auditors make it."""
    policy.require(scope, "audit.anchor")
    return anchor.make_anchor(session).digest
def _anchor_problem(check: anchor.AnchorCheck) -> str:
    problem = check.problem or ""
    if check.day is None:
        return "unknown"
    if "damaged" in problem:
        return "damaged"
    if "anchor table was altered" in problem:
        return "table"
    if check.violation_id is not None:
        return "violation_deleted" if "was deleted (" in problem else "violation"
    if "was deleted (" in problem:
        return "deleted"
    if "was altered" in problem:
        return "altered"
    if "missing" in problem or "were deleted" in problem:
        return "missing"
    return "rewritten"


@dataclass(frozen=True, slots=True)
class AnchorVerdict:
    """An anchor checked for an auditor: the fields of :meth:`engine.audit.anchor.AnchorCheck.as_dict`,
    the ``problem_code`` of a mismatch, and whether the matter or violation it names is in scope
    (when not, ``instance``, ``violation`` and ``message`` are withheld)."""

    ok: bool
    digest: str
    day: str | None
    label: str | None
    instances: int
    events: int
    violations: int
    instance: int | None
    violation: int | None
    problem: str | None
    message: str | None
    problem_code: str | None
    instance_in_scope: bool


def check_anchor(session: Session, scope: AuditScope, digest: str) -> AnchorVerdict:
    """Whether the database still holds what the anchor with ``digest`` covered; a matter it names
    outside the user's scope is not named."""
    check = anchor.verify_anchor(session, digest)
    result = check.as_dict()
    result["problem_code"] = None if check.ok else _anchor_problem(check)
    result["instance_in_scope"] = True
    if check.instance_id is not None:
        if not policy.may(scope, "audit.matter", session.get(Matter, check.instance_id)):
            result.update(instance=None, instance_in_scope=False, message=None)
    if check.violation_id is not None:
        if not policy.may(scope, "audit.matter", session.get(Violation, check.violation_id)):
            result.update(violation=None, instance_in_scope=False, message=None)
    return AnchorVerdict(**result)
