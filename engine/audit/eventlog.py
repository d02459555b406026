"""Event logs in columns: one list per field, cases as offset ranges.

A log with 100,000 cases and 670,000 events holds a handful of lists instead of 670,000 objects,
which is what lets the conformance check run in a tight loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NO_TIME = math.nan
RETURNED, TRANSFERRED = "returned", "transferred"


@dataclass(slots=True)
class Note:
    """A recorded event that is not a step done: a return (退回) to ``target`` or a transfer (转办)
    to the user ``target``, made at ``step`` before the case's event at position ``pos``."""

    kind: str  # RETURNED or TRANSFERRED
    pos: int  # 0-based position within the case of the next step done
    at: float
    step: str
    target: str
    reason: str = ""
    actor: str | None = None
    seq: int | None = None


@dataclass
class EventLog:
    """Events grouped by case, each case sorted by time (ties keep their recorded order).

    ``case_end`` is None for a case still running (or not known to be finished), ``""`` for a
    finished case whose end event is unknown, else the end event's id.
    """

    case_ids: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=lambda: [0])
    acts: list[int] = field(default_factory=list)  # index into activity_names
    times: list[float] = field(default_factory=list)  # POSIX seconds
    resources: list[int] = field(default_factory=list)  # index into resource_names; 0 = nobody
    activity_names: list[str] = field(default_factory=list)
    resource_names: list[str] = field(default_factory=lambda: [""])
    case_start: list[float] = field(default_factory=list)  # NO_TIME when unknown
    case_end: list[str | None] = field(default_factory=list)
    case_attrs: list[dict[str, Any]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)  # log-level attributes (flow key, anchor…)
    # Our own histories only: the history event number (seq) of each event, and per case the events
    # that are not steps done (退回, 转办), each placed before the case's event at ``pos``.
    seqs: list[int] | None = None
    notes: dict[int, list[Note]] = field(default_factory=dict)

    def returns(self, case: int) -> list[Note]:
        """The case's sanctioned returns (退回), in order."""
        return [n for n in self.notes.get(case, ()) if n.kind == RETURNED]

    @property
    def case_count(self) -> int:
        return len(self.case_ids)

    @property
    def event_count(self) -> int:
        return len(self.acts)

    def events(self, case: int) -> range:
        return range(self.offsets[case], self.offsets[case + 1])

    def activity(self, event: int) -> str:
        return self.activity_names[self.acts[event]]

    def resource(self, event: int) -> str | None:
        return self.resource_names[self.resources[event]] or None

    def time(self, event: int) -> datetime:
        return to_datetime(self.times[event])


def to_datetime(seconds: float) -> datetime | None:
    if seconds != seconds:  # NaN
        return None
    return datetime.fromtimestamp(seconds, UTC)


class Interner:
    """Stable small integers for repeated strings."""

    def __init__(self, names: list[str]):
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}

    def __call__(self, name: str) -> int:
        found = self.index.get(name)
        if found is None:
            found = self.index[name] = len(self.names)
            self.names.append(name)
        return found


class EventLogBuilder:
    """Collects events in any order and lays them out case by case, sorted by time."""

    def __init__(self) -> None:
        self._log = EventLog()
        self._activity = Interner(self._log.activity_names)
        self._resource = Interner(self._log.resource_names)
        self._cases: dict[str, list[tuple[float, int, int, int]]] = {}
        self._case_meta: dict[str, tuple[float, str | None, dict[str, Any]]] = {}
        self._seq = 0

    def add(self, case: str, activity: str, at: float, resource: str | None = None) -> None:
        self._seq += 1
        events = self._cases.get(case)
        if events is None:
            events = self._cases[case] = []
        events.append((at, self._seq, self._activity(activity), self._resource(resource or "")))

    def case(
        self, case: str, start: float = NO_TIME, end: str | None = None, attrs: dict[str, Any] | None = None
    ) -> None:
        """Case-level facts: when it started, whether (and where) it ended, attributes."""
        self._cases.setdefault(case, [])
        self._case_meta[case] = (start, end, attrs or {})

    def build(self, ended: bool = False) -> EventLog:
        """The log; with ``ended`` every case without an explicit end counts as finished."""
        log = self._log
        for case, events in self._cases.items():
            events.sort()
            start, end, attrs = self._case_meta.get(case, (NO_TIME, None, {}))
            if end is None and ended:
                end = ""
            log.case_ids.append(case)
            log.case_start.append(start)
            log.case_end.append(end)
            log.case_attrs.append(attrs)
            for at, _seq, act, res in events:
                log.acts.append(act)
                log.times.append(at)
                log.resources.append(res)
            log.offsets.append(len(log.acts))
        self._cases = {}
        return log
