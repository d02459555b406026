"""Importing event logs from other systems: XES (IEEE 1849) and CSV.

Both readers stream: the file is read once, a progress callback hears how many bytes were read, and
every row or event that cannot be used is reported with its line number and field instead of being
dropped silently. The summary counts what was read, used, skipped (XES events whose lifecycle
transition is not ``complete``) and rejected.

Input is untrusted: files are size-limited, XML documents may not declare a DOCTYPE or entities
(nothing is expanded or fetched), and overlong fields are refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from lxml import etree

from engine.audit.eventlog import NO_TIME, EventLog, EventLogBuilder
from engine.audit.mapping import ActivityMapper, normalize
from engine.calendar import CST
from engine.errors import PowerlistError
from engine.texts import data

MAX_LOG_BYTES = 512 * 1024 * 1024
MAX_EVENTS = 5_000_000
MAX_FIELD = 1000
MAX_REJECTS_KEPT = 1000
PROGRESS_EVERY = 2000

Progress = Callable[[int], None]


class LogUnreadable(PowerlistError):
    """The file as a whole cannot be read (not XML, too large, no usable header…)."""

    exit_code = 2


@dataclass
class Rejected:
    line: int
    field: str
    reason: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f": {self.value!r}" if self.value is not None else ""
        return f"line {self.line}: {self.field}: {self.reason}{shown}"


@dataclass
class ImportResult:
    log: EventLog
    read: int = 0
    used: int = 0
    skipped: int = 0  # not an error: lifecycle transitions other than complete
    rejected: list[Rejected] = field(default_factory=list)
    rejected_count: int = 0
    unknown_activities: dict[str, int] = field(default_factory=dict)

    def reject(self, line: int, field_name: str, reason: str, value: Any = None) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTS_KEPT:
            shown = None if value is None else str(value)[:80]
            self.rejected.append(Rejected(line, field_name, reason, shown))

    def summary(self) -> ImportSummary:
        return ImportSummary(
            read=self.read,
            used=self.used,
            skipped=self.skipped,
            rejected=self.rejected_count,
            cases=self.log.case_count,
            unknown_activities=dict(sorted(self.unknown_activities.items(), key=lambda kv: -kv[1])),
        )


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """Events ``read`` from a log: ``used``, ``skipped`` (lifecycle not complete) and ``rejected``;
    the ``cases`` built and the activities no step was found for, with how often each was seen."""

    read: int
    used: int
    skipped: int
    rejected: int
    cases: int
    unknown_activities: dict[str, int]


class _Counting(io.RawIOBase):
    """A binary stream that counts bytes and refuses to read past a limit."""

    def __init__(self, raw: IO[bytes], limit: int, progress: Progress | None):
        self.raw = raw
        self.count = 0
        self.limit = limit
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise LogUnreadable(f"the file is larger than the limit of {self.limit:,} bytes")
        buffer[: len(data)] = data
        if self.progress:
            self.progress(self.count)
        return len(data)


# --- time stamps -------------------------------------------------------------------------------

_MARKS = data("audit.logs.date_marks")  # 年 月 日 时 分 秒 of a date written in Chinese
_CHINESE_DATE = re.compile(
    r"^(\d{{4}}){year}(\d{{1,2}}){month}(\d{{1,2}}){day}\s*(.*)$".format(
        **{k: re.escape(v) for k, v in _MARKS.items()}
    )
)
_SLASHED = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$")


def parse_timestamp(text: str) -> float:
    """POSIX seconds of an ISO 8601 time (``T`` or space, ``Z`` or offset, date only allowed), of
    ``2026/11/01 08:30`` or ``2026年11月1日 8:30``. Times without a zone are China Standard Time."""
    value = text.strip()
    match = _CHINESE_DATE.match(value) or _SLASHED.match(value)
    if match:
        year, month, day, rest = match.groups()
        rest = rest.strip().replace(_MARKS["hour"], ":").replace(_MARKS["minute"], ":")
        rest = rest.replace(_MARKS["second"], "").rstrip(":")
        value = f"{year}-{int(month):02d}-{int(day):02d}" + (f" {_pad_time(rest)}" if rest else "")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment.timestamp()


def _pad_time(text: str) -> str:
    head, _, fraction = text.partition(".")
    parts = head.split(":")
    if len(parts) == 1:
        parts.append("0")
    padded = ":".join(p.zfill(2) for p in parts)
    return padded + (f".{fraction}" if fraction else "")


# --- XES ---------------------------------------------------------------------------------------


def read_xes(
    source: str | Path | IO[bytes],
    mapper: ActivityMapper,
    progress: Progress | None = None,
    max_bytes: int = MAX_LOG_BYTES,
    ended: bool = False,
) -> ImportResult:
    """Read an XES log: trace ``concept:name`` is the case, event ``concept:name`` the activity,
    ``time:timestamp`` the time, ``org:resource`` who; only ``lifecycle:transition`` complete (or
    none) is used. A trace's ``powerlist:started``/``powerlist:end`` (written by our export) give the
    case's start and end; with ``ended`` every other case counts as finished too."""
    builder = EventLogBuilder()
    result = ImportResult(EventLog())
    handle, close = _open(source)
    try:
        stream = io.BufferedReader(_Counting(handle, max_bytes, progress), buffer_size=1 << 16)
        head = stream.peek(1 << 16)
        if not head.strip():
            raise LogUnreadable("the file is empty")
        if any(marker in head for marker in _DOCTYPE_MARKERS):
            raise LogUnreadable("DOCTYPE and entities are not allowed in an XES file")
        _parse_xes(stream, builder, result, mapper)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise LogUnreadable(f"line {line}: not readable as XES: {exc.msg or exc}") from exc
    finally:
        if close:
            handle.close()
    result.log = builder.build(ended=ended)
    return result


_DOCTYPE_MARKERS = tuple(
    marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY") for encoding in ("ascii", "utf-16-le", "utf-16-be")
)


def _parse_xes(stream: IO[bytes], builder: EventLogBuilder, result: ImportResult, mapper: ActivityMapper) -> None:
    traces = 0
    checked_root = False
    parser = etree.iterparse(
        stream,
        events=("end",),
        tag=("{*}event", "{*}trace"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    events: list[tuple[int, dict[str, str]]] = []
    for _action, element in parser:
        if not checked_root:
            checked_root = True
            if element.getroottree().docinfo.doctype:
                raise LogUnreadable("DOCTYPE and entities are not allowed in an XES file")
        parent = element.getparent()
        if _local(element.tag) == "event":
            result.read += 1
            if result.read > MAX_EVENTS:
                raise LogUnreadable(f"the log holds more than {MAX_EVENTS} events")
            if parent is not None and _local(parent.tag) == "trace":
                events.append((element.sourceline or 0, _attributes(element)))
            else:
                result.reject(element.sourceline or 0, "event", "event outside a trace")
            element.clear(keep_tail=True)
            continue
        traces += 1
        trace: dict[str, str] = {}
        for child in element:
            key, value = child.get("key"), child.get("value")
            if key is None or value is None:
                continue
            if len(value) > MAX_FIELD:
                result.reject(child.sourceline or 0, key, f"longer than {MAX_FIELD} characters")
            else:
                trace[key] = value
        _add_trace(builder, result, mapper, trace, events, element.sourceline or 0, traces)
        events = []
        element.clear(keep_tail=True)
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
    root = getattr(parser, "root", None)
    if root is not None and root.getroottree().docinfo.doctype:
        raise LogUnreadable("DOCTYPE and entities are not allowed in an XES file")


def _open(source: str | Path | IO[bytes]) -> tuple[IO[bytes], bool]:
    if isinstance(source, str | Path):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise LogUnreadable(f"cannot read {source}: {exc.strerror}") from exc
    return source, False


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _attributes(element: Any) -> dict[str, str]:
    values = {}
    for child in element:
        key = child.get("key")
        if key is not None:
            values[key] = child.get("value") or ""
    return values


def _add_trace(
    builder: EventLogBuilder,
    result: ImportResult,
    mapper: ActivityMapper,
    trace: dict[str, str],
    events: list[tuple[int, dict[str, str]]],
    line: int,
    number: int,
) -> None:
    case = trace.get("concept:name", "").strip()
    if not case:
        for event_line, _ in events or [(line, {})]:
            result.reject(event_line, "concept:name", f"trace #{number} has no case id (trace concept:name)")
        return
    if len(case) > MAX_FIELD:
        result.reject(line, "concept:name", f"case id longer than {MAX_FIELD} characters")
        return
    start = NO_TIME
    if trace.get("powerlist:started"):
        try:
            start = parse_timestamp(trace["powerlist:started"])
        except (ValueError, OverflowError):
            result.reject(line, "powerlist:started", "not a time", trace["powerlist:started"])
    end = trace.get("powerlist:end")
    builder.case(case, start, end if end is not None else None)
    for event_line, values in events:
        transition = values.get("lifecycle:transition", "complete").strip().lower()
        if transition != "complete":
            result.skipped += 1
            continue
        _add_event(
            builder,
            result,
            mapper,
            event_line,
            case,
            values.get("concept:name"),
            values.get("time:timestamp"),
            values.get("org:resource"),
            ("concept:name", "time:timestamp", "org:resource"),
        )


def _add_event(
    builder: EventLogBuilder,
    result: ImportResult,
    mapper: ActivityMapper,
    line: int,
    case: str,
    activity: str | None,
    timestamp: str | None,
    resource: str | None,
    names: tuple[str, str, str],
) -> None:
    if not activity or not activity.strip():
        result.reject(line, names[0], "missing activity")
        return
    if len(activity) > MAX_FIELD or (resource and len(resource) > MAX_FIELD):
        result.reject(line, names[0] if len(activity) > MAX_FIELD else names[2], f"longer than {MAX_FIELD} characters")
        return
    step = mapper(activity)
    if step is None:
        shown = normalize(activity)
        result.unknown_activities[shown] = result.unknown_activities.get(shown, 0) + 1
        result.reject(line, names[0], "unknown activity: not a step id, step name or mapped name", shown)
        return
    if not timestamp or not timestamp.strip():
        result.reject(line, names[1], "missing time")
        return
    try:
        at = parse_timestamp(timestamp)
    except (ValueError, OverflowError):
        result.reject(line, names[1], "bad time stamp", timestamp)
        return
    builder.add(case, step, at, (resource or "").strip() or None)
    result.used += 1


# --- CSV ---------------------------------------------------------------------------------------

_ENGLISH_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "case": (
        "case",
        "caseid",
        "case:concept:name",
        "case_id",
        "case id",
        "matter",
        "instance",
    ),
    "activity": (
        "activity",
        "concept:name",
        "activity name",
        "activity_name",
        "step",
        "task",
        "event",
    ),
    "timestamp": (
        "timestamp",
        "time:timestamp",
        "time",
        "datetime",
        "date",
        "completed",
        "complete time",
    ),
    "resource": (
        "resource",
        "org:resource",
        "user",
        "actor",
        "performer",
    ),
}
# What each column may be called: the names above, then the Chinese ones of ``audit.logs.columns``;
# failing those, a Chinese header containing a word of ``audit.logs.column_parts``.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    role: (*names, *data("audit.logs.columns")[role]) for role, names in _ENGLISH_COLUMN_NAMES.items()
}
_CONTAINS: dict[str, tuple[str, ...]] = {role: tuple(words) for role, words in data("audit.logs.column_parts").items()}

REQUIRED = ("case", "activity", "timestamp")


def detect_columns(header: list[str], given: dict[str, str] | None = None) -> dict[str, int]:
    """Column index of case, activity, timestamp and (optional) resource.

    ``given`` names columns explicitly (by header text or 1-based number); the rest are found by
    known names (English, XES and Chinese), then by Chinese key words contained in the header.
    """
    cleaned = [normalize(h).lower().replace("_", " ").strip() for h in header]
    found: dict[str, int] = {}
    for role, name in (given or {}).items():
        if not name:
            continue
        wanted = normalize(name).lower().replace("_", " ")
        if wanted in cleaned:
            found[role] = cleaned.index(wanted)
        elif name.isdigit() and 1 <= int(name) <= len(header):
            found[role] = int(name) - 1
        else:
            raise LogUnreadable(f"no column '{name}' for {role}; the header has: {', '.join(header)}")
    for role, names in COLUMN_NAMES.items():
        if role in found:
            continue
        for name in names:
            key = name.replace("_", " ")
            if key in cleaned and cleaned.index(key) not in found.values():
                found[role] = cleaned.index(key)
                break
    for role, words in _CONTAINS.items():
        if role in found:
            continue
        for index, text in enumerate(cleaned):
            if index not in found.values() and any(w in text for w in words):
                found[role] = index
                break
    missing = [role for role in REQUIRED if role not in found]
    if missing:
        raise LogUnreadable(
            f"cannot tell which column holds {', '.join(missing)}; the header has: {', '.join(header)}. "
            "Name the columns (--case-column, --activity-column, --time-column)"
        )
    return found


def read_csv(
    source: str | Path | IO[bytes],
    mapper: ActivityMapper,
    progress: Progress | None = None,
    columns: dict[str, str] | None = None,
    encoding: str | None = None,
    max_bytes: int = MAX_LOG_BYTES,
    ended: bool = False,
) -> ImportResult:
    """Read a CSV log with a header row (comment lines starting with ``#`` before it are skipped).
    Rows whose ``lifecycle`` column says other than ``complete`` are skipped, as in XES.

    The encoding is UTF-8 (with or without BOM) or, when that fails on the first 64 KB, GB18030;
    the delimiter is a comma, semicolon or tab. With ``ended`` every case counts as finished.
    """
    builder = EventLogBuilder()
    result = ImportResult(EventLog())
    handle, close = _open(source)
    try:
        stream = io.BufferedReader(_Counting(handle, max_bytes, progress), buffer_size=1 << 16)
        head = stream.peek(1 << 16)[: 1 << 16]
        encoding = encoding or _guess_encoding(head)
        text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
        _read_csv_rows(text, builder, result, mapper, columns, head, encoding)
    except UnicodeDecodeError as exc:
        raise LogUnreadable(f"the file is not valid {encoding} text: {exc.reason}") from exc
    finally:
        if close:
            handle.close()
    result.log = builder.build(ended=ended)
    return result


def _guess_encoding(head: bytes) -> str:
    try:
        head.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut at the end of the sample
            return "utf-8-sig"
        return "gb18030"


def _read_csv_rows(
    text: IO[str],
    builder: EventLogBuilder,
    result: ImportResult,
    mapper: ActivityMapper,
    columns: dict[str, str] | None,
    head: bytes,
    encoding: str,
) -> None:
    line_offset = 0
    first = text.readline()
    line_offset += 1
    while first.startswith("#") or not first.strip():
        if not first:
            raise LogUnreadable("the file is empty: no header row")
        first = text.readline()
        line_offset += 1
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise LogUnreadable(f"line {line_offset}: the header row is not CSV: {exc}") from exc
    index = detect_columns(header, columns)
    case_i, act_i, time_i = index["case"], index["activity"], index["timestamp"]
    res_i = index.get("resource")
    names = (header[act_i], header[time_i], header[res_i] if res_i is not None else "resource")
    cleaned = [normalize(h).lower() for h in header]
    start_i = cleaned.index("case_started") if "case_started" in cleaned else None
    end_i = cleaned.index("case_end") if "case_end" in cleaned else None
    life_i = next((cleaned.index(n) for n in ("lifecycle:transition", "lifecycle") if n in cleaned), None)
    described: set[str] = set()
    width = max(index.values()) + 1
    reader = csv.reader(text, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.read += 1
            result.reject(reader.line_num + line_offset, "row", f"not readable as CSV: {exc}")
            continue
        line = reader.line_num + line_offset
        if not row or not any(cell.strip() for cell in row):
            continue
        result.read += 1
        if result.read > MAX_EVENTS:
            raise LogUnreadable(f"the log holds more than {MAX_EVENTS} rows")
        if len(row) < width:
            result.reject(line, "row", f"only {len(row)} columns, expected at least {width}")
            continue
        case = row[case_i].strip()
        if not case:
            result.reject(line, header[case_i], "missing case id")
            continue
        if len(case) > MAX_FIELD:
            result.reject(line, header[case_i], f"longer than {MAX_FIELD} characters")
            continue
        if (start_i is not None or end_i is not None) and case not in described:
            described.add(case)
            _describe_case(builder, result, line, case, row, start_i, end_i, header)
        if life_i is not None and life_i < len(row) and row[life_i].strip().lower() not in ("", "complete"):
            result.skipped += 1  # a return or transfer in our own export, not a step done
            continue
        resource = row[res_i] if res_i is not None and res_i < len(row) else None
        _add_event(builder, result, mapper, line, case, row[act_i], row[time_i], resource, names)


def _describe_case(
    builder: EventLogBuilder,
    result: ImportResult,
    line: int,
    case: str,
    row: list[str],
    start_i: int | None,
    end_i: int | None,
    header: list[str],
) -> None:
    """Case start and end from the optional ``case_started``/``case_end`` columns (our CSV export)."""
    start = NO_TIME
    text = row[start_i].strip() if start_i is not None and start_i < len(row) else ""
    if text:
        try:
            start = parse_timestamp(text)
        except (ValueError, OverflowError):
            result.reject(line, header[start_i], "bad time stamp", text)
    end_text = row[end_i].strip() if end_i is not None and end_i < len(row) else ""
    end = None if not end_text else ("" if end_text == "ended" else end_text)
    builder.case(case, start, end)
