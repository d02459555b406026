"""Conformance of recorded cases against a flow's model: skipped, swapped, repeated, inserted and
overdue steps.

Two engines, both exact on whether a case conforms:

- **Sequential flows** (no concurrency: every shipped flow today) are replayed once against the
  compiled tables of :mod:`engine.audit.reference_model` as a state machine whose state is the last step:

  - a step that may directly follow the state conforms;
  - a step already done that may not follow now is a **repeat** (loops in the model make a return legal);
  - a step reachable only through other steps means those steps (the ones on every path) were
    **skipped**, or **swapped** when they come later in the case;
  - a step that can no longer happen at all after the state is out of order: a **swap**.

- **Every other model** (parallel or inclusive branches, and every model read from a BPMN file by
  :mod:`engine.audit.descriptive`) is checked by optimal alignments against its Petri net
  (:mod:`engine.audit.alignment`): the fewest skipped and inserted steps that explain the case,
  named as in :class:`_Aligned` (skip, swap, repeat, and **insert** for a step done where the model
  has no place for it). Identical sequences are aligned once.

A step is **overdue** when it completed later than its ``pl:timeLimit`` after it was enabled: after
the previous step of the case (or the case's start) in sequential models, when its last input
token was produced in aligned ones. Due times follow :func:`engine.calendar.due_at`.

A sanctioned return (退回, recorded in our own histories as a note of the log) rewinds the case to
where it stood before the latest completion of the step it returned to: doing that step again, and
the steps after it, is a second pass, not a repeat or a swap. The step is enabled again at the moment
of the return. A step done again without a return remains a repeat.

Every check reports its time: in total and per case (mean, maximum), in ``summary().timing``.
The exact search keeps within a :class:`Budget` of wall-clock seconds per variant and per check; a
case it could not settle within its bounds (states, tokens, time) is listed in
``summary().unchecked`` with the reason, never guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from engine.audit.alignment import LOG, MODEL, SOURCE, SYNC, Alignment, align
from engine.audit.eventlog import EventLog, to_datetime
from engine.audit.reference_model import ProcessModel, empty_model
from engine.calendar import CST, WorkCalendar
from engine.texts import text, texts

SKIP, SWAP, REPEAT, OVERDUE, INSERT = "skip", "swap", "repeat", "overdue", "insert"
KINDS = (SKIP, SWAP, REPEAT, OVERDUE, INSERT)
_SKIP, _SWAP, _REPEAT, _OVERDUE, _INSERT = range(5)


def kind_names(language: str = "zh") -> dict[str, str]:
    """What each kind of deviation is called (``audit.deviation_kinds`` of ``engine/texts``)."""
    return texts("audit.deviation_kinds", language)

# Wall-clock budgets of the exact search (alignments): per variant (one distinct activity sequence)
# and per check (all the cases of one log). A case whose variant ran out of either is listed in
# ``summary().unchecked`` with the reason, never guessed. The command line's --variant-seconds and
# --budget-seconds and the web's AUDIT_VARIANT_SECONDS and AUDIT_JOB_SECONDS change them.
VARIANT_SECONDS = 10.0
JOB_SECONDS = 600.0

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

    def describe(self, language: str = "zh") -> str:
        """One line, as an auditor reads it (the sentences are ``audit.finding`` of ``engine/texts``)."""
        who = text("audit.finding.who", language, resource=self.resource) if self.resource else ""
        if self.kind == SKIP and self.other:
            return text("audit.finding.skip_among", language, other=self.other_name or self.other, who=who)
        other = self.other_name
        late = _duration(self.at - self.due, language) if self.kind == OVERDUE and self.at and self.due else ""
        return text(f"audit.finding.{self.kind}", language, step=self.step_name, other=other, late=late, who=who)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _duration(delta: timedelta, language: str) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return text("audit.finding.days", language, days=seconds // 86400, hours=(seconds % 86400) // 3600)
    if seconds >= 3600:
        return text("audit.finding.hours", language, hours=seconds // 3600, minutes=(seconds % 3600) // 60)
    return text("audit.finding.minutes", language, minutes=max(seconds // 60, 1))


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a check took, in milliseconds: in all, and per case on average and at most."""

    total_ms: float
    mean_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class FindingsSummary:
    """What a check found: ``deviations`` counted by kind, ``method`` (``replay`` or ``alignment``),
    and the cases it could not settle (``unchecked``: case id -> reason)."""

    flow: str
    cases: int
    events: int
    unknown_events: int
    deviating_cases: int
    deviations: dict[str, int]
    method: str
    timing: Timing
    unchecked: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, ``unchecked`` only when some case was left unchecked."""
        result = asdict(self)
        if not self.unchecked:
            del result["unchecked"]
        return result


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
    # cases the exact check could not settle (the search hit its bound): (case index, reason)
    unchecked: list[tuple[int, str]] = field(default_factory=list)
    case_ms: list[float] = field(default_factory=list)  # time spent per checked case, milliseconds

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

    def timing(self) -> Timing:
        """Total time of the check and per-case mean and maximum, in milliseconds."""
        times = self.case_ms
        total = sum(times)
        return Timing(
            total_ms=round(total, 3),
            mean_ms=round(total / len(times), 4) if times else 0.0,
            max_ms=round(max(times), 3) if times else 0.0,
        )

    def summary(self) -> FindingsSummary:
        return FindingsSummary(
            flow=self.model.key,
            cases=self.cases_checked,
            events=self.events_checked,
            unknown_events=self.unknown_events,
            deviating_cases=self.deviating_cases(),
            deviations=self.counts(),
            method="alignment" if any(m.net is not None for m in self.models) else "replay",
            timing=self.timing(),
            unchecked={self.log.case_ids[c]: reason for c, reason in self.unchecked},
        )

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
            deviation.other_name = text("audit.list_separator").join(model.name(i) for i in steps)
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
    unchecked: list[tuple[int, str]] = []
    case_ms: list[float] = []
    for index, part in enumerate(parts):
        models.append(part.model)
        raw.extend(part.raw)
        unchecked.extend(part.unchecked)
        case_ms.extend(part.case_ms)
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
        unchecked=unchecked,
        case_ms=case_ms,
    )


@dataclass(frozen=True)
class Budget:
    """Wall-clock seconds the exact search may spend on one variant and on the whole check."""

    variant_seconds: float = VARIANT_SECONDS
    job_seconds: float = JOB_SECONDS

    def __post_init__(self) -> None:
        for name in ("variant_seconds", "job_seconds"):
            value = getattr(self, name)
            if not value > 0 or math.isinf(value):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


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
    budget: Budget | None = None,
) -> Findings:
    """Check every case of ``log`` (or the given case indices) against ``model``; the exact search
    of a model with a net keeps within ``budget`` (default :class:`Budget`)."""
    table = [model.index.get(name, -1) for name in log.activity_names]
    acts = [table[a] for a in log.acts]
    case_range = range(log.case_count) if cases is None else list(cases)
    ends = [-1 if end is None else model.end_target(end) for end in log.case_end]
    raw: list[tuple[int, int, int, int, Any]] = []
    stats = [StepStats() for _ in model.steps] if collect_stats else None
    returns = _returns(log, model, case_range)
    due = _WorkingDue(calendar)
    unchecked: list[tuple[int, str]] = []
    case_ms: list[float] = []
    if model.net is not None:
        ended = [end is not None for end in log.case_end]
        aligned = _Aligned(model, acts, log, ended, due, stats, returns, budget or Budget())
        for c in case_range:
            began = perf_counter()
            reason = aligned.case(c, raw)
            if reason:
                unchecked.append((c, reason))
            case_ms.append((perf_counter() - began) * 1000)
    else:
        began = perf_counter()
        _replay_sequential(
            model, acts, log.times, log.offsets, log.case_start, ends, case_range, raw, due, stats, returns
        )
        spent = (perf_counter() - began) * 1000
        count = len(case_range)
        case_ms = [spent / count] * count if count else []  # one tight loop: the mean per case
    if cases is None:
        events, unknown = len(acts), acts.count(-1)
    else:
        events = sum(log.offsets[c + 1] - log.offsets[c] for c in case_range)
        unknown = sum(1 for c in case_range for i in log.events(c) if acts[i] < 0)
    findings = Findings(
        log, [model], raw, len(case_range), events, unknown, checked=case_range, unchecked=unchecked, case_ms=case_ms
    )
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


class _Aligned:
    """Cases checked by optimal alignments against ``model.net`` (see :mod:`engine.audit.alignment`).

    Moves become findings: a model move is a **skip** (seen at the next event of the case, who and
    when from it; one past the last event at the end); a log move is an inserted step: a **repeat**
    when the case did that step before, else an **insert**. A log move and a model move of the same
    step with a synchronous move between them are one **swap**: done too early (the inserted one
    comes first; ``other`` is the first step done between) or done too late (the skipped one comes
    first; the finding names the first step done between, done before it). Pairs are formed in the
    order of the log moves, each with the nearest free model move. Overdue steps are found on the
    synchronous moves: a step is enabled when the last token it consumes was produced (tokens carry
    the time of the event that produced them; silent and skipped steps pass the time on).
    """

    def __init__(self, model, acts, log: EventLog, ended, working_due, stats, returns, budget: Budget):
        self.model, self.net, self.acts, self.log = model, model.net, acts, log
        self.budget = budget
        self.deadline = perf_counter() + budget.job_seconds
        self.ended, self.working_due, self.stats, self.returns = ended, working_due, stats, returns
        self.memo: dict[tuple[tuple[int, ...], bool], Any] = {}
        # token times matter only for time limits and step durations
        self.timed = stats is not None or any(model.limit_seconds) or any(model.working_days)

    def case(self, c: int, out: Raw) -> str | None:
        """Append the case's findings to ``out``; a reason when the case could not be checked."""
        log, acts, model, stats = self.log, self.acts, self.model, self.stats
        lo, hi = log.offsets[c], log.offsets[c + 1]
        rets = list(self.returns.get(c, ()))
        positions: list[int] = []
        reopen: list[tuple[int, int, float]] = []
        free = model.free
        for i in range(lo, hi + 1):
            while rets and rets[0][0] <= i - lo:
                _pos, target, when = rets.pop(0)
                for k in range(len(positions) - 1, -1, -1):
                    if acts[positions[k]] == target:
                        del positions[k:]
                        reopen.append((i, target, when))
                        break
                if stats is not None:
                    stats[target].returned += 1
            if i == hi:
                break
            a = acts[i]
            if a >= 0 and not free >> a & 1:
                positions.append(i)
        if stats is not None:  # every step done counts, whatever a return erased (durations: below)
            seen: set[int] = set()
            for i in range(lo, hi):
                a = acts[i]
                if a >= 0:
                    stats[a].count += 1
                    stats[a].reworked += a in seen
                    seen.add(a)
        trace = tuple(acts[i] for i in positions)
        key = (trace, self.ended[c])
        result = self.memo.get(key)
        if result is None:
            result = self.memo[key] = self._align(trace, self.ended[c])
        if result.bounded:
            return result.reason
        self._explain(c, lo, hi, positions, trace, result.moves, reopen, out)
        return None

    def _align(self, trace: tuple[int, ...], ended: bool) -> Alignment:
        """The variant's alignment within the time left of its own budget and of the check's."""
        variant, left = self.budget.variant_seconds, self.deadline - perf_counter()
        if left <= 0 or left < variant:
            job = f"not checked: the check's time budget of {self.budget.job_seconds:g} s ran out"
            if left <= 0:
                return Alignment(-1, [], True, 0, job, timed_out=True)
            result = align(self.net, trace, ended, seconds=left)
            if result.timed_out:
                result.reason = job
            return result
        return align(self.net, trace, ended, seconds=variant)

    def _explain(self, c, lo, hi, positions, trace, moves, reopen, out: Raw) -> None:
        log, model, net, stats = self.log, self.model, self.net, self.stats
        times = log.times
        transitions = net.transitions
        limits, working = model.limit_seconds, model.working_days

        def event(k: int) -> int:
            return positions[k] if k < len(positions) else hi

        # pairs of an inserted and a skipped step of the same activity: swaps
        partner: dict[int, int] = {}
        skipped: dict[int, list[int]] = {}  # activity -> its model moves
        syncs_before = [0]  # number of synchronous moves before each move
        for m, (kind, t, _k) in enumerate(moves):
            if kind == MODEL:
                skipped.setdefault(transitions[t].label, []).append(m)
            syncs_before.append(syncs_before[-1] + (kind == SYNC))
        if skipped:
            for m, (kind, _t, k) in enumerate(moves):
                if kind != LOG or trace[k] not in skipped:
                    continue
                best = None
                for n in skipped[trace[k]]:
                    low, high = min(m, n), max(m, n)
                    if n in partner or syncs_before[high] == syncs_before[low + 1]:
                        continue  # taken, or no step done between: not a swap
                    if best is None or abs(n - m) < abs(best - m):
                        best = n
                if best is not None:
                    partner[m], partner[best] = best, m
        start = log.case_start[c]
        timed = self.timed
        tokens: dict[int, list[float]] = {SOURCE: [start]}
        prev = start
        done: set[int] = set()
        reopened: dict[int, float] = {}
        for m, (kind, t, k) in enumerate(moves):
            if kind == LOG:
                a = trace[k]
                i = positions[k]
                if m in partner:
                    n = partner[m]
                    if n > m:
                        other = next(
                            (transitions[moves[s][1]].label for s in range(m + 1, n) if moves[s][0] == SYNC), -1
                        )
                        out.append((c, _SWAP, i, a, other))
                elif a in done:
                    out.append((c, _REPEAT, i, a, -1))
                else:
                    out.append((c, _INSERT, i, a, -1))
                if stats is not None and prev == prev:
                    stats[a].durations.append(times[i] - prev)
                done.add(a)
                prev = times[i]
                continue
            transition = transitions[t]
            enabled = math.nan
            if timed:
                for p in transition.pre:
                    queue = tokens.get(p)
                    when = queue.pop(0) if queue else math.nan
                    if when == when and not when <= enabled:
                        enabled = when
            if kind == SYNC:
                a = transition.label
                i = positions[k]
                at = times[i]
                if enabled != enabled:
                    enabled = prev
                while reopen and reopen[0][0] <= i:
                    _i, target, when = reopen.pop(0)
                    reopened[target] = when
                again = reopened.pop(a, None)
                if again is not None and not again <= enabled:
                    enabled = again  # returned to (退回): enabled again at the return
                limit = limits[a]
                if limit:
                    if at - enabled > limit:
                        out.append((c, _OVERDUE, i, a, (enabled, enabled + limit)))
                elif working[a] and enabled == enabled:
                    due = self.working_due(enabled, working[a])
                    if at > due:
                        out.append((c, _OVERDUE, i, a, (enabled, due)))
                if stats is not None and enabled == enabled:
                    stats[a].durations.append(at - enabled)
                done.add(a)
                prev = at
                produced = at
            else:
                produced = enabled
                if kind == MODEL:
                    a = transition.label
                    n = partner.get(m)
                    if n is None:
                        out.append((c, _SKIP, event(k), a, 0))
                    elif n > m:  # skipped here, done later: the first step done between came too early
                        first = next(s for s in range(m + 1, n) if moves[s][0] == SYNC)
                        step = transitions[moves[first][1]].label
                        out.append((c, _SWAP, positions[moves[first][2]], step, a))
            if timed:
                for p in transition.post:
                    tokens.setdefault(p, []).append(produced)
        if stats is not None:
            for a in set(trace):
                stats[a].cases += 1


def _count(stats: StepStats, again: int, duration: float) -> None:
    stats.count += 1
    if again:
        stats.reworked += 1
    if duration == duration:
        stats.durations.append(duration)
