"""Exporting histories and findings: XES for process-mining tools, CSV, and Excel workbooks to print.

Each row of an export is one recorded event of a matter: a step done (办理, 强制推进), a return
(退回: from which step to which, why) or a transfer (转办: from whom to whom, why). A row carries the
matter (id, receipt code, flow and version, village), the step, the event kind (a stable English code
and its Chinese name), the time in China time (ISO 8601, +08:00), who acted (username, name and
office), the amounts of the step's form in yuan, the form itself (files by name only), the pass of
the step (a step done again after a return is its second pass, marked as such) and how long the
step waited and was in the acting person's hands, in seconds (hours in Excel).

Every export names the newest history anchor, so a printed or mailed copy can be checked against the
database later with ``powerlist verify --anchor``: XES as log attributes, Excel on its first sheet
(说明), CSV in a sidecar ``<file>.meta.json`` (the CSV itself starts with its header row).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as _escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import views
from engine.audit.anchor import anchor_info, latest_anchor
from engine.audit.conformance import Deviation, Findings, kind_names
from engine.audit.eventlog import RETURNED, TRANSFERRED, EventLog, Note
from engine.audit.histories import Scope, check_histories, load_histories
from engine.audit.reference_model import model_for
from engine.calendar import CST
from engine.clock import as_utc
from engine.errors import NotFound
from engine.history.events import EventKind
from engine.org.roles import ROLES
from engine.persistence.models import DefinitionVersion, HistoryEvent, RoleAssignment, User
from engine.texts import data, text, texts
from engine.workspace import labels

FORMATS = ("xes", "csv", "xlsx")
XES_NS = "http://www.xes-standard.org/"
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
CASE_ATTRIBUTES = ("village", "village_name", "town", "town_name", "title", "status", "version", "started_by")

# Event kinds of the rows: stable codes, their Chinese names and their XES lifecycle transitions.
COMPLETED, FORCED = "completed", "forced"
KIND_CODES = {
    EventKind.TASK_COMPLETED: COMPLETED,
    EventKind.TASK_FORCED: FORCED,
    labels.TASK_RETURNED: RETURNED,
    labels.TASK_TRANSFERRED: TRANSFERRED,
}
ROW_KIND_NAMES = {
    COMPLETED: labels.EVENT_NAMES[EventKind.TASK_COMPLETED],
    FORCED: labels.EVENT_NAMES[EventKind.TASK_FORCED],
    RETURNED: labels.EVENT_NAMES[labels.TASK_RETURNED],
    TRANSFERRED: labels.EVENT_NAMES[labels.TASK_TRANSFERRED],
}
LIFECYCLE = {COMPLETED: "complete", FORCED: "complete", RETURNED: "ate_abort", TRANSFERRED: "reassign"}
SIDECAR_SUFFIX = ".meta.json"
IN_CHUNK = 500


@dataclass
class FormField:
    name: str
    title: str
    amount: bool  # an integer amount in fen (``*_fen``): exported in yuan
    choices: dict[Any, str] = field(default_factory=dict)  # enum value -> its title


@dataclass
class ExportInfo:
    """What an export says about itself: the flow, when, the filters, the newest anchor, the steps'
    names and forms. With a ``session``, rows of our own histories get their details (forms, people,
    receipt codes, when each step opened) from the database."""

    flow: str
    flow_name: str
    exported_at: datetime
    anchor: dict[str, Any] | None
    names: dict[str, str]  # step id -> step name
    forms: dict[str, list[FormField]] = field(default_factory=dict)  # step id -> its form's fields
    amounts: list[FormField] = field(default_factory=list)  # the flow's amount fields, in form order
    filters: dict[str, Any] = field(default_factory=dict)
    session: Session | None = None
    _details: Details | None = None

    def line(self) -> str:
        text = f"powerlist export of {self.flow} ({self.flow_name}) at {_local(self.exported_at.timestamp())}"
        if self.anchor:
            text += f"; history anchor {self.anchor['day']} {self.anchor['digest']}"
        else:
            text += "; no history anchor yet"
        return text

    def line_zh(self) -> str:
        at = _local(self.exported_at.timestamp())
        line = text("audit.export.line", flow_name=self.flow_name, flow=self.flow, at=at)
        if self.anchor:
            return line + text("audit.export.line_anchor", day=self.anchor["day"], digest=self.anchor["digest"])
        return line + text("audit.export.line_no_anchor")

    def details(self, log: EventLog) -> Details | None:
        """Forms, people and receipt codes of the log's matters (our own histories only), read once."""
        if self._details is None and self.session is not None and log.seqs is not None:
            self._details = read_details(self.session, log)
        return self._details

    def meta(self, log: EventLog, findings: Findings | None = None, fmt: str = "csv") -> dict[str, Any]:
        """The export's metadata: what the CSV's sidecar and the workbook's first sheet hold."""
        notes = Counter(n.kind for notes in log.notes.values() for n in notes)
        anchor = None
        if self.anchor:
            anchor = {k: self.anchor.get(k) for k in ("label", "day", "digest", "created_at")}
        return {
            "export": "powerlist",
            "format": fmt,
            "flow": self.flow,
            "flow_name": self.flow_name,
            "exported_at": _iso(self.exported_at.timestamp()),
            "time_zone": "Asia/Shanghai (+08:00)",
            "filters": self.filters,
            "anchor": anchor,
            "check": f"powerlist verify --anchor {self.anchor['digest']}" if self.anchor else None,
            "counts": {
                "cases": log.case_count,
                "steps_done": log.event_count,
                "returns": notes.get(RETURNED, 0),
                "transfers": notes.get(TRANSFERRED, 0),
                "rows": log.event_count + sum(notes.values()),
                "deviations": findings.counts() if findings is not None else None,
            },
            "columns": self.columns(),
        }

    def columns(self) -> dict[str, str]:
        """The CSV's columns and what each holds."""
        described = texts("audit.export.csv_columns")
        amounts = {
            amount_column(f.name): text("audit.export.amount_note", title=f.title, name=f.name) for f in self.amounts
        }
        result: dict[str, str] = {}
        for name in self.csv_columns():
            result[name] = amounts.get(name) or described.get(name, "")
        return result

    def csv_columns(self) -> tuple[str, ...]:
        head, tail = CSV_COLUMNS[: CSV_COLUMNS.index("form")], CSV_COLUMNS[CSV_COLUMNS.index("form") :]
        return (*head, *(amount_column(f.name) for f in self.amounts), *tail)


@dataclass
class ExportSummary:
    path: str
    format: str
    cases: int
    events: int
    deviations: int | None
    anchor: str | None
    meta: str | None = None  # the CSV's sidecar


def amount_column(name: str) -> str:
    """``amount_fen`` -> ``amount_yuan``."""
    return f"{name.removesuffix('_fen')}_yuan"


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def export_flow(
    session: Session,
    key: str,
    fmt: str,
    out: str | Path,
    findings: bool = False,
    scope: Scope | None = None,
    meta_out: str | Path | None = None,
) -> ExportSummary:
    """Write the histories of flow ``key`` (optionally with findings) to ``out`` as xes, csv or xlsx.

    A CSV with findings holds the findings table instead of the events. A CSV's metadata goes to
    ``meta_out`` (default: ``<out>.meta.json``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; one of {', '.join(FORMATS)}")
    scope = scope or Scope()
    scope.key = key
    info = export_info(session, key, scope)
    checked: Findings | None = None
    if findings or fmt == "xlsx":
        checked = check_histories(session, scope)
        log = checked.log
    else:
        log = load_histories(session, scope)
    path = Path(out)
    with open(path, "wb") as handle:
        if fmt == "xes":
            write_xes(log, handle, info, checked)
        elif fmt == "csv" and findings and checked is not None:
            write_findings_csv(checked, handle, info)
        elif fmt == "csv":
            write_csv(log, handle, info)
        else:
            write_xlsx(log, checked, handle, info)
    meta_path = None
    if fmt == "csv":
        meta_path = Path(meta_out) if meta_out is not None else sidecar_path(path)
        meta = info.meta(log, checked, "findings" if findings else "csv")
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return ExportSummary(
        str(path),
        fmt,
        log.case_count,
        log.event_count,
        len(checked.raw) if checked is not None else None,
        info.anchor["digest"] if info.anchor else None,
        str(meta_path) if meta_path else None,
    )


def export_info(session: Session, key: str, scope: Scope | None = None) -> ExportInfo:
    """The export's header facts for flow ``key``; ``scope``: the filters to name."""
    query = select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version)
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound(f"no deployed flow with key '{key}'")
    from engine.runtime.loaded import loaded

    names: dict[str, str] = {}
    forms: dict[str, list[FormField]] = {}
    amounts: dict[str, FormField] = {}
    for row in rows:
        model = model_for(row)
        names.update(zip(model.steps, model.names, strict=True))
        definition = loaded(row)
        for step_id in model.steps:
            step = definition.steps.get(step_id)
            schema = definition.form(step)[0] if step is not None else None
            if schema:
                forms[step_id] = _form_fields(schema)
                for item in forms[step_id]:
                    if item.amount:
                        amounts.setdefault(item.name, item)
    info = ExportInfo(key, rows[-1].name, clock.now(), anchor_info(latest_anchor(session)), names)
    info.forms, info.amounts, info.session = forms, list(amounts.values()), session
    if scope is not None:
        info.filters = scope_filters(scope)
    return info


def scope_filters(scope: Scope) -> dict[str, Any]:
    found = {
        "flow": scope.key,
        "unit": scope.unit,
        "since": _iso(as_utc(scope.since).timestamp()) if scope.since else None,
        "until": _iso(as_utc(scope.until).timestamp()) if scope.until else None,
        "status": scope.status,
    }
    return {k: v for k, v in found.items() if v is not None}


def _form_fields(schema: dict[str, Any]) -> list[FormField]:
    properties = schema.get("properties") or {}
    order = [n for n in schema.get("x-order") or [] if n in properties]
    order += [n for n in properties if n not in order]
    result = []
    for name in order:
        prop = properties[name] if isinstance(properties[name], dict) else {}
        amount = name.endswith("_fen") and prop.get("type") == "integer"
        choices = {o["const"]: o.get("title", o["const"]) for o in prop.get("oneOf") or [] if "const" in o}
        result.append(FormField(name, str(prop.get("title") or name), amount, choices))
    return result


def newest_anchor_digest(session: Session) -> str | None:
    """The newest anchor's digest (for an export's ``X-Powerlist-Anchor`` header)."""
    found = anchor_info(latest_anchor(session))
    return found["digest"] if found else None


def export_for_auditor(
    session: Session,
    scope: Any,
    key: str,
    kind: str,
    out: IO[bytes] | None,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Write the histories of flow ``key`` in an auditor's scope (``kind``: xes, csv, findings, xlsx)
    to ``out`` and return the export's metadata; with ``out`` None only the metadata is made."""
    views.require_flow(session, key)
    unit_row = views.require_unit(session, scope, unit)
    chosen = Scope(key=key, unit=unit_row.code, since=since, until=until, status=status)
    info = export_info(session, key, chosen)
    findings = None
    if kind == "csv":
        log = load_histories(session, chosen)
    else:
        findings = check_histories(session, chosen)
        log = findings.log
    if out is not None:
        write_export(kind, log, findings, info, out)
    return info.meta(log, findings, kind)


# kind -> (MIME type, file extension)
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


def _local(seconds: float) -> str:
    if seconds != seconds:
        return ""
    return datetime.fromtimestamp(seconds, CST).strftime("%Y-%m-%d %H:%M:%S")


def _xes_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, CST).isoformat(timespec="milliseconds")


def _iso(seconds: float) -> str:
    """China time, ISO 8601 with its offset: ``2026-03-02T09:00:00+08:00``."""
    if seconds != seconds:
        return ""
    return datetime.fromtimestamp(seconds, CST).isoformat(timespec="seconds")


def _iso_dt(value: datetime | None) -> str:
    return _iso(value.timestamp()) if value is not None else ""


def _activity_labels(names: dict[str, str]) -> dict[str, str]:
    """The XES activity label of each step: its Chinese name when no other step shares it."""
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {step: name if counts[name] == 1 and name else step for step, name in names.items()}


def _deviations_by_event(findings: Findings | None) -> tuple[dict[int, list[str]], dict[int, list[Deviation]]]:
    """Deviation kinds per global event index, and every deviation per case index."""
    per_event: dict[int, list[str]] = {}
    per_case: dict[int, list[Deviation]] = {}
    if findings is None:
        return per_event, per_case
    for record in sorted(findings.raw, key=lambda r: (r[0], r[2], r[1])):
        case, _code, event, _act, _extra = record
        deviation = findings.deviation(record)
        per_case.setdefault(case, []).append(deviation)
        if event < findings.log.offsets[case + 1]:
            per_event.setdefault(event, []).append(deviation.kind)
    return per_event, per_case


# --- details of our own histories --------------------------------------------------------------


@dataclass
class Details:
    """What the log's columns leave out, for our own histories."""

    forms: dict[tuple[int, int], dict[str, Any]]  # (instance, seq) -> the form submitted
    opened: dict[tuple[int, int], tuple[float, float]]  # (instance, seq) -> step opened, holder got it
    people: dict[str, tuple[str, list[str]]]  # username -> display name, roles held
    receipts: dict[int, str]  # instance -> receipt code (only codes already made)
    roles: dict[tuple[int, str], str]  # (definition id, step) -> the step's role
    forced: set[tuple[int, int]] = field(default_factory=set)  # (instance, seq) of forced steps


def read_details(session: Session, log: EventLog) -> Details:
    from engine.public.models import PublicReceipt
    from engine.runtime.loaded import loaded

    instances = [a["instance"] for a in log.case_attrs if a.get("instance") is not None]
    details = Details({}, {}, {}, {}, {})
    wanted = set(KIND_CODES)
    usernames: set[str] = set()
    for start in range(0, len(instances), IN_CHUNK):
        chunk = instances[start : start + IN_CHUNK]
        rows = session.execute(
            select(
                HistoryEvent.instance_id,
                HistoryEvent.seq,
                HistoryEvent.kind,
                HistoryEvent.step_id,
                HistoryEvent.at,
                HistoryEvent.actor,
                HistoryEvent.data,
            )
            .where(HistoryEvent.instance_id.in_(chunk))
            .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
        )
        current = None
        open_at: dict[str, list[float]] = {}
        holder: dict[str, float] = {}
        for row in rows:
            if row.instance_id != current:
                current, open_at, holder = row.instance_id, {}, {}
            data = json.loads(row.data or "{}")
            at = as_utc(row.at).timestamp() if row.at else math.nan
            step = row.step_id or ""
            if row.kind in wanted and step:
                key = (row.instance_id, row.seq)
                opened = (open_at.get(step) or [math.nan])[0]
                details.opened[key] = (opened, holder.get(step, opened))
                if row.actor:
                    usernames.add(row.actor)
                if row.kind == labels.TASK_TRANSFERRED:
                    holder[step] = at
                    usernames.add(str(data.get("to") or ""))
                elif row.kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED):
                    details.forms[key] = data.get("form") or {}
                    if row.kind == EventKind.TASK_FORCED:
                        details.forced.add(key)
                    if open_at.get(step):
                        open_at[step].pop(0)
                    holder.pop(step, None)
            if row.kind in (
                labels.TASK_RETURNED,
                labels.TASK_WITHDRAWN,
                EventKind.INSTANCE_ENDED,
                EventKind.INSTANCE_CANCELLED,
            ):
                open_at, holder = {}, {}
            for opened_step in data.get("opened") or []:
                open_at.setdefault(opened_step, []).append(at)
        details.receipts.update(
            session.execute(
                select(PublicReceipt.instance_id, PublicReceipt.code).where(PublicReceipt.instance_id.in_(chunk))
            ).all()
        )
    usernames.discard("")
    names = sorted(usernames)
    for start in range(0, len(names), IN_CHUNK):
        chunk = names[start : start + IN_CHUNK]
        for username, display in session.execute(
            select(User.username, User.display_name).where(User.username.in_(chunk))
        ):
            details.people[username] = (display or "", [])
        for username, role in session.execute(
            select(User.username, RoleAssignment.role)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.username.in_(chunk))
            .order_by(RoleAssignment.id)
        ):
            details.people[username][1].append(role)
    for definition_id in {a["definition_id"] for a in log.case_attrs if a.get("definition_id") is not None}:
        definition = loaded(session.get(DefinitionVersion, definition_id))
        for step_id, step in definition.steps.items():
            details.roles[(definition_id, step_id)] = step.role
    return details


# --- rows --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One exported row: a step done, a return or a transfer."""

    case: int
    event: int | None  # the log's event index (steps done), None for returns and transfers
    number: int  # position of the row in its case, from 1
    kind: str
    step: str
    at: float
    actor: str | None
    actor_name: str
    office: str
    form: dict[str, Any] | None
    waiting: float  # seconds from the step's opening to this event
    handling: float  # seconds from when the acting person got the step (opening or 转办) to this event
    passes: int = 1
    redone: bool = False  # done again after a return sent the matter back over it
    note: Note | None = None
    target_name: str = ""  # the step returned to, or the person transferred to


def rows_of(log: EventLog, info: ExportInfo) -> Iterator[Row]:
    """Every row of the log, case by case in time order (returns and transfers in their place)."""
    details = info.details(log)
    for case in range(log.case_count):
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        instance = attrs.get("instance")
        notes = log.notes.get(case, [])
        passes: Counter[str] = Counter()
        done: list[str] = []
        redo: set[str] = set()
        prev = log.case_start[case]
        number = 0
        events = list(log.events(case))
        ni = 0
        for pos in range(len(events) + 1):
            while ni < len(notes) and (notes[ni].pos <= pos or pos == len(events)):
                note = notes[ni]
                ni += 1
                number += 1
                if note.kind == RETURNED and note.target in done:
                    redo.update(done[len(done) - 1 - done[::-1].index(note.target) :])
                yield _note_row(case, number, note, attrs, info, details)
                prev = note.at
            if pos == len(events):
                break
            event = events[pos]
            step = log.activity(event)
            at = log.times[event]
            number += 1
            passes[step] += 1
            row = Row(case, event, number, COMPLETED, step, at, log.resource(event), "", "", None, at - prev, at - prev)
            row.passes = passes[step]
            if step in redo:
                redo.discard(step)
                row.redone = True
            if details is not None and log.seqs is not None and instance is not None:
                key = (instance, log.seqs[event])
                row.form = details.forms.get(key)
                row.kind = FORCED if key in details.forced else COMPLETED
                _timing(row, details, key)
                _person(row, details, attrs)
            done.append(step)
            prev = at
            yield row


def _timing(row: Row, details: Details, key: tuple[int, int]) -> None:
    opened, since = details.opened.get(key, (math.nan, math.nan))
    if opened == opened:
        row.waiting = row.at - opened
    if since == since:
        row.handling = row.at - since


def _person(row: Row, details: Details, attrs: dict[str, Any]) -> None:
    if not row.actor:
        return
    display, roles = details.people.get(row.actor, ("", []))
    row.actor_name = display
    role = details.roles.get((attrs.get("definition_id"), row.step))
    if role not in roles:
        role = next((r for r in ROLES if r in roles), roles[0] if roles else role)
    row.office = labels.role_name(role) if role else ""


def _note_row(
    case: int, number: int, note: Note, attrs: dict[str, Any], info: ExportInfo, details: Details | None
) -> Row:
    row = Row(case, None, number, note.kind, note.step, note.at, note.actor, "", "", None, math.nan, math.nan)
    row.note = note
    if note.kind == RETURNED:
        row.target_name = info.names.get(note.target, note.target)
    if details is not None:
        key = (attrs.get("instance"), note.seq)
        _timing(row, details, key)  # type: ignore[arg-type]
        _person(row, details, attrs)
        if note.kind == TRANSFERRED:
            row.target_name = details.people.get(note.target, ("", []))[0]
    return row


def _yuan(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return round(value / 100, 2)


def _yuan_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{sign}{whole}.{cents:02d}"


def form_values(form: dict[str, Any] | None) -> dict[str, Any]:
    """The submitted form with its files by name only: ``attachments`` -> slot -> file names."""
    if not form:
        return {}
    result = {k: v for k, v in form.items() if k != "attachments"}
    files: dict[str, list[str]] = {}
    for entry in form.get("attachments") or []:
        if isinstance(entry, dict):
            files.setdefault(str(entry.get("name") or ""), []).append(str(entry.get("filename") or ""))
    if files:
        result["attachments"] = files
    return result


def _seconds(value: float) -> int | str:
    return "" if value != value else max(int(round(value)), 0)


def _hours(value: float) -> float | None:
    return None if value != value else round(max(value, 0.0) / 3600, 2)


# --- XES ---------------------------------------------------------------------------------------


def write_xes(log: EventLog, out: IO[bytes], info: ExportInfo, findings: Findings | None = None) -> None:
    """One trace per case; readable by PM4Py and ProM (IEEE 1849 XES). Returns and transfers are
    events with the lifecycle transitions ``ate_abort`` and ``reassign``."""
    labels_ = _activity_labels(info.names)
    per_event, per_case = _deviations_by_event(findings)
    details = info.details(log)
    write = out.write
    write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    write(f'<log xes.version="1849-2016" xmlns="{XES_NS}">\n'.encode())
    for name, prefix, uri in XES_EXTENSIONS:
        write(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n'.encode())
    write(b'  <global scope="trace">' + _xes_attr("string", "concept:name", "UNKNOWN") + b"</global>\n")
    write(
        b'  <global scope="event">'
        + _xes_attr("string", "concept:name", "UNKNOWN")
        + _xes_attr("date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
        + _xes_attr("string", "lifecycle:transition", "complete")
        + b"</global>\n"
    )
    write(b'  <classifier name="Activity" keys="concept:name"/>\n')
    write(b'  <classifier name="Activity and resource" keys="concept:name org:resource"/>\n')
    for kind, key, value in _log_attributes(info, findings):
        write(b"  " + _xes_attr(kind, key, value) + b"\n")
    rows = rows_of(log, info)
    row = next(rows, None)
    for case in range(log.case_count):
        receipt = details.receipts.get(log.case_attrs[case].get("instance")) if details else None
        write(_trace_head(log, case, per_case.get(case, []), receipt))
        while row is not None and row.case == case:
            write(_xes_event(row, labels_, info, per_event))
            row = next(rows, None)
        write(b"  </trace>\n")
    write(b"</log>\n")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return _escape(text, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def xml_safe(value: Any) -> str:
    """Text that XML 1.0 can carry: characters it forbids are dropped."""
    return _NOT_XML.sub("", str(value))


def _xes_attr(kind: str, key: str, value: Any) -> bytes:
    return f'<{kind} key="{escape(xml_safe(key))}" value="{escape(xml_safe(value))}"/>'.encode()


def _log_attributes(info: ExportInfo, findings: Findings | None) -> Iterator[tuple[str, str, Any]]:
    yield "string", "concept:name", f"{info.flow_name} ({info.flow})"
    yield "string", "powerlist:flow", info.flow
    yield "date", "powerlist:exported", _xes_time(info.exported_at.timestamp())
    if info.anchor:
        yield "string", "powerlist:anchor", info.anchor["digest"]
        yield "string", "powerlist:anchorDay", info.anchor["day"]
    for key, value in info.filters.items():
        yield "string", f"powerlist:filter:{key}", value
    if findings is not None:
        for kind, count in findings.counts().items():
            yield "int", f"powerlist:{kind}", count


def _trace_head(log: EventLog, case: int, deviations: list[Deviation], receipt: str | None) -> bytes:
    parts = [b"  <trace>", _xes_attr("string", "concept:name", log.case_ids[case])]
    attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
    for key in CASE_ATTRIBUTES:
        if attrs.get(key) is not None:
            parts.append(_xes_attr("string", f"powerlist:{key}", attrs[key]))
    if attrs.get("key"):
        parts.append(_xes_attr("string", "powerlist:flow", attrs["key"]))
    if receipt:
        parts.append(_xes_attr("string", "powerlist:receipt", receipt))
    start = log.case_start[case]
    if start == start:
        parts.append(_xes_attr("date", "powerlist:started", _xes_time(start)))
    if log.case_end[case] is not None:
        parts.append(_xes_attr("string", "powerlist:end", log.case_end[case]))
    if deviations:
        text = "; ".join(f"{d.kind}:{d.step}@{d.event}" for d in deviations)
        parts.append(_xes_attr("string", "powerlist:deviations", text))
    parts.append(b"\n")
    return b"".join(parts)


def _xes_event(row: Row, labels_: dict[str, str], info: ExportInfo, per_event: dict[int, list[str]]) -> bytes:
    parts = [b"    <event>", _xes_attr("string", "concept:name", labels_.get(row.step, row.step))]
    parts.append(_xes_attr("date", "time:timestamp", _xes_time(row.at)))
    if row.actor:
        parts.append(_xes_attr("string", "org:resource", row.actor))
    if row.office:
        parts.append(_xes_attr("string", "org:role", row.office))
    parts.append(_xes_attr("string", "lifecycle:transition", LIFECYCLE[row.kind]))
    parts.append(_xes_attr("string", "powerlist:step", row.step))
    parts.append(_xes_attr("string", "powerlist:kind", row.kind))
    parts.append(_xes_attr("string", "powerlist:kindName", ROW_KIND_NAMES[row.kind]))
    if row.actor_name:
        parts.append(_xes_attr("string", "powerlist:resourceName", row.actor_name))
    for item in info.amounts:
        yuan = _yuan((row.form or {}).get(item.name))
        if yuan is not None:
            parts.append(_xes_attr("float", f"powerlist:{amount_column(item.name)}", f"{yuan:.2f}"))
    if row.note is not None:
        prefix = "powerlist:return" if row.kind == RETURNED else "powerlist:transfer"
        parts.append(_xes_attr("string", f"{prefix}To", row.note.target))
        if row.target_name:
            parts.append(_xes_attr("string", f"{prefix}ToName", row.target_name))
        parts.append(_xes_attr("string", "powerlist:reason", row.note.reason))
    else:
        parts.append(_xes_attr("int", "powerlist:pass", row.passes))
        if row.redone:
            parts.append(_xes_attr("boolean", "powerlist:redoneAfterReturn", "true"))
    if row.waiting == row.waiting:
        parts.append(_xes_attr("float", "powerlist:waitingSeconds", _seconds(row.waiting)))
    if row.handling == row.handling:
        parts.append(_xes_attr("float", "powerlist:handlingSeconds", _seconds(row.handling)))
    if row.event is not None and row.event in per_event:
        parts.append(_xes_attr("string", "powerlist:deviation", ",".join(per_event[row.event])))
    parts.append(b"</event>\n")
    return b"".join(parts)


# --- CSV ---------------------------------------------------------------------------------------

# The CSV's columns, in order; what each holds is ``audit.export.csv_columns`` of engine/texts.
CSV_COLUMNS = (
    "case",
    "receipt",
    "flow",
    "version",
    "village",
    "village_name",
    "title",
    "activity",
    "step_name",
    "kind",
    "kind_zh",
    "timestamp",
    "resource",
    "resource_name",
    "office",
    "form",
    "return_from",
    "return_from_name",
    "return_to",
    "return_to_name",
    "transfer_from",
    "transfer_from_name",
    "transfer_to",
    "transfer_to_name",
    "reason",
    "pass",
    "redone_after_return",
    "waiting_seconds",
    "handling_seconds",
    "deviation",
    "lifecycle",
    "case_started",
    "case_end",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _SafeWriter:
    """A csv writer that keeps text typed by users from being read as a spreadsheet formula."""

    def __init__(self, text: IO[str]):
        self._writer = csv.writer(text)

    def writerow(self, row) -> None:
        self._writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in row])


def write_csv(log: EventLog, out: IO[bytes], info: ExportInfo, findings: Findings | None = None) -> None:
    """One row per event, the header row first (the metadata goes in the sidecar, see
    :meth:`ExportInfo.meta`); the importer reads it back (case, activity, timestamp, resource;
    rows whose lifecycle is not ``complete`` are returns and transfers, not steps done)."""
    per_event, _per_case = _deviations_by_event(findings)
    details = info.details(log)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = _SafeWriter(text)
        writer.writerow(info.csv_columns())
        for row in rows_of(log, info):
            attrs = log.case_attrs[row.case] if row.case < len(log.case_attrs) else {}
            start = _iso(log.case_start[row.case])
            end = log.case_end[row.case]
            note = row.note
            returned = note is not None and note.kind == RETURNED
            transferred = note is not None and note.kind == TRANSFERRED
            form = form_values(row.form)
            receipt = details.receipts.get(attrs.get("instance"), "") if details else ""
            writer.writerow(
                (
                    log.case_ids[row.case],
                    receipt,
                    attrs.get("key") or info.flow,
                    attrs.get("version") or "",
                    attrs.get("village") or "",
                    attrs.get("village_name") or "",
                    attrs.get("title") or "",
                    row.step,
                    info.names.get(row.step, row.step),
                    row.kind,
                    ROW_KIND_NAMES[row.kind],
                    _iso(row.at),
                    row.actor or "",
                    row.actor_name,
                    row.office,
                    *(_yuan_text((row.form or {}).get(f.name)) for f in info.amounts),
                    json.dumps(form, ensure_ascii=False) if form else "",
                    row.step if returned else "",
                    info.names.get(row.step, row.step) if returned else "",
                    note.target if returned else "",
                    row.target_name if returned else "",
                    row.actor or "" if transferred else "",
                    row.actor_name if transferred else "",
                    note.target if transferred else "",
                    row.target_name if transferred else "",
                    note.reason if note is not None else "",
                    row.passes if note is None else "",
                    1 if row.redone else "",
                    _seconds(row.waiting),
                    _seconds(row.handling),
                    ",".join(per_event.get(row.event, [])) if row.event is not None else "",
                    LIFECYCLE[row.kind],
                    start,
                    "" if end is None else (end or "ended"),
                )
            )
    finally:
        text.flush()
        text.detach()


FINDING_COLUMNS = (
    "case",
    "kind",
    "kind_zh",
    "step",
    "step_name",
    "event",
    "at",
    "resource",
    "resource_name",
    "other",
    "other_name",
    "enabled",
    "due",
    "late_hours",
    "village",
    "title",
    "description",
)


def write_findings_csv(findings: Findings, out: IO[bytes], info: ExportInfo) -> None:
    """The findings, one per row, the header row first; times in China time, lateness in hours."""
    details = info.details(findings.log)
    people = details.people if details is not None else {}
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = _SafeWriter(text)
        writer.writerow(FINDING_COLUMNS)
        for case, deviation in _findings_rows(findings):
            attrs = findings.log.case_attrs[case] if case < len(findings.log.case_attrs) else {}
            late = (deviation.at - deviation.due).total_seconds() if deviation.at and deviation.due else None
            writer.writerow(
                (
                    deviation.case,
                    deviation.kind,
                    kind_names()[deviation.kind],
                    deviation.step,
                    deviation.step_name,
                    deviation.event,
                    _iso_dt(deviation.at),
                    deviation.resource or "",
                    people.get(deviation.resource or "", ("", []))[0],
                    deviation.other or "",
                    deviation.other_name or "",
                    _iso_dt(deviation.enabled),
                    _iso_dt(deviation.due),
                    round(late / 3600, 2) if late is not None else "",
                    attrs.get("village") or "",
                    attrs.get("title") or "",
                    deviation.describe(),
                )
            )
    finally:
        text.flush()
        text.detach()


def _findings_rows(findings: Findings) -> Iterator[tuple[int, Deviation]]:
    for record in sorted(findings.raw, key=lambda r: (r[0], r[2], r[1])):
        yield record[0], findings.deviation(record)


# --- Excel -------------------------------------------------------------------------------------

FINDING_WIDTHS = (10, 10, 28, 10, 12, 7, 18, 17, 17, 10, 44)
EVENT_WIDTHS = (10, 16, 30, 6, 14, 10, 12, 16, 14, 17, 10, 10, 8, 7)
EVENT_TAIL_WIDTHS = (12, 12, 12, 12, 30, 20)
MAX_SHEET_ROWS = 1_048_000


def write_xlsx(log: EventLog, findings: Findings | None, out: IO[bytes], info: ExportInfo) -> None:
    """A workbook laid out for printing: 说明 (what was exported, the anchor), the findings, one sheet
    per village with every event, and one sheet per step with its form's fields as columns."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    title_font = Font(bold=True, size=13)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    flagged = Font(color="B00000")
    used_names: set[str] = set()
    details = info.details(log)
    words = texts("audit.workbook")
    kind_name = kind_names()
    separator = text("audit.list_separator")

    def sheet(title: str, headers: tuple[str, ...], widths: tuple[int, ...], subtitle: str):
        ws = workbook.create_sheet(_sheet_name(title, used_names))
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.print_title_rows = "3:3"
        ws.freeze_panes = "A4"
        ws.oddHeader.left.text = f"{info.flow_name} {title}"
        ws.oddHeader.right.text = (
            words["page_anchor"].format(digest=info.anchor["digest"][:16]) if info.anchor else words["page_no_anchor"]
        )
        ws.oddFooter.center.text = words["page_footer"]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        heading = WriteOnlyCell(ws, value=words["heading"].format(flow_name=info.flow_name, title=title))
        heading.font = title_font
        ws.append([heading])
        ws.append([WriteOnlyCell(ws, value=subtitle)])
        cells = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=header)
            cell.font, cell.fill, cell.border, cell.alignment = bold, header_fill, border, wrap
            cells.append(cell)
        ws.append(cells)
        return ws

    def row(ws, values: list[Any], highlight: bool = False, money: frozenset[int] = frozenset()) -> None:
        cells = []
        for index, value in enumerate(values):
            cell = WriteOnlyCell(ws, value=value)
            cell.border, cell.alignment = border, wrap
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, float):
                cell.number_format = "#,##0.00" if index in money else "0.00"
            elif isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text typed by users is never a formula
            if highlight:
                cell.font = flagged
            cells.append(cell)
        ws.append(cells)

    _about_sheet(workbook, info, log, findings, bold, title_font)
    per_event, per_case = _deviations_by_event(findings)
    counts = findings.counts() if findings is not None else {}
    summary = _counted(counts) or words["not_checked"]
    ws = sheet(
        words["findings_sheet"],
        tuple(data("audit.workbook.finding_headers")),
        FINDING_WIDTHS,
        words["findings_subtitle"].format(line=info.line_zh(), cases=log.case_count, summary=summary),
    )
    people = details.people if details is not None else {}
    written = 0
    for case in sorted(per_case):
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        for deviation in per_case[case]:
            if written >= MAX_SHEET_ROWS:
                break
            written += 1
            late = _hours((deviation.at - deviation.due).total_seconds()) if deviation.due and deviation.at else None
            name = people.get(deviation.resource or "", ("", []))[0]
            row(
                ws,
                [
                    deviation.case,
                    attrs.get("village_name") or attrs.get("village") or "",
                    attrs.get("title") or "",
                    kind_name[deviation.kind],
                    deviation.step_name,
                    deviation.event,
                    words["person"].format(name=name, user=deviation.resource) if name else deviation.resource or "",
                    _naive(deviation.at),
                    _naive(deviation.due),
                    late,
                    deviation.describe(),
                ],
            )

    limits = _limits(findings)
    amount_titles = tuple(text("audit.export.amount_title", title=f.title) for f in info.amounts)
    event_headers = tuple(data("audit.workbook.event_headers"))
    headers = (*event_headers, *amount_titles, *data("audit.workbook.event_tail"))
    widths = (*EVENT_WIDTHS, *(12 for _ in amount_titles), *EVENT_TAIL_WIDTHS)
    money = frozenset(range(len(event_headers), len(event_headers) + len(amount_titles)))
    villages: dict[str, list[int]] = {}
    for case in range(log.case_count):
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        villages.setdefault(attrs.get("village_name") or attrs.get("village") or words["all_villages"], []).append(case)
    village_of = {case: village for village, cases in villages.items() for case in cases}
    sheets = {}
    for village, cases in sorted(villages.items()):
        subtitle = words["village_subtitle"].format(line=info.line_zh(), village=village, cases=len(cases))
        sheets[village] = sheet(village, headers, widths, subtitle)
    by_step: dict[str, list[Row]] = {}
    written_in: Counter[str] = Counter()
    for item in rows_of(log, info):
        village = village_of[item.case]
        if written_in[village] >= MAX_SHEET_ROWS:
            continue
        written_in[village] += 1
        attrs = log.case_attrs[item.case] if item.case < len(log.case_attrs) else {}
        receipt = details.receipts.get(attrs.get("instance"), "") if details else ""
        note = item.note
        returned = note is not None and note.kind == RETURNED
        transferred = note is not None and note.kind == TRANSFERRED
        kinds = per_event.get(item.event, []) if item.event is not None else []
        actor_name = item.actor_name or item.actor or ""
        row(
            sheets[village],
            [
                log.case_ids[item.case],
                receipt,
                attrs.get("title") or "",
                item.number,
                info.names.get(item.step, item.step),
                ROW_KIND_NAMES[item.kind] + (words["redone"] if item.redone else ""),
                item.actor_name,
                item.actor or "",
                item.office,
                _naive(datetime.fromtimestamp(item.at, UTC)) if item.at == item.at else None,
                _hours(item.waiting),
                _hours(item.handling),
                limits.get(item.step) or "",
                item.passes if note is None else None,
                *(_yuan((item.form or {}).get(f.name)) for f in info.amounts),
                info.names.get(item.step, item.step) if returned else "",
                item.target_name if returned else "",
                actor_name if transferred else "",
                (item.target_name or note.target) if transferred else "",
                note.reason if note is not None else "",
                separator.join(kind_name[k] for k in kinds),
            ],
            highlight=bool(kinds),
            money=money,
        )
        if item.form is not None and item.step in info.forms:
            by_step.setdefault(item.step, []).append(item)

    for step, fields in info.forms.items():
        done = by_step.get(step)
        if not done:
            continue
        titles = tuple(text("audit.export.amount_title", title=f.title) if f.amount else f.title for f in fields)
        step_name = info.names.get(step, step)
        form_headers = tuple(data("audit.workbook.form_headers"))
        ws = sheet(
            words["form_sheet"].format(step=step_name),
            (*form_headers, *titles, words["attachments"]),
            (10, 16, 10, 28, 7, 12, 17, *(14 for _ in fields), 24),
            words["form_subtitle"].format(line=info.line_zh(), step=step_name, count=len(done)),
        )
        offset = len(form_headers)
        money_here = frozenset(offset + i for i, f in enumerate(fields) if f.amount)
        for item in done[:MAX_SHEET_ROWS]:
            attrs = log.case_attrs[item.case] if item.case < len(log.case_attrs) else {}
            values = form_values(item.form)
            files = values.get("attachments") or {}
            row(
                ws,
                [
                    log.case_ids[item.case],
                    details.receipts.get(attrs.get("instance"), "") if details else "",
                    attrs.get("village_name") or "",
                    attrs.get("title") or "",
                    item.passes,
                    item.actor_name or item.actor or "",
                    _naive(datetime.fromtimestamp(item.at, UTC)) if item.at == item.at else None,
                    *(_cell_value(values.get(f.name), f) for f in fields),
                    words["files_separator"].join(
                        words["files"].format(slot=slot, names=separator.join(names)) for slot, names in files.items()
                    ),
                ],
                money=money_here,
            )
    workbook.save(out)


def _about_sheet(workbook: Any, info: ExportInfo, log: EventLog, findings: Findings | None, bold, title_font) -> None:
    """The first sheet, 说明: what was exported, when, with which filters, and the anchor to check it."""
    from openpyxl.cell import WriteOnlyCell

    words = texts("audit.workbook")
    label = texts("audit.workbook.about")
    ws = workbook.create_sheet(words["about_sheet"])
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 90
    meta = info.meta(log, findings, "xlsx")
    heading = WriteOnlyCell(ws, value=words["about_heading"].format(flow_name=info.flow_name))
    heading.font = title_font
    ws.append([heading])
    counts = meta["counts"]
    anchor = meta["anchor"]
    names = texts("audit.workbook.filter_names")
    filters = words["filter_separator"].join(
        words["filter"].format(name=names.get(k, k), value=v) for k, v in info.filters.items()
    )
    lines = [
        (label["flow"], words["flow_value"].format(flow_name=info.flow_name, flow=info.flow)),
        (label["exported_at"], meta["exported_at"]),
        (label["time_zone"], words["time_zone"]),
        (label["filters"], filters or words["no_filters"]),
        (label["cases"], counts["cases"]),
        (label["steps_done"], counts["steps_done"]),
        (label["returns"], counts["returns"]),
        (label["transfers"], counts["transfers"]),
    ]
    if counts["deviations"] is not None:
        lines.append((label["deviations"], _counted(counts["deviations"])))
    if anchor:
        lines += [
            (label["anchor_label"], anchor["label"] or anchor["day"]),
            (label["anchor"], anchor["digest"]),
            (label["check"], meta["check"]),
        ]
    else:
        lines.append((label["anchor"], words["no_anchor"]))
    lines.append((label["notes"], words["notes"]))
    for key, value in lines:
        cell = WriteOnlyCell(ws, value=key)
        cell.font = bold
        ws.append([cell, value])


def _counted(counts: dict[str, int]) -> str:
    """``跳过 2，重复 1``: each kind of deviation found with its count."""
    words, kind_name = texts("audit.workbook"), kind_names()
    return words["count_separator"].join(words["count"].format(kind=kind_name[k], n=n) for k, n in counts.items())


def _cell_value(value: Any, item: FormField) -> Any:
    if value is None:
        return None
    if item.amount:
        return _yuan(value)
    if isinstance(value, bool):
        return data("audit.workbook.yes" if value else "audit.workbook.no")
    if item.choices and not isinstance(value, (list, dict)) and value in item.choices:
        return item.choices[value]
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _limits(findings: Findings | None) -> dict[str, str]:
    if findings is None:
        return {}
    result: dict[str, str] = {}
    for model in findings.models:
        for step, limit in zip(model.steps, model.time_limits, strict=True):
            if limit:
                result[step] = limit
    return result


def _naive(value: datetime | None) -> datetime | None:
    """Excel has no time zones: China Standard Time, without the zone."""
    return value.astimezone(CST).replace(tzinfo=None) if value else None


_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_name(title: str, used: set[str]) -> str:
    base = title.translate(_FORBIDDEN).strip("'")[:31] or "sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name
