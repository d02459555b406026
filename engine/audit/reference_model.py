"""The reference model of a flow for conformance checking, compiled into integer-indexed tables.

The SpiffWorkflow spec (subprocesses inlined) is reduced to a graph whose only visible nodes are the
user tasks (activities). From it, per activity and for the matter's start (state ``START``):

- ``df[s]``: the activities (and end events) that may directly follow ``s``;
- ``reach[s]``: everything that may follow ``s`` at any distance;
- ``between[s][t]``: the activities on *every* path from ``s`` to ``t`` (relative dominators);
- ``must[t]``: the activities on every path from the start to ``t``, where a parallel join requires
  all its branches (so they are unions there, intersections elsewhere).

Every set is an int bitset over target indices: activities ``0..n-1``, then ``STOP`` (any end,
bit ``n``), then one bit per top-level end event. A model without parallel or inclusive splits,
non-interrupting boundary events or ad-hoc parts is *sequential*: its state is the last activity,
and ``df`` decides conformance exactly (up to the data that chose a branch). Any other model also
gets ``net``, the Petri net of the same graph (:mod:`engine.audit.alignment`), and is checked by
optimal alignments against it; its precedence tables (``must``, ``loopmates``, ``pred``) are kept
for views only.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit, BpmnStartTask, StartEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import AdHocSubprocess, EventSubprocess, SubWorkflowTask

from engine import caches
from engine.audit import alignment
from engine.calendar import parse_time_limit
from engine.definitions.descriptions import StepInfo
from engine.errors import PowerlistError

MAX_INLINE_DEPTH = 8

# Node kinds of the flattened graph.
_PLAIN, _ACT, _AND = 0, 1, 2


@dataclass
class ProcessModel:
    """Conformance tables of one flow version. Indices: activities, then STOP, then end events."""

    key: str
    version: int | None
    steps: list[str]  # activity index -> step id
    names: list[str]  # activity index -> step name
    ends: list[str]  # end event ids; target index n + 1 + i
    sequential: bool
    df: list[int]  # state (activity index or START) -> bitset of targets that may directly follow
    reach: list[int]
    between: list[list[int]]  # [state][target] -> bitset of activities on every path
    must: list[int]  # [target] -> bitset of activities on every path from the start
    loopmates: list[int]  # activity -> other activities on a cycle through it (plus itself if self-loop)
    free: int  # activities that may happen at any time (event or ad-hoc subprocesses)
    pred: list[list[int]]  # activity -> states whose df holds it (START = len(steps))
    limit_seconds: list[float]  # activity -> calendar time limit in seconds, 0.0 when none or working days
    working_days: list[int]  # activity -> time limit in working days, 0 when none
    time_limits: list[str | None]  # activity -> the step's pl:timeLimit as written
    index: dict[str, int] = field(default_factory=dict)  # step id -> activity index
    # The Petri net checked by optimal alignments (engine.audit.alignment): models with parallel or
    # inclusive branches, and every model read from a file by engine.audit.descriptive.
    net: Any = None
    aliases: dict[str, str] = field(default_factory=dict)  # other task ids -> step id (same name)
    notes: list[str] = field(default_factory=list)  # what the reader noticed (descriptive models)

    @property
    def start(self) -> int:
        return len(self.steps)

    @property
    def stop(self) -> int:
        return len(self.steps)

    def end_target(self, end_id: str | None) -> int:
        """Target index of an end event, or STOP for an unknown or unnamed end."""
        if end_id and end_id in self.ends:
            return len(self.steps) + 1 + self.ends.index(end_id)
        return len(self.steps)

    def name(self, index: int) -> str:
        return self.names[index] if 0 <= index < len(self.names) else ""

    def step_of(self, index: int) -> str:
        return self.steps[index] if 0 <= index < len(self.steps) else ""


@dataclass
class _Graph:
    kind: list[int] = field(default_factory=list)
    act: list[int] = field(default_factory=list)  # activity index or -1
    succ: list[list[int]] = field(default_factory=list)
    end: dict[int, str] = field(default_factory=dict)  # node -> top-level end event id
    concurrent: bool = False
    free: set[str] = field(default_factory=set)  # step ids of free-floating activities
    gate: list[str] = field(default_factory=list)  # node -> flow-graph kind (engine.audit.alignment)
    ident: list[str] = field(default_factory=list)

    def add(self, kind: int = _PLAIN, act: int = -1, gate: str = alignment.EVENT, ident: str = "") -> int:
        self.kind.append(kind)
        self.act.append(act)
        self.succ.append([])
        self.gate.append(alignment.TASK if act >= 0 else gate)
        self.ident.append(ident)
        return len(self.kind) - 1


class _Builder:
    """Flattens a spec and its subprocess specs into one graph."""

    def __init__(self, subprocess_specs: dict[str, Any], step_index: dict[str, int]):
        self.subprocess_specs = subprocess_specs
        self.step_index = step_index
        self.graph = _Graph()

    def activity(self, step_id: str) -> int:
        if step_id not in self.step_index:
            self.step_index[step_id] = len(self.step_index)
        return self.step_index[step_id]

    def build(self, spec: Any, depth: int = 0, top: bool = False) -> tuple[int, int]:
        """Entry and exit node of ``spec`` (exit: its ``End`` task)."""
        g = self.graph
        specs = spec.task_specs
        node: dict[str, int] = {}
        out_node: dict[str, int] = {}
        inner: dict[str, tuple[int, int]] = {}
        loop_children = {ts.task_spec for ts in specs.values() if isinstance(ts, LoopTask)}
        for name, ts in specs.items():
            if name in loop_children:
                continue
            if isinstance(ts, LoopTask):
                child = specs.get(ts.task_spec)
                if child is not None and getattr(child, "manual", False):
                    index = self.activity(ts.bpmn_id or ts.task_spec)
                    node[name] = g.add(_ACT, index, ident=ts.bpmn_id or name)
                    g.succ[node[name]].append(node[name])  # the loop itself makes a repeat legal
                    continue
            if getattr(ts, "manual", False):
                node[name] = g.add(_ACT, self.activity(ts.bpmn_id or name), ident=ts.bpmn_id or name)
                continue
            if isinstance(ts, EventSubprocess | AdHocSubprocess):
                g.concurrent = True
                self._mark_free(ts, depth)
                node[name] = g.add()
                continue
            if isinstance(ts, SubWorkflowTask) and getattr(ts, "spec", None) in self.subprocess_specs:
                if depth >= MAX_INLINE_DEPTH:
                    node[name] = g.add()
                    continue
                node[name] = g.add()
                out_node[name] = g.add()
                inner[name] = self.build(self.subprocess_specs[ts.spec], depth + 1)
                continue
            kind = _AND if isinstance(ts, ParallelGateway) and len(ts.inputs) > 1 else _PLAIN
            node[name] = g.add(kind, gate=_gate(ts), ident=ts.bpmn_id or name)
            if top and isinstance(ts, EndEvent) and ts.bpmn_id:
                g.end[node[name]] = ts.bpmn_id

        for name, ts in specs.items():
            if name not in node:
                continue
            outputs = [o for o in ts.outputs if not isinstance(o, BoundaryEventJoin) and o.name in node]
            if len(outputs) > 1 and self._splits_concurrently(ts):
                g.concurrent = True
            if isinstance(ts, InclusiveGateway | ParallelGateway) and len(ts.inputs) > 1:
                g.concurrent = g.concurrent or isinstance(ts, InclusiveGateway)
            if isinstance(ts, BoundaryEvent) and not ts.cancel_activity:
                g.concurrent = True
            source = node[name]
            if name in inner:
                entry, exit_ = inner[name]
                g.succ[source].append(entry)
                g.succ[exit_].append(out_node[name])
                source = out_node[name]
            for output in outputs:
                g.succ[source].append(node[output.name])
        entry = node.get("Start")
        exit_ = node.get("End")
        if entry is None or exit_ is None:
            raise ValueError(f"spec '{getattr(spec, 'name', '?')}' has no Start or End task")
        return entry, exit_

    def _splits_concurrently(self, ts: Any) -> bool:
        exclusive = (ExclusiveGateway, EventBasedGateway, BoundaryEventSplit, BpmnStartTask, StartEventSplit)
        if isinstance(ts, exclusive):
            return False
        return True

    def _mark_free(self, ts: Any, depth: int) -> None:
        inner = self.subprocess_specs.get(getattr(ts, "spec", None) or "")
        if inner is None or depth >= MAX_INLINE_DEPTH:
            return
        for name, child in inner.task_specs.items():
            if getattr(child, "manual", False):
                step = child.bpmn_id or name
                self.activity(step)
                self.graph.free.add(step)
            elif isinstance(child, SubWorkflowTask):
                self._mark_free(child, depth + 1)


def compile_model(
    spec: Any,
    subprocess_specs: dict[str, Any],
    steps: list[StepInfo] | dict[str, StepInfo],
    key: str | None = None,
    version: int | None = None,
) -> ProcessModel:
    """Build the conformance tables of a flow from its SpiffWorkflow spec and its steps."""
    step_list = list(steps.values()) if isinstance(steps, dict) else list(steps)
    step_index = {s.id: i for i, s in enumerate(step_list)}
    builder = _Builder(subprocess_specs or {}, step_index)
    entry, exit_ = builder.build(spec, top=True)
    g = builder.graph
    ids = sorted(step_index, key=step_index.get)
    info = {s.id: s for s in step_list}
    n = len(ids)
    ends = sorted(set(g.end.values()))
    target_of_node: dict[int, int] = {exit_: n}
    for node_id, end_id in g.end.items():
        target_of_node[node_id] = n + 1 + ends.index(end_id)
    targets = n + 1 + len(ends)

    act_nodes: list[list[int]] = [[] for _ in range(n)]
    for node_id, act in enumerate(g.act):
        if act >= 0:
            act_nodes[act].append(node_id)

    def node_bits(node_id: int) -> int:
        bits = 0
        if g.act[node_id] >= 0:
            bits |= 1 << g.act[node_id]
        if node_id in target_of_node:
            bits |= 1 << target_of_node[node_id]
        return bits

    def successors(roots: list[int]) -> list[int]:
        return [s for r in roots for s in g.succ[r]]

    def direct(roots: list[int]) -> int:
        """Targets reachable from ``roots`` through invisible nodes only."""
        seen: set[int] = set()
        queue = deque(successors(roots))
        bits = 0
        while queue:
            node_id = queue.popleft()
            if node_id in seen:
                continue
            seen.add(node_id)
            bits |= node_bits(node_id)
            if g.act[node_id] < 0:
                queue.extend(g.succ[node_id])
        return bits

    def reachable(roots: list[int]) -> tuple[int, set[int]]:
        seen: set[int] = set()
        queue = deque(successors(roots))
        bits = 0
        while queue:
            node_id = queue.popleft()
            if node_id in seen:
                continue
            seen.add(node_id)
            bits |= node_bits(node_id)
            queue.extend(g.succ[node_id])
        return bits, seen

    states = [*act_nodes, [entry]]  # index n is START
    df = [direct(roots) for roots in states]
    reach = []
    between = []
    must: list[int] = [0] * targets
    for s, roots in enumerate(states):
        bits, seen = reachable(roots)
        reach.append(bits)
        between.append(_dominators(g, roots, seen, target_of_node, n, targets, union_at_joins=s == n))
        if s == n:
            must = between[-1]

    full = (1 << n) - 1
    free_bits = sum(1 << step_index[s] for s in g.free)
    loopmates = []
    for a in range(n):
        mates = 0
        for b in range(n):
            if b != a and reach[a] >> b & 1 and reach[b] >> a & 1:
                mates |= 1 << b
        if df[a] >> a & 1 or free_bits >> a & 1:
            mates |= 1 << a
        loopmates.append(mates & full)
    pred = [[s for s in range(n + 1) if df[s] >> a & 1] for a in range(n)]
    limit_seconds, working_days, limits = [], [], []
    for step_id in ids:
        step = info.get(step_id)
        limit = step.time_limit if step else None
        limits.append(limit)
        seconds, days = _limit(limit, step.calendar if step else "calendar")
        limit_seconds.append(seconds)
        working_days.append(days)
    sequential = not g.concurrent and not free_bits
    return ProcessModel(
        key=key or getattr(spec, "name", ""),
        version=version,
        steps=ids,
        names=[info[s].name if s in info else s for s in ids],
        ends=ends,
        sequential=sequential,
        df=df,
        reach=reach,
        between=between,
        must=must,
        loopmates=loopmates,
        free=free_bits,
        pred=pred,
        limit_seconds=limit_seconds,
        working_days=working_days,
        time_limits=limits,
        index={s: i for i, s in enumerate(ids)},
        net=None if sequential else alignment.to_net(_flow_graph(g, entry)),
    )


def _gate(ts: Any) -> str:
    """The flow-graph kind of a control node of a SpiffWorkflow spec."""
    if isinstance(ts, ParallelGateway):
        return alignment.AND
    if isinstance(ts, InclusiveGateway):
        return alignment.OR
    if isinstance(ts, ExclusiveGateway | EventBasedGateway | BoundaryEventSplit | BpmnStartTask | StartEventSplit):
        return alignment.XOR
    return alignment.EVENT


def _flow_graph(g: _Graph, entry: int) -> alignment.FlowGraph:
    """The builder's graph as a flow graph: a self-loop on a step is its loop marker."""
    flow = alignment.FlowGraph()
    for v in range(len(g.kind)):
        flow.add(g.gate[v], g.act[v], g.ident[v] or str(v), loop=v in g.succ[v])
    for v, targets in enumerate(g.succ):
        for w in targets:
            if w != v:
                flow.link(v, w)
    flow.starts = [entry]
    return flow


def _limit(text: str | None, calendar: str) -> tuple[float, int]:
    """Seconds of a calendar limit, or whole working days (the same rule as engine.calendar.due_at)."""
    if not text:
        return 0.0, 0
    try:
        delta = parse_time_limit(text)
    except ValueError:
        return 0.0, 0
    if calendar == "working" and delta.seconds == 0 and delta.microseconds == 0:
        return 0.0, delta.days
    return delta.total_seconds(), 0


def _dominators(
    g: _Graph,
    roots: list[int],
    seen: set[int],
    target_of_node: dict[int, int],
    n: int,
    targets: int,
    union_at_joins: bool,
) -> list[int]:
    """For each target, the activities on every path from ``roots`` to it (roots excluded).

    A greatest-fixpoint data-flow: IN(v) is the meet of OUT(p) over predecessors p, OUT(v) adds v's
    own activity. The meet is intersection, or union at parallel joins when ``union_at_joins``.
    """
    everything = (1 << n) - 1
    root_set = set(roots)
    preds: dict[int, list[int]] = {v: [] for v in seen}
    back_to_root: list[int] = []  # nodes whose successor is a root (paths that return to the state)
    for v in [*root_set, *seen]:
        for w in g.succ[v]:
            if w in root_set:
                back_to_root.append(v)
            if w in preds and w not in root_set:
                preds[w].append(v)
    out = {v: everything for v in seen}
    for r in root_set:
        out[r] = 0
    order = list(seen)
    changed = True
    while changed:
        changed = False
        for v in order:
            if v in root_set:
                continue
            incoming = [out[p] for p in preds[v]]
            if not incoming:
                value = 0
            elif union_at_joins and g.kind[v] == _AND:
                value = 0
                for bits in incoming:
                    value |= bits
            else:
                value = everything
                for bits in incoming:
                    value &= bits
            if g.act[v] >= 0:
                value |= 1 << g.act[v]
            if value != out[v]:
                out[v] = value
                changed = True

    def meet_in(v: int) -> int:
        incoming = [out[p] for p in preds.get(v, [])]
        if not incoming:
            return 0
        if union_at_joins and g.kind[v] == _AND:
            value = 0
            for bits in incoming:
                value |= bits
            return value
        value = everything
        for bits in incoming:
            value &= bits
        return value

    result = [0] * targets
    found = [False] * targets
    for v in seen:
        if v in root_set:
            continue
        hit = []
        if g.act[v] >= 0:
            hit.append(g.act[v])
        if v in target_of_node:
            hit.append(target_of_node[v])
        for t in hit:
            bits = meet_in(v) & ~(1 << t if t < n else 0)
            result[t] = bits if not found[t] else result[t] & bits
            found[t] = True
    if back_to_root:
        back = everything
        for p in back_to_root:
            back &= out[p] if p not in root_set else 0
        for r in root_set:
            t = g.act[r]
            if t >= 0:
                bits = back & ~(1 << t)
                result[t] = bits if not found[t] else result[t] & bits
                found[t] = True
    return result


def empty_model(key: str) -> ProcessModel:
    """A model without steps, for views over nothing."""
    return ProcessModel(key, None, [], [], [], True, [0], [0], [[0]], [0], [], 0, [], [], [], [])


# Keyed by everything the model is compiled from (the flow's content and its version number), so
# databases in one process may share an entry.
_cache: dict[tuple[str, str, int], ProcessModel] = {}
_lock = threading.Lock()
caches.register(_cache.clear)


def model_for(row: Any) -> ProcessModel:
    """The compiled model of a deployed version (a ``DefinitionVersion``), once per process."""
    from engine.runtime.loaded import loaded

    cache_key = (row.key, row.content_hash, row.version)
    found = _cache.get(cache_key)
    if found is not None:
        return found
    definition = loaded(row)
    try:
        model = compile_model(definition.spec, definition.subprocess_specs, definition.steps, row.key, row.version)
    except (ValueError, LookupError, AttributeError) as exc:
        raise PowerlistError(f"flow '{row.key}' v{row.version} cannot be checked: {exc}") from exc
    with _lock:
        _cache[cache_key] = model
    return model
