"""Conformance of recorded cases against a flow's model: skipped, swapped, repeated and overdue steps.

Each case is replayed once against the compiled tables of :mod:`engine.audit.model`.

Sequential models (no concurrency) are replayed as a state machine whose state is the last step:

- a step that may directly follow the state conforms;
- a step already done that may not follow now is a **repeat** (loops in the model make a return legal);
- a step reachable only through other steps means those steps (the ones on every path) were
  **skipped**, or **swapped** when they come later in the case;
- a step that can no longer happen at all after the state is out of order: a **swap**.

Models with parallel branches use precedence instead: a step whose required predecessors (``must``)
are not all done has them skipped or swapped; a repeat is legal only after the loop was travelled.

A step is **overdue** when it completed later than its ``pl:timeLimit`` after it was enabled: after
the previous step of the case (or the case's start) in sequential models, after the latest step that
enables it in parallel ones. Due times follow :func:`engine.calendar.due_at`.

A sanctioned return (退回, recorded in our own histories as a note of the log) rewinds the case to
where it stood before the latest completion of the step it returned to: doing that step again, and
the steps after it, is a second pass, not a repeat or a swap. The step is enabled again at the moment
of the return. A step done again without a return remains a repeat.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.audit.eventlog import EventLog, to_datetime
from engine.audit.model import ProcessModel, empty_model
from engine.calendar import CST, WorkCalendar

SKIP, SWAP, REPEAT, OVERDUE = "skip", "swap", "repeat", "overdue"
KINDS = (SKIP, SWAP, REPEAT, OVERDUE)
_SKIP, _SWAP, _REPEAT, _OVERDUE = range(4)
KIND_NAMES_ZH = {SKIP: "跳过", SWAP: "顺序颠倒", REPEAT: "重复", OVERDUE: "超时"}

_DAY = 86400.0
_CST_OFFSET = 8 * 3600.0


@dataclass(slots=True)
class Deviation:
    """One finding: ``step`` is the step concerned (the skipped one, the one done too early, the
    repeated one, the late one); ``event`` is the 1-based position in the case of the event where it
    was seen (one past the last event for steps missing at the end)."""

    case: str
    kind: str
    step: str
    step_name: str
    event: int
    at: datetime | None
    resource: str | None
    other: str | None = None  # swap: the step that should have come first; skip: alternatives
    other_name: str | None = None
    enabled: datetime | None = None  # overdue: when the step became enabled
    due: datetime | None = None  # overdue: its due time

    def as_dict(self) -> dict[str, Any]:
        late = (self.at - self.due).total_seconds() if self.due and self.at else None
        return {
            "case": self.case,
            "kind": self.kind,
            "step": self.step,
            "step_name": self.step_name,
            "event": self.event,
            "at": _iso(self.at),
            "resource": self.resource,
            "other": self.other,
            "other_name": self.other_name,
            "enabled": _iso(self.enabled),
            "due": _iso(self.due),
            "late_seconds": late,
        }

    def describe(self) -> str:
        """One line in Chinese, as an auditor reads it."""
        who = f"（{self.resource}）" if self.resource else ""
        if self.kind == SKIP:
            if self.other:
                return f"跳过“{self.other_name or self.other}”中的一步{who}"
            return f"跳过“{self.step_name}”{who}"
        if self.kind == SWAP:
            return f"“{self.step_name}”在“{self.other_name}”之前办理{who}"
        if self.kind == REPEAT:
            return f"“{self.step_name}”重复办理{who}"
        late = _duration_zh(self.at - self.due) if self.at and self.due else ""
        return f"“{self.step_name}”超时{late}{who}"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _duration_zh(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400}天{(seconds % 86400) // 3600}小时"
    if seconds >= 3600:
        return f"{seconds // 3600}小时{(seconds % 3600) // 60}分"
    return f"{max(seconds // 60, 1)}分"


@dataclass
class StepStats:
    """Per-step figures gathered while checking (for heatmaps)."""

    count: int = 0
    cases: int = 0
    reworked: int = 0  # occurrences beyond the first in a case, legal or not
    returned: int = 0  # sanctioned returns (退回) to this step
    durations: list[float] = field(default_factory=list)


@dataclass
class Findings:
    """The outcome of a check: raw records ``(case, kind, event index, step, extra)`` plus views.

    Step indices in ``raw`` refer to the case's model: ``models[case_model[case]]`` (one model unless
    several flow versions were checked together, see :func:`combine`).
    """

    log: EventLog
    models: list[ProcessModel]
    raw: list[tuple[int, int, int, int, Any]]
    cases_checked: int
    events_checked: int
    unknown_events: int = 0
    stats: dict[str, StepStats] | None = None
    case_model: dict[int, int] | None = None
    checked: Iterable[int] = ()

    @property
    def model(self) -> ProcessModel:
        return self.models[-1]

    def model_of(self, case: int) -> ProcessModel:
        if self.case_model is None:
            return self.models[0]
        return self.models[self.case_model.get(case, 0)]

    def counts(self) -> dict[str, int]:
        counter = Counter(r[1] for r in self.raw)
        return {kind: counter.get(code, 0) for code, kind in enumerate(KINDS)}

    def deviating_cases(self) -> int:
        return len({r[0] for r in self.raw})

    def deviations(self) -> list[Deviation]:
        return [self.deviation(r) for r in sorted(self.raw, key=lambda r: (r[0], r[2], r[1]))]

    def by_case(self) -> dict[str, list[Deviation]]:
        result: dict[str, list[Deviation]] = {}
        for deviation in self.deviations():
            result.setdefault(deviation.case, []).append(deviation)
        return result

    def of_case(self, case: int) -> list[Deviation]:
        return [self.deviation(r) for r in sorted(self.raw, key=lambda r: (r[2], r[1])) if r[0] == case]

    def summary(self) -> dict[str, Any]:
        return {
            "flow": self.model.key,
            "cases": self.cases_checked,
            "events": self.events_checked,
            "unknown_events": self.unknown_events,
            "deviating_cases": self.deviating_cases(),
            "deviations": self.counts(),
        }

    def deviation(self, record: tuple[int, int, int, int, Any]) -> Deviation:
        """The :class:`Deviation` of one raw record."""
        case, code, event, act, extra = record
        log, model = self.log, self.model_of(case)
        lo, hi = log.offsets[case], log.offsets[case + 1]
        inside = event < hi
        shown = event if inside else hi - 1
        at = to_datetime(log.times[shown]) if shown >= lo else None
        deviation = Deviation(
            case=log.case_ids[case],
            kind=KINDS[code],
            step=model.step_of(act),
            step_name=model.name(act),
            event=event - lo + 1,
            at=at,
            resource=log.resource(event) if inside else None,
        )
        if code == _SWAP and extra >= 0:
            deviation.other, deviation.other_name = model.step_of(extra), model.name(extra)
        elif code == _SKIP and extra:
            steps = [i for i in range(len(model.steps)) if extra >> i & 1]
            deviation.other = "|".join(model.step_of(i) for i in steps)
            deviation.other_name = "、".join(model.name(i) for i in steps)
        elif code == _OVERDUE:
            enabled, due = extra
            deviation.enabled, deviation.due = to_datetime(enabled), to_datetime(due)
        return deviation


def combine(log: EventLog, parts: list[Findings], key: str = "") -> Findings:
    """One view over checks of the same log's cases against several models (flow versions)."""
    if len(parts) == 1:
        return parts[0]
    raw: list[tuple[int, int, int, int, Any]] = []
    case_model: dict[int, int] = {}
    stats: dict[str, StepStats] | None = {} if any(p.stats is not None for p in parts) else None
    models = []
    for index, part in enumerate(parts):
        models.append(part.model)
        raw.extend(part.raw)
        for case in part.checked:
            case_model[case] = index
        if stats is not None and part.stats:
            for step, figures in part.stats.items():
                merged = stats.setdefault(step, StepStats())
                merged.count += figures.count
                merged.cases += figures.cases
                merged.reworked += figures.reworked
                merged.returned += figures.returned
                merged.durations.extend(figures.durations)
    return Findings(
        log,
        models or [empty_model(key)],
        raw,
        sum(p.cases_checked for p in parts),
        sum(p.events_checked for p in parts),
        sum(p.unknown_events for p in parts),
        stats,
        case_model,
    )


class _WorkingDue:
    """Due times in working days, cached per local start day (deadline = end of the N-th working day)."""

    def __init__(self, calendar: WorkCalendar | None):
        self.calendar = calendar
        self.cache: dict[tuple[int, int], float] = {}

    def __call__(self, enabled: float, days: int) -> float:
        day = int((enabled + _CST_OFFSET) // _DAY)
        key = (day, days)
        due = self.cache.get(key)
        if due is None:
            calendar = self.calendar
            if calendar is None:
                from engine.runtime.steps import work_calendar

                calendar = self.calendar = work_calendar()
            start = datetime.fromtimestamp(day * _DAY - _CST_OFFSET, UTC).astimezone(CST)
            due = self.cache[key] = calendar.add_working_days(start, days).timestamp()
        return due


def check_log(
    log: EventLog,
    model: ProcessModel,
    cases: Iterable[int] | None = None,
    calendar: WorkCalendar | None = None,
    collect_stats: bool = False,
) -> Findings:
    """Check every case of ``log`` (or the given case indices) against ``model``."""
    table = [model.index.get(name, -1) for name in log.activity_names]
    acts = [table[a] for a in log.acts]
    case_range = range(log.case_count) if cases is None else list(cases)
    ends = [-1 if end is None else model.end_target(end) for end in log.case_end]
    raw: list[tuple[int, int, int, int, Any]] = []
    stats = [StepStats() for _ in model.steps] if collect_stats else None
    returns = _returns(log, model, case_range)
    replay = _replay_sequential if model.sequential else _replay_parallel
    due = _WorkingDue(calendar)
    replay(model, acts, log.times, log.offsets, log.case_start, ends, case_range, raw, due, stats, returns)
    if cases is None:
        events, unknown = len(acts), acts.count(-1)
    else:
        events = sum(log.offsets[c + 1] - log.offsets[c] for c in case_range)
        unknown = sum(1 for c in case_range for i in log.events(c) if acts[i] < 0)
    findings = Findings(log, [model], raw, len(case_range), events, unknown, checked=case_range)
    if stats is not None:
        findings.stats = {model.steps[a]: figures for a, figures in enumerate(stats)}
    return findings


Returns = dict[int, list[tuple[int, int, float]]]  # case -> (position in case, step index, time)


def _returns(log: EventLog, model: ProcessModel, case_range: Iterable[int]) -> Returns:
    """The sanctioned returns of the checked cases, with the model's index of the step returned to."""
    if not log.notes:
        return {}
    wanted = set(case_range)
    result: Returns = {}
    for case in log.notes:
        if case not in wanted:
            continue
        found = [(n.pos, model.index[n.target], n.at) for n in log.returns(case) if n.target in model.index]
        if found:
            result[case] = found
    return result


def _rewind_to(acts: list[int], lo: int, stop: int, target: int) -> int:
    """Index of the case's latest completion of ``target`` before ``stop``, or -1."""
    for i in range(stop - 1, lo - 1, -1):
        if acts[i] == target:
            return i
    return -1


def _later(acts: list[int], start: int, stop: int, act: int) -> bool:
    for i in range(start, stop):
        if acts[i] == act:
            return True
    return False


def _bits(value: int) -> list[int]:
    result = []
    i = 0
    while value:
        if value & 1:
            result.append(i)
        value >>= 1
        i += 1
    return result


Raw = list[tuple[int, int, int, int, Any]]


def _replay_sequential(
    model: ProcessModel,
    acts: list[int],
    times: list[float],
    offsets: list[int],
    starts: list[float],
    ends: list[int],
    case_range: Iterable[int],
    out: Raw,
    working_due: _WorkingDue,
    stats: list[StepStats] | None,
    returns: Returns | None = None,
) -> None:
    df, reach, between = model.df, model.reach, model.between
    limits, working = model.limit_seconds, model.working_days
    start_state = model.start
    append = out.append
    returns = returns or {}
    for c in case_range:
        lo = offsets[c]
        hi = offsets[c + 1]
        s = start_state
        done = 0
        seen = 0  # every step done in the case, whatever a return rewound (for the rework figures)
        pending = 0
        prev = starts[c]
        rets = returns.get(c)
        snaps: list[tuple[int, int, int]] = []
        for i in range(lo, hi + (1 if rets else 0)):
            if rets:
                while rets and rets[0][0] <= i - lo:
                    _pos, target, when = rets.pop(0)
                    j = _rewind_to(acts, lo, i, target)
                    if j >= 0:
                        s, done, pending = snaps[j - lo]
                        prev = when
                    if stats is not None:
                        stats[target].returned += 1
                snaps.append((s, done, pending))
            if i == hi:
                break
            a = acts[i]
            if a < 0:
                continue
            t = times[i]
            bit = 1 << a
            if pending & bit:
                pending ^= bit
                if df[s] & bit:
                    s = a
            elif df[s] & bit:
                s = a
            elif done & bit:
                append((c, _REPEAT, i, a, -1))
            elif reach[s] & bit:
                missing = between[s][a]
                if missing:
                    for m in _bits(missing):
                        if _later(acts, i + 1, hi, m):
                            append((c, _SWAP, i, a, m))
                            pending |= 1 << m
                        else:
                            append((c, _SKIP, i, m, 0))
                else:
                    options = [b for b in _bits(df[s] & ~(-1 << start_state)) if reach[b] & bit]
                    append((c, _SKIP, i, options[0] if options else a, sum(1 << b for b in options)))
                s = a
            else:
                append((c, _SWAP, i, a, s if s != start_state else -1))
            limit = limits[a]
            if limit:
                if t - prev > limit:
                    append((c, _OVERDUE, i, a, (prev, prev + limit)))
            elif working[a] and prev == prev:
                due = working_due(prev, working[a])
                if t > due:
                    append((c, _OVERDUE, i, a, (prev, due)))
            if stats is not None:
                _count(stats[a], seen & bit, t - prev)
            prev = t
            done |= bit
            seen |= bit
        end = ends[c]
        if end >= 0 and not df[s] >> end & 1 and reach[s] >> end & 1:
            missing = between[s][end]
            for m in _bits(missing):
                append((c, _SKIP, hi, m, 0))
        if stats is not None:
            for a in _bits(done):
                stats[a].cases += 1


def _replay_parallel(
    model: ProcessModel,
    acts: list[int],
    times: list[float],
    offsets: list[int],
    starts: list[float],
    ends: list[int],
    case_range: Iterable[int],
    out: Raw,
    working_due: _WorkingDue,
    stats: list[StepStats] | None,
    returns: Returns | None = None,
) -> None:
    must, loopmates, pred = model.must, model.loopmates, model.pred
    limits, working = model.limit_seconds, model.working_days
    start_state = model.start
    append = out.append
    returns = returns or {}
    for c in case_range:
        lo = offsets[c]
        hi = offsets[c + 1]
        done = 0
        seen = 0  # every step done in the case, whatever a return rewound (for the rework figures)
        excused = 0  # missing steps already reported, so later steps do not report them again
        stamp: dict[int, int] = {}
        finished: dict[int, float] = {start_state: starts[c]}
        prev = starts[c]
        rets = returns.get(c)
        snaps: list[tuple[int, int, dict[int, int], dict[int, float]]] = []
        reopened: dict[int, float] = {}  # steps returned to: enabled again at the return
        for i in range(lo, hi + (1 if rets else 0)):
            if rets:
                while rets and rets[0][0] <= i - lo:
                    _pos, target, when = rets.pop(0)
                    j = _rewind_to(acts, lo, i, target)
                    if j >= 0:
                        done, excused, saved_stamp, saved_finished = snaps[j - lo]
                        stamp, finished = dict(saved_stamp), dict(saved_finished)
                        reopened[target] = when
                    if stats is not None:
                        stats[target].returned += 1
                snaps.append((done, excused, dict(stamp), dict(finished)))
            if i == hi:
                break
            a = acts[i]
            if a < 0:
                continue
            t = times[i]
            bit = 1 << a
            if done & bit:
                mates = loopmates[a]
                if mates & bit or any(stamp.get(b, -1) > stamp[a] for b in _bits(mates)):
                    done &= ~mates
                else:
                    append((c, _REPEAT, i, a, -1))
            missing = must[a] & ~(done | excused)
            if missing:
                excused |= missing
                for m in _bits(missing):
                    if _later(acts, i + 1, hi, m):
                        append((c, _SWAP, i, a, m))
                    else:
                        append((c, _SKIP, i, m, 0))
            enabled = finished.get(a, math.nan)  # a repeat is enabled again by its own completion
            for p in pred[a]:
                when = finished.get(p)
                if when is not None and when == when and not when <= enabled:
                    enabled = when
            if enabled != enabled:
                enabled = prev
            if reopened:
                again = reopened.pop(a, None)
                if again is not None and not again <= enabled:
                    enabled = again
            limit = limits[a]
            if limit:
                if t - enabled > limit:
                    append((c, _OVERDUE, i, a, (enabled, enabled + limit)))
            elif working[a] and enabled == enabled:
                due = working_due(enabled, working[a])
                if t > due:
                    append((c, _OVERDUE, i, a, (enabled, due)))
            if stats is not None:
                _count(stats[a], seen & bit, t - enabled)
            prev = t
            done |= bit
            seen |= bit
            stamp[a] = i
            finished[a] = t
        end = ends[c]
        if end >= 0:
            for m in _bits(must[end] & ~(done | excused)):
                append((c, _SKIP, hi, m, 0))
        if stats is not None:
            for a in set(acts[lo:hi]):
                if a >= 0:
                    stats[a].cases += 1


def _count(stats: StepStats, again: int, duration: float) -> None:
    stats.count += 1
    if again:
        stats.reworked += 1
    if duration == duration:
        stats.durations.append(duration)
