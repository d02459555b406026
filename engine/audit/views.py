"""What the auditors' pages show, as plain dicts: their scope, matter lists, replays drawn on the
diagram, heatmaps, conformance results, exports, chain checks and anchors.

An auditor's scope is every village at or below the units where they hold an auditing role: a
village supervisory committee member (村务监督委员会成员) sees their village, the town discipline
commission its town's villages, the county discipline commission and the auditors the county.
A matter or unit outside the scope does not exist for them (``NotFound``), so an id reveals nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import anchor, replay
from engine.audit.conformance import KIND_NAMES_ZH, KINDS, Findings
from engine.audit.eventlog import EventLog
from engine.audit.export import ExportInfo, write_csv, write_findings_csv, write_xes, write_xlsx
from engine.audit.histories import Scope, check_histories, instances_query, village_ids
from engine.audit.models import HistoryAnchor
from engine.audit.reference_model import model_for
from engine.diagram import DiagramUnavailable, diagram_of, render_svg
from engine.errors import NotFound, PermissionDenied
from engine.history.events import EventKind
from engine.org.service import ancestors, get_user
from engine.persistence.enums import Level
from engine.persistence.models import DefinitionVersion, OrgUnit, ProcessInstance, User
from engine.runtime.consistency import verify_record as verify
from engine.supervision.models import Severity
from engine.workspace import labels, matter_detail

AUDIT_ROLES = ("supervisory_member", "town_discipline", "county_discipline", "auditor")
ANCHOR_ROLES = ("county_discipline", "auditor")
LEVEL_ORDER = {level: i for i, level in enumerate(Level)}
COLOURS = tuple(Severity)
SHOWN_CASES = 200
CLOSING = (EventKind.INSTANCE_ENDED, EventKind.INSTANCE_CANCELLED)
RESETS = (labels.TASK_RETURNED, labels.TASK_WITHDRAWN)
DONE = (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)


# --- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditScope:
    """The units where the user holds an auditing role (none below another), and their villages."""

    username: str
    units: tuple[tuple[int, str, str, str], ...]  # (id, code, name, level), widest first
    village_ids: frozenset[int]
    may_anchor: bool

    @property
    def default_unit(self) -> str:
        return self.units[0][1]

    @property
    def unit_ids(self) -> set[int]:
        return {unit[0] for unit in self.units}


def audit_scope(session: Session, username: str) -> AuditScope:
    user = get_user(session, username)
    held = [a for a in user.roles if a.role in AUDIT_ROLES]
    if not held:
        raise PermissionDenied(
            "只有村务监督委员会成员、纪委和审计人员可以查看审计页面",
            code="policy.denied",
            params={"user": username, "action": "audit.read"},
        )
    units = {a.org_unit_id: a.org_unit for a in held}
    tops = [u for u in units.values() if not any(p.id in units for p in ancestors(u)[1:])]
    tops.sort(key=lambda u: (LEVEL_ORDER.get(u.level, 9), u.code))
    villages: set[int] = set()
    for unit in tops:
        villages.update(village_ids(session, unit.code))
    return AuditScope(
        username,
        tuple((u.id, u.code, u.name, u.level) for u in tops),
        frozenset(villages),
        any(a.role in ANCHOR_ROLES for a in held),
    )


def unit_options(session: Session, scope: AuditScope) -> list[dict[str, Any]]:
    """Every unit in scope for a select, each followed by the units below it."""
    rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.level))
    children: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda r: r.code):
        children.setdefault(row.parent_id, []).append(row)
    by_id = {row.id: row for rows_ in children.values() for row in rows_}
    options: list[dict[str, Any]] = []

    def walk(row: Any, depth: int) -> None:
        options.append({"code": row.code, "name": row.name, "level": row.level, "depth": depth})
        for child in children.get(row.id, []):
            walk(child, depth + 1)

    for unit_id, *_rest in scope.units:
        walk(by_id[unit_id], 0)
    return options


def require_unit(session: Session, scope: AuditScope, code: str | None) -> OrgUnit:
    """The unit with ``code`` (default: the widest of the scope) when it is in scope."""
    code = code or scope.default_unit
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None or not any(a.id in scope.unit_ids for a in ancestors(unit)):
        raise NotFound("没有这个县、镇或村，或者它不在您的审计范围内")
    return unit


def require_matter(session: Session, scope: AuditScope, instance_id: int) -> ProcessInstance:
    row = session.get(ProcessInstance, instance_id)
    if row is None or row.village_id not in scope.village_ids:
        raise NotFound(f"没有编号为 {instance_id} 的事项，或者它不在您的审计范围内")
    return row


def flow_options(session: Session) -> list[dict[str, str]]:
    """Deployed flows (power-list items), each with the name of its newest version."""
    latest: dict[str, str] = {}
    for row in session.execute(
        select(DefinitionVersion.key, DefinitionVersion.name).order_by(DefinitionVersion.version)
    ):
        latest[row.key] = row.name
    return [{"key": key, "name": name} for key, name in sorted(latest.items(), key=lambda kv: kv[1])]


def require_flow(session: Session, key: str) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version.desc())
    )
    if row is None:
        raise NotFound("没有这个事项流程")
    return row


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())


# --- matter lists ------------------------------------------------------------------------------


def _violation_model() -> Any:
    try:
        from engine.supervision.models import Violation
    except ImportError:
        return None
    return Violation


def violations_recorded(session: Session, scope: AuditScope) -> bool:
    """Whether any violation was ever recorded in the scope's villages (the colour filter needs them)."""
    violation = _violation_model()
    if violation is None or not scope.village_ids:
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
) -> dict[str, Any]:
    """Matters in ``unit`` (default: the whole scope), newest first, one page of them.

    ``colour`` keeps matters with a violation of that severity, or ``none`` those without any.
    """
    unit_row = require_unit(session, scope, unit)
    query = instances_query(
        session, Scope(key=key or None, unit=unit_row.code, since=since, until=until, status=status)
    )
    violation = _violation_model()
    if colour and violation is not None:
        flagged = select(violation.instance_id).where(violation.instance_id.is_not(None))
        if colour == "none":
            query = query.where(ProcessInstance.id.not_in(flagged))
        else:
            query = query.where(ProcessInstance.id.in_(flagged.where(violation.severity == colour)))
    total = session.scalar(query.with_only_columns(func.count(ProcessInstance.id)).order_by(None)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    rows = list(
        session.scalars(
            query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    counts = _violation_counts(session, [r.id for r in rows])
    people = display_names(session, {r.started_by for r in rows})
    items = []
    for row in rows:
        found = counts.get(row.id, {})
        worst = next((c for c in COLOURS if found.get(c)), None)
        items.append(
            {
                "id": row.id,
                "title": row.title,
                "key": row.definition.key,
                "item": row.definition.name,
                "version": row.definition.version,
                "village": row.village.name,
                "status": row.status,
                "status_name": labels.STATUS_NAMES.get(row.status, row.status),
                "started_by": people.get(row.started_by, row.started_by),
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "violations": sum(found.values()),
                "colour": worst,
            }
        )
    return {"unit": unit_row.code, "total": total, "page": page, "pages": pages, "matters": items}


def _violation_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    violation = _violation_model()
    if violation is None or not ids:
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


def replay_view(
    session: Session, scope: AuditScope, instance_id: int, pos: int | None = None, as_of: datetime | None = None
) -> dict[str, Any]:
    """The matter's history up to ``as_of`` at position ``pos`` (default: the last): the event there,
    the steps done so far and how long each took, the steps open at that moment, and the diagram."""
    row = require_matter(session, scope, instance_id)
    record = replay.replay(session, instance_id, as_of)
    page = matter_detail.matter(session, scope.username, instance_id)
    timeline = {entry["seq"]: entry for entry in page["timeline"]}
    names = {e["actor"]: e["actor_name"] for e in page["timeline"] if e["actor"]}
    names.update(display_names(session, {c["by"] for c in record["completions"]} - set(names)))
    positions = record["positions"]
    last = len(positions) - 1
    pos = last if pos is None else min(max(pos, 0), last)
    withdrawn_at = _withdrawals(positions, record["completions"])
    result: dict[str, Any] = {
        "matter": page,
        "as_of": as_of,
        "pos": pos,
        "last": last,
        "positions": [
            {
                "index": index,
                "seq": p["seq"],
                "kind": p["kind"],
                "kind_name": labels.EVENT_NAMES.get(p["kind"], p["kind"]),
                "step_name": timeline[p["seq"]]["step_name"] if p["seq"] in timeline else p["step_name"],
                "at": p["at"],
                "actor_name": names.get(p["actor"] or "", p["actor"]),
            }
            for index, p in enumerate(positions)
        ],
        "event": None,
        "completions": [],
        "open": [],
        "svg": "",
        "deviations": _deviations_with_positions(record, names),
    }
    if pos < 0:
        result["svg"] = _replay_svg(row, [], None, final=False)
        return result
    here = positions[pos]
    result["event"] = {**timeline.get(here["seq"], {}), "at": here["at"], "seq": here["seq"]}
    result["completions"] = [
        {
            **c,
            "by_name": names.get(c["by"], c["by"]),
            "withdrawn": withdrawn_at.get(i, pos + 1) <= pos,
            "late_seconds": _seconds_between(c["due_at"], c["at"]) if c["overdue"] else None,
        }
        for i, c in enumerate(record["completions"])
        if c["position"] <= pos
    ]
    result["open"] = record["open"] if pos == last else here["open"]
    result["svg"] = _replay_svg(row, positions[: pos + 1], result["open"], final=pos == last)
    return result


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
        if position["kind"] != labels.TASK_WITHDRAWN:
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
                "kind_name": KIND_NAMES_ZH[deviation["kind"]],
                "position": position,
                "resource_name": names.get(deviation["resource"] or "", deviation["resource"]),
            }
        )
    return result


def _replay_svg(
    row: ProcessInstance, positions: list[dict[str, Any]], open_steps: list[dict[str, Any]] | None, final: bool
) -> str:
    """The diagram as it stood after ``positions``: done, current and overdue steps, flows taken."""
    try:
        drawing = diagram_of(row.definition.bpmn_xml)
    except DiagramUnavailable:
        return ""
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
        elif kind == labels.TASK_WITHDRAWN and step:
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
    return render_svg(drawing, states, id_prefix=f"replay{row.id}")


# --- heatmaps ----------------------------------------------------------------------------------

METRICS = ("overdue", "skip", "rework", "median")
HEAT_STYLE = """
.pl-diagram .pl-shape.heat-0 > rect { fill: #f0fdf4; stroke: #2f855a; }
.pl-diagram .pl-shape.heat-1 > rect { fill: #fef9c3; stroke: #a16207; }
.pl-diagram .pl-shape.heat-2 > rect { fill: #fde68a; stroke: #b45309; }
.pl-diagram .pl-shape.heat-3 > rect { fill: #fdba74; stroke: #c2410c; stroke-width: 2; }
.pl-diagram .pl-shape.heat-4 > rect { fill: #fca5a5; stroke: #b91c1c; stroke-width: 3; }
.pl-diagram .pl-shape.heat-none > rect { fill: #f5f7fa; stroke-dasharray: 4 3; }
.pl-diagram .heat-badge rect { fill: #1f2933; stroke: none; }
.pl-diagram .heat-badge text { fill: #fff; font-size: 12px; font-weight: bold; }
"""


def heatmap_view(
    session: Session,
    scope: AuditScope,
    key: str,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    metric: str = "overdue",
) -> dict[str, Any]:
    """Per step of the flow over the matters in scope: how often overdue, skipped, reworked, and the
    median time taken; each step shape coloured on a scale of 0–4 by ``metric`` and labelled with it."""
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
    svg = ""
    try:
        drawing = diagram_of(latest.bpmn_xml)
        svg = _heat_svg(render_svg(drawing, id_prefix="heat"), drawing, heat["steps"], metric)
    except DiagramUnavailable:
        pass
    return {**heat, "name": latest.name, "unit": unit_row.code, "metric": metric, "svg": svg}


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


def badge_text(step: dict[str, Any], metric: str) -> str:
    if metric == "overdue":
        return f"超时 {step['overdue_rate']:.0%}"
    if metric == "skip":
        return f"跳过 {step['skip']}"
    if metric == "rework":
        return f"返工 {step['reworked']}"
    median = step["median_seconds"]
    if median is None:
        return "—"
    return f"{median / 86400:.1f} 天" if median >= 86400 else f"{median / 3600:.1f} 小时"


def _heat_svg(svg: str, drawing: Any, steps: list[dict[str, Any]], metric: str) -> str:
    root = etree.fromstring(svg.encode("utf-8"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    style = root.find("s:style", ns)
    if style is not None:
        style.text = (style.text or "") + HEAT_STYLE
    by_step = {s["step"]: s for s in steps}
    bounds = {shape.element_id: shape.bounds for shape in drawing.shapes}
    for group in root.iterfind(".//s:g[@data-element-id]", ns):
        step = by_step.get(group.get("data-element-id") or "")
        if step is None or group.get("data-element-id") not in bounds:
            continue
        level = step["level"]
        group.set("class", f"{group.get('class', '')} heat-{'none' if level is None else level}".strip())
        if level is None:
            continue
        box = bounds[group.get("data-element-id")]
        text = badge_text(step, metric)
        width = 12 + 7.5 * sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
        badge = etree.SubElement(group, "{http://www.w3.org/2000/svg}g", {"class": "heat-badge"})
        x, y = box.x + box.width - width + 8, box.y - 11
        etree.SubElement(
            badge,
            "{http://www.w3.org/2000/svg}rect",
            {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{width:.1f}", "height": "20", "rx": "10"},
        )
        label = etree.SubElement(
            badge,
            "{http://www.w3.org/2000/svg}text",
            {
                "x": f"{x + width / 2:.1f}",
                "y": f"{y + 10:.1f}",
                "text-anchor": "middle",
                "dominant-baseline": "central",
            },
        )
        label.set("dominant-baseline", "central")
        label.text = text
    return etree.tostring(root, encoding="unicode")


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


def findings_view(findings: Findings, names: dict[str, str] | None = None, limit: int = SHOWN_CASES) -> dict[str, Any]:
    """Summary and per-case diagnostics of a check, JSON-ready (at most ``limit`` cases listed)."""
    names = names or {}
    log = findings.log
    cases: list[dict[str, Any]] = []
    per_case: dict[int, list[Any]] = {}
    for record in findings.raw:
        per_case.setdefault(record[0], []).append(record)
    for case in sorted(per_case, key=_case_order(log))[:limit]:
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        deviations = [findings.deviation(r) for r in sorted(per_case[case], key=lambda r: (r[2], r[1]))]
        cases.append(
            {
                "case": log.case_ids[case],
                "instance": attrs.get("instance"),
                "title": attrs.get("title"),
                "village": attrs.get("village_name"),
                "deviations": [
                    {
                        **d.as_dict(),
                        "kind_name": KIND_NAMES_ZH[d.kind],
                        "resource_name": names.get(d.resource or "", d.resource),
                        "description": d.describe(),
                    }
                    for d in deviations
                ],
            }
        )
    summary = findings.summary()
    return {
        **summary,
        "kinds": [{"kind": k, "name": KIND_NAMES_ZH[k], "count": summary["deviations"][k]} for k in KINDS],
        "cases_listed": cases,
        "more_cases": max(len(per_case) - limit, 0),
    }


def _case_order(log: EventLog):
    def order(case: int) -> tuple[int, str]:
        text = log.case_ids[case]
        return (0, text.rjust(20)) if text.isdigit() else (1, text)

    return order


# --- exports -----------------------------------------------------------------------------------

EXPORTS: dict[str, tuple[str, str]] = {
    "xes": ("application/xml", "xes"),
    "csv": ("text/csv", "csv"),
    "findings": ("text/csv", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def write_export(kind: str, log: EventLog, findings: Findings | None, info: ExportInfo, out: IO[bytes]) -> None:
    """Histories as XES (with findings when given) or CSV, the findings as CSV, or both as Excel."""
    if kind == "xes":
        write_xes(log, out, info, findings)
    elif kind == "csv":
        write_csv(log, out, info)
    elif kind == "findings" and findings is not None:
        write_findings_csv(findings, out, info)
    elif kind == "xlsx":
        write_xlsx(log, findings, out, info)
    else:
        raise ValueError(f"unknown export '{kind}'")


# --- trust: chains and anchors -----------------------------------------------------------------


def verify_matter(session: Session, scope: AuditScope, instance_id: int) -> dict[str, Any]:
    require_matter(session, scope, instance_id)
    return _report(verify(session, instance_id))


def verify_unit(session: Session, scope: AuditScope, unit: str | None = None) -> dict[str, Any]:
    """Re-compute the chain of every matter in ``unit``; stop at the first bad event."""
    unit_row = require_unit(session, scope, unit)
    ids = list(
        session.scalars(
            instances_query(session, Scope(unit=unit_row.code))
            .with_only_columns(ProcessInstance.id)
            .order_by(ProcessInstance.id)
        )
    )
    total = {"instances": 0, "events": 0, "bad": None, "unit": unit_row.code, "unit_name": unit_row.name}
    for instance_id in ids:
        found = _report(verify(session, instance_id))
        total["instances"] += found["instances"]
        total["events"] += found["events"]
        if found["bad"] is not None:
            total["bad"] = found["bad"]
            break
    return total


def _report(report: Any) -> dict[str, Any]:
    bad = report.bad
    return {
        "instances": report.instances,
        "events": report.events,
        "bad": None
        if bad is None
        else {
            "instance": bad.instance_id,
            "seq": bad.seq,
            "row": bad.event_id,
            "problem": bad.code,
            "reason": str(bad),
        },
    }


def anchors(session: Session, limit: int = 30, daily: bool = False) -> list[dict[str, Any]]:
    """The newest anchors, newest first; ``daily``: the days' anchors only, not the hours'."""
    query = select(HistoryAnchor).order_by(HistoryAnchor.id.desc()).limit(limit)
    if daily:
        query = query.where(func.length(HistoryAnchor.label) == DAY_LABEL_CHARS)
    return [_anchor_row(r) for r in session.scalars(query)]


DAY_LABEL_CHARS = len("2026-12-06")


def _anchor_row(r: HistoryAnchor) -> dict[str, Any]:
    return {
        "day": r.day,
        "label": r.label,
        "hourly": r.label != r.day.isoformat(),
        "digest": r.digest,
        "instances": r.instance_count,
        "events": r.event_count,
        "violations": r.violation_count if r.version >= 2 else None,
        "changed": r.changed_count,
        "created_at": r.created_at,
    }


def anchor_by_label(session: Session, label: str) -> dict[str, Any] | None:
    """The anchor of a day (``2026-12-06``) or an hour (``2026-12-06T14``), if it was made."""
    if len(label) > DAY_LABEL_CHARS + 3:
        return None
    row = session.scalar(select(HistoryAnchor).where(HistoryAnchor.label == label))
    return _anchor_row(row) if row is not None else None


def today_anchor(session: Session) -> dict[str, Any] | None:
    """Today's daily anchor (not an hourly one)."""
    row = session.scalar(select(HistoryAnchor).where(HistoryAnchor.label == anchor.today().isoformat()))
    return _anchor_row(row) if row is not None else None


def make_today_anchor(session: Session, scope: AuditScope) -> str:
    """Today's anchor (made once a day); only county discipline and auditors make it."""
    if not scope.may_anchor:
        raise PermissionDenied(
            "只有县纪委和审计人员可以生成存证摘要",
            code="policy.denied",
            params={"user": scope.username, "action": "anchor.make"},
        )
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


def check_anchor(session: Session, scope: AuditScope, digest: str) -> dict[str, Any]:
    """Whether the database still holds what the anchor with ``digest`` covered; a matter it names
    outside the user's scope is not named."""
    check = anchor.verify_anchor(session, digest)
    result = check.as_dict()
    result["problem_code"] = None if check.ok else _anchor_problem(check)
    result["instance_in_scope"] = True
    if check.instance_id is not None:
        row = session.get(ProcessInstance, check.instance_id)
        if row is None or row.village_id not in scope.village_ids:
            result.update(instance=None, instance_in_scope=False, message=None)
    if check.violation_id is not None:
        found = session.get(_violation_model(), check.violation_id)
        if found is None or found.village_id not in scope.village_ids:
            result.update(violation=None, instance_in_scope=False, message=None)
    return result
