"""Exporting histories and findings: XES for process-mining tools, CSV, and Excel workbooks to print.

Every export names the newest history anchor in its header (XES log attributes, a ``#`` comment line
before the CSV header, the Excel title rows), so a printed or mailed copy can be checked against the
database later with ``powerlist verify --anchor``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as _escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.anchor import anchor_info, latest_anchor
from engine.audit.conformance import KIND_NAMES_ZH, Deviation, Findings
from engine.audit.eventlog import EventLog
from engine.audit.histories import Scope, check_histories, load_histories
from engine.audit.model import model_for
from engine.calendar import CST
from engine.errors import NotFound
from engine.persistence.models import DefinitionVersion

FORMATS = ("xes", "csv", "xlsx")
XES_NS = "http://www.xes-standard.org/"
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
CASE_ATTRIBUTES = ("village", "village_name", "town", "town_name", "title", "status", "version", "started_by")


@dataclass
class ExportInfo:
    """What an export's header says: the flow, when, and the newest anchor."""

    flow: str
    flow_name: str
    exported_at: datetime
    anchor: dict[str, Any] | None
    names: dict[str, str]  # step id -> step name

    def line(self) -> str:
        text = f"powerlist export of {self.flow} ({self.flow_name}) at {_local(self.exported_at.timestamp())}"
        if self.anchor:
            text += f"; history anchor {self.anchor['day']} {self.anchor['digest']}"
        else:
            text += "; no history anchor yet"
        return text

    def line_zh(self) -> str:
        text = f"{self.flow_name}（{self.flow}） 导出时间 {_local(self.exported_at.timestamp())}"
        if self.anchor:
            text += f"  存证摘要 {self.anchor['day']} {self.anchor['digest']}"
        else:
            text += "  尚无存证摘要"
        return text


@dataclass
class ExportSummary:
    path: str
    format: str
    cases: int
    events: int
    deviations: int | None
    anchor: str | None


def export_flow(
    session: Session,
    key: str,
    fmt: str,
    out: str | Path,
    findings: bool = False,
    scope: Scope | None = None,
) -> ExportSummary:
    """Write the histories of flow ``key`` (optionally with findings) to ``out`` as xes, csv or xlsx.

    A CSV with findings holds the findings table instead of the events.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; one of {', '.join(FORMATS)}")
    scope = scope or Scope()
    scope.key = key
    info = export_info(session, key)
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
    return ExportSummary(
        str(path),
        fmt,
        log.case_count,
        log.event_count,
        len(checked.raw) if checked is not None else None,
        info.anchor["digest"] if info.anchor else None,
    )


def export_info(session: Session, key: str) -> ExportInfo:
    query = select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version)
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound(f"no deployed flow with key '{key}'")
    names: dict[str, str] = {}
    for row in rows:
        model = model_for(row)
        names.update(zip(model.steps, model.names, strict=True))
    return ExportInfo(key, rows[-1].name, clock.now(), anchor_info(latest_anchor(session)), names)


def _local(seconds: float) -> str:
    if seconds != seconds:
        return ""
    return datetime.fromtimestamp(seconds, CST).strftime("%Y-%m-%d %H:%M:%S")


def _xes_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, CST).isoformat(timespec="milliseconds")


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


# --- XES ---------------------------------------------------------------------------------------


def write_xes(log: EventLog, out: IO[bytes], info: ExportInfo, findings: Findings | None = None) -> None:
    """One trace per case; readable by PM4Py and ProM (IEEE 1849 XES)."""
    labels = _activity_labels(info.names)
    per_event, per_case = _deviations_by_event(findings)
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
    for case in range(log.case_count):
        write(_trace(log, case, labels, per_event, per_case.get(case, [])))
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
    if findings is not None:
        for kind, count in findings.counts().items():
            yield "int", f"powerlist:{kind}", count


def _trace(
    log: EventLog, case: int, labels: dict[str, str], per_event: dict[int, list[str]], deviations: list[Deviation]
) -> bytes:
    parts = [b"  <trace>", _xes_attr("string", "concept:name", log.case_ids[case])]
    attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
    for key in CASE_ATTRIBUTES:
        if attrs.get(key) is not None:
            parts.append(_xes_attr("string", f"powerlist:{key}", attrs[key]))
    start = log.case_start[case]
    if start == start:
        parts.append(_xes_attr("date", "powerlist:started", _xes_time(start)))
    if log.case_end[case] is not None:
        parts.append(_xes_attr("string", "powerlist:end", log.case_end[case]))
    if deviations:
        text = "; ".join(f"{d.kind}:{d.step}@{d.event}" for d in deviations)
        parts.append(_xes_attr("string", "powerlist:deviations", text))
    parts.append(b"\n")
    for event in log.events(case):
        step = log.activity(event)
        parts.append(b"    <event>")
        parts.append(_xes_attr("string", "concept:name", labels.get(step, step)))
        parts.append(_xes_attr("date", "time:timestamp", _xes_time(log.times[event])))
        resource = log.resource(event)
        if resource:
            parts.append(_xes_attr("string", "org:resource", resource))
        parts.append(_xes_attr("string", "lifecycle:transition", "complete"))
        parts.append(_xes_attr("string", "powerlist:step", step))
        if event in per_event:
            parts.append(_xes_attr("string", "powerlist:deviation", ",".join(per_event[event])))
        parts.append(b"</event>\n")
    parts.append(b"  </trace>\n")
    return b"".join(parts)


# --- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "case",
    "activity",
    "step_name",
    "timestamp",
    "resource",
    "case_started",
    "case_end",
    "village",
    "village_name",
    "title",
    "version",
)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _SafeWriter:
    """A csv writer that keeps text typed by users from being read as a spreadsheet formula."""

    def __init__(self, text: IO[str]):
        self._writer = csv.writer(text)

    def writerow(self, row) -> None:
        self._writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in row])


def write_csv(log: EventLog, out: IO[bytes], info: ExportInfo) -> None:
    """One row per event; the importer reads it back (case, activity, timestamp, resource)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        text.write(f"# {info.line()}\n")
        writer = _SafeWriter(text)
        writer.writerow(CSV_COLUMNS)
        for case in range(log.case_count):
            attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
            start = _xes_time(log.case_start[case]) if log.case_start[case] == log.case_start[case] else ""
            end = log.case_end[case]
            for event in log.events(case):
                step = log.activity(event)
                writer.writerow(
                    (
                        log.case_ids[case],
                        step,
                        info.names.get(step, step),
                        _xes_time(log.times[event]),
                        log.resource(event) or "",
                        start,
                        "" if end is None else (end or "ended"),
                        attrs.get("village") or "",
                        attrs.get("village_name") or "",
                        attrs.get("title") or "",
                        attrs.get("version") or "",
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
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        text.write(f"# {info.line()}\n")
        writer = _SafeWriter(text)
        writer.writerow(FINDING_COLUMNS)
        for case, deviation in _findings_rows(findings):
            attrs = findings.log.case_attrs[case] if case < len(findings.log.case_attrs) else {}
            row = deviation.as_dict()
            late = row["late_seconds"]
            writer.writerow(
                (
                    deviation.case,
                    deviation.kind,
                    KIND_NAMES_ZH[deviation.kind],
                    deviation.step,
                    deviation.step_name,
                    deviation.event,
                    row["at"] or "",
                    deviation.resource or "",
                    deviation.other or "",
                    deviation.other_name or "",
                    row["enabled"] or "",
                    row["due"] or "",
                    round(late / 3600, 1) if late is not None else "",
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

FINDING_HEADERS = (
    "事项编号",
    "村",
    "事项",
    "问题类型",
    "环节",
    "第几步",
    "办理人",
    "时间",
    "应完成时间",
    "超时",
    "说明",
)
FINDING_WIDTHS = (10, 10, 28, 10, 12, 7, 18, 17, 17, 12, 44)
EVENT_HEADERS = ("事项编号", "事项", "序号", "环节", "办理人", "完成时间", "用时", "时限", "问题")
EVENT_WIDTHS = (10, 30, 6, 14, 20, 17, 12, 8, 20)
MAX_SHEET_ROWS = 1_048_000


def write_xlsx(log: EventLog, findings: Findings | None, out: IO[bytes], info: ExportInfo) -> None:
    """A workbook laid out for printing: the findings first, then one sheet per village."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    title_font = Font(bold=True, size=13)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    flagged = Font(color="B00000")
    used_names: set[str] = set()

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
        ws.oddHeader.right.text = f"存证 {info.anchor['digest'][:16]}…" if info.anchor else "尚无存证"
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        for index, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + index)].width = width
        heading = WriteOnlyCell(ws, value=f"{info.flow_name} — {title}")
        heading.font = title_font
        ws.append([heading])
        ws.append([WriteOnlyCell(ws, value=subtitle)])
        cells = []
        for text in headers:
            cell = WriteOnlyCell(ws, value=text)
            cell.font, cell.fill, cell.border, cell.alignment = bold, header_fill, border, wrap
            cells.append(cell)
        ws.append(cells)
        return ws

    def row(ws, values: list[Any], highlight: bool = False) -> None:
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            cell.border, cell.alignment = border, wrap
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text typed by users is never a formula
            if highlight:
                cell.font = flagged
            cells.append(cell)
        ws.append(cells)

    per_event, per_case = _deviations_by_event(findings)
    counts = findings.counts() if findings is not None else {}
    summary = "，".join(f"{KIND_NAMES_ZH[k]} {n}" for k, n in counts.items()) or "未检查"
    ws = sheet("审计发现", FINDING_HEADERS, FINDING_WIDTHS, f"{info.line_zh()}  共 {log.case_count} 件：{summary}")
    written = 0
    for case in sorted(per_case):
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        for deviation in per_case[case]:
            if written >= MAX_SHEET_ROWS:
                break
            written += 1
            late = _hours_zh((deviation.at - deviation.due).total_seconds()) if deviation.due and deviation.at else ""
            row(
                ws,
                [
                    deviation.case,
                    attrs.get("village_name") or attrs.get("village") or "",
                    attrs.get("title") or "",
                    KIND_NAMES_ZH[deviation.kind],
                    deviation.step_name,
                    deviation.event,
                    deviation.resource or "",
                    _naive(deviation.at),
                    _naive(deviation.due),
                    late,
                    deviation.describe(),
                ],
            )

    limits = _limits(findings)
    villages: dict[str, list[int]] = {}
    for case in range(log.case_count):
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        villages.setdefault(attrs.get("village_name") or attrs.get("village") or "全部", []).append(case)
    for village, cases in sorted(villages.items()):
        ws = sheet(village, EVENT_HEADERS, EVENT_WIDTHS, f"{info.line_zh()}  {village} 共 {len(cases)} 件")
        written = 0
        for case in cases:
            attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
            prev = log.case_start[case]
            for number, event in enumerate(log.events(case), start=1):
                if written >= MAX_SHEET_ROWS:
                    break
                written += 1
                step = log.activity(event)
                t = log.times[event]
                took = _hours_zh(t - prev) if prev == prev else ""
                kinds = per_event.get(event, [])
                row(
                    ws,
                    [
                        log.case_ids[case],
                        attrs.get("title") or "",
                        number,
                        info.names.get(step, step),
                        log.resource(event) or "",
                        _naive(datetime.fromtimestamp(t, UTC)),
                        took,
                        limits.get(step) or "",
                        "、".join(KIND_NAMES_ZH[k] for k in kinds),
                    ],
                    highlight=bool(kinds),
                )
                prev = t
    workbook.save(out)


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


def _hours_zh(seconds: float) -> str:
    if seconds != seconds or seconds < 0:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours = rest // 3600
    return f"{days}天{hours}小时" if days else f"{hours}小时{(rest % 3600) // 60}分"


_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_name(title: str, used: set[str]) -> str:
    base = title.translate(_FORBIDDEN).strip("'")[:31] or "sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name
