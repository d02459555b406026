"""Exact conformance: a flow graph translated to a Petri net, and optimal alignments of cases to it.

**The net.** :class:`FlowGraph` is what a model reader (:mod:`engine.audit.descriptive` for any BPMN
file, :mod:`engine.audit.reference_model` for deployed flows) makes of a process: nodes (tasks, events,
gateways) and the sequence flows between them. :func:`to_net` translates it workflow-net style:

- a place per node input (every flow into a node that is not a parallel or inclusive join lands in
  the same place: the implicit exclusive merge of BPMN), and a place per flow into a join;
- a transition per task, labelled with its activity (visible; a task of no interest to the log is
  silent), and silent transitions (tau) for events and gateways: one per branch of an exclusive or
  event-based split, one for a parallel gateway (all inputs, all outputs), one per non-empty subset
  of branches for an inclusive split;
- an inclusive join that closes a block opened by one inclusive split (each branch of the split
  reaches exactly one input of the join) fires for exactly the subset the split chose: the split
  leaves a memory token naming the subset. An unstructured inclusive join (no such split) fires for
  any non-empty subset of its inputs that hold tokens, which may fire before a late branch arrives
  (a superset of the BPMN runs; :attr:`Net.notes` says so);
- a task or event with several outgoing flows splits in parallel (BPMN's uncontrolled flow); a task
  with a loop or multi-instance marker may be done again at once (a silent return to its input);
- a boundary event is an alternative exit of its task (interrupting: the task is not done) or an
  extra branch while the task waits (non-interrupting); on an expanded subprocess it leaves from the
  subprocess's entry;
- the initial marking is one token in the source; a run ends when only the sink holds tokens (every
  branch reached an end event; a node without outgoing flows ends its branch), or at once when a
  terminate end event fires.

**Alignment.** A case's activity sequence is aligned to the net by a search by cost levels (Dijkstra
with costs 0 and 1) over states (marking, position in the case): a synchronous move (the case's next
activity done by an enabled transition of that label) and a silent move cost 0, a model move (a
visible transition fired without a log event: a skipped step) and a log move (a log event no enabled
transition explains: an inserted step) cost 1. The first state popped that is final (the whole case
read, the marking final; for a case still running any marking) gives an optimal alignment. Moves are
tried in a fixed order, synchronous, silent, model moves (in the net's transition order), log move,
so ties are broken the same way every time. Markings' successors are cached per net (at most
:data:`MAX_CACHED_MOVES` moves) and alignments per variant (identical sequences are aligned once).

**Bounds.** A marking is a ``bytes`` of token counts, one per place: a move reads and writes only the
places its transition touches, and a search state hashes in constant time (bytes cache their hash),
so the cost of a state does not grow with the number of tokens. The search is bounded in states
(:data:`MAX_STATES` made, :data:`MAX_TOKENS` tokens in a place) and, given ``seconds``, in wall-clock
time; a case that hits a bound is reported as such, with the reason, never guessed. Whether a bound
is hit may depend on the machine; an alignment that is found does not.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from time import perf_counter

MAX_STATES = 200_000  # states made by one search (its memory)
MAX_TOKENS = 3
CLOCK_EVERY = 256  # states between two looks at the clock
MAX_CACHED_MOVES = 500_000  # moves a net keeps cached (then it starts again): its memory
MAX_INCLUSIVE_BRANCHES = 6

SOURCE, SINK, TERMINATED = 0, 1, 2

# Node kinds of a flow graph.
TASK, EVENT, XOR, AND, OR, END, TERMINATE = "task", "event", "xor", "and", "or", "end", "terminate"

# Move kinds of an alignment.
SYNC, MODEL, LOG, TAU = "sync", "model", "log", "tau"


@dataclass
class Node:
    kind: str
    label: int = -1  # activity index of a visible task, else -1
    ident: str = ""  # element id, for notes
    loop: bool = False
    host: int = -1  # boundary event: the node it is attached to
    interrupting: bool = True


@dataclass
class FlowGraph:
    nodes: list[Node] = field(default_factory=list)
    succ: list[list[int]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    parallel_start: bool = False  # several starts fire together (no start event: BPMN's implicit start)

    def add(self, kind: str, label: int = -1, ident: str = "", **extra) -> int:
        self.nodes.append(Node(kind, label, ident, **extra))
        self.succ.append([])
        return len(self.nodes) - 1

    def link(self, a: int, b: int) -> None:
        self.succ[a].append(b)


@dataclass
class Transition:
    pre: tuple[int, ...]
    post: tuple[int, ...]
    label: int  # activity index, -1 for silent
    name: str
    terminate: bool = False


@dataclass
class Net:
    """A Petri net; a marking is a ``bytes`` of token counts, one byte per place (its hash is cached,
    so a search state ``(marking, position)`` hashes in constant time whatever the number of tokens)."""

    places: int
    transitions: list[Transition]
    notes: list[str] = field(default_factory=list)
    _consumers: list[list[int]] = field(default_factory=list, repr=False)
    _need: list[tuple[tuple[int, int], ...]] = field(default_factory=list, repr=False)
    _delta: list[tuple[tuple[int, int], ...]] = field(default_factory=list, repr=False)
    _post: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    _moves: dict[bytes, tuple] = field(default_factory=dict, repr=False)
    _bounded: bool = field(default=False, repr=False)
    _labels: list[int] = field(default_factory=list, repr=False)
    _cached: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._consumers = [[] for _ in range(self.places)]
        self._need, self._delta, self._post = [], [], []
        self._labels = [t.label for t in self.transitions]
        for index, t in enumerate(self.transitions):
            need = Counter(t.pre)
            for p in sorted(need):
                self._consumers[p].append(index)
            change = Counter(t.post)
            change.subtract(need)
            self._need.append(tuple(sorted(need.items())))
            self._delta.append(tuple((p, d) for p, d in sorted(change.items()) if d))
            # a transition that alone puts more than MAX_TOKENS in a place is never fired (the bound)
            over = any(n > MAX_TOKENS for n in Counter(t.post).values())
            self._post.append((-1,) if over else tuple(sorted(set(t.post))))

    @property
    def initial(self) -> bytes:
        marking = bytearray(self.places)
        marking[SOURCE] = 1
        return bytes(marking)

    def successors(self, marking: bytes) -> list[tuple[int, bytes]]:
        """Enabled transitions of ``marking`` and the markings they lead to, in net order (cached).

        The cost per successor is the number of places the transition touches, not the number of
        tokens: counts are read and written by place."""
        return self.moves(marking)[3]

    def _successors(self, marking: bytes) -> list[tuple[int, bytes]]:
        result: list[tuple[int, bytes]] = []
        if marking[TERMINATED]:
            return result
        consumers, need, delta, post = self._consumers, self._need, self._delta, self._post
        candidates: set[int] = set()
        for found in _MARKED.finditer(marking):
            candidates.update(consumers[found.start()])
        for index in sorted(candidates):
            needs = need[index]
            if len(needs) > 1 or needs[0][1] > 1:  # one token from a marked place needs no look
                if any(marking[p] < n for p, n in needs):
                    continue
            places = post[index]
            after = bytearray(marking)
            for p, d in delta[index]:
                after[p] += d
            for p in places:
                if p < 0 or after[p] > MAX_TOKENS:
                    self._bounded = True
                    break
            else:
                result.append((index, bytes(after)))
        return result

    def moves(self, marking: bytes) -> tuple[dict[int, list], list, list, list]:
        """The enabled transitions of ``marking`` sorted for the search (cached): by visible label,
        the silent ones, the visible ones, and all, each in net order."""
        found = self._moves.get(marking)
        if found is None:
            by_label: dict[int, list[tuple[int, bytes]]] = {}
            silent, visible = [], []
            every = self._successors(marking)
            labels = self._labels
            for move in every:
                label = labels[move[0]]
                if label < 0:
                    silent.append(move)
                else:
                    visible.append(move)
                    by_label.setdefault(label, []).append(move)
            self._cached += len(every) + 1
            if self._cached > MAX_CACHED_MOVES:
                self._moves.clear()  # a cache, not a result: a net shared by long-lived processes stays small
                self._cached = len(every) + 1
            found = self._moves[marking] = (by_label, silent, visible, every)
        return found

    def final(self, marking: bytes) -> bool:
        return bool(marking[TERMINATED]) or (bool(marking[SINK]) and marking.count(0) == len(marking) - 1)


_MARKED = re.compile(b"[^\\x00]")


@dataclass
class Alignment:
    cost: int
    moves: list[tuple[str, int, int]]  # (kind, transition or -1, position in the case)
    bounded: bool = False  # no alignment: the search hit a bound, ran out of time, or the net cannot end
    states: int = 0
    reason: str = ""
    timed_out: bool = False


def align(
    net: Net,
    trace: tuple[int, ...],
    ended: bool = True,
    max_states: int = MAX_STATES,
    seconds: float | None = None,
) -> Alignment:
    """An optimal alignment of ``trace`` (activity indices) to ``net``; see the module's text.

    The search goes by cost levels: every state reachable at cost ``d`` through synchronous and
    silent moves (the level's closure, depth first, synchronous moves first) is found before any
    state of cost ``d + 1`` is made from them by a model or log move, so a case that fits the model
    never makes any, and the first final state found has the least cost.

    It stops, and says why, when it has made ``max_states`` states or spent ``seconds`` (wall clock,
    looked at every :data:`CLOCK_EVERY` states); the answer, when there is one, does not depend on
    either.
    """
    n = len(trace)
    start = (net.initial, 0)
    parent: dict[tuple[bytes, int], tuple | None] = {start: None}
    level = [start]
    cost = 0
    moves_of = net.moves
    final = net.final
    deadline = perf_counter() + seconds if seconds is not None else None
    tick = 0

    def stopped() -> Alignment | None:
        if len(parent) > max_states:
            reason = f"not checked: the exact search stopped at its bound of {max_states} states"
            return Alignment(-1, [], True, len(parent), reason)
        if deadline is not None and perf_counter() > deadline:
            reason = f"not checked: the exact search ran past its time budget of {seconds:g} s"
            return Alignment(-1, [], True, len(parent), reason, timed_out=True)
        return None

    while level:
        closure: list[tuple[bytes, int]] = []
        stack = level[::-1]
        while stack:
            state = stack.pop()
            marking, i = state
            if i == n and (not ended or final(marking)):
                return Alignment(cost, _moves(parent, state), False, len(parent))
            tick += 1
            if tick >= CLOCK_EVERY or len(parent) > max_states:
                tick = 0
                if (halt := stopped()) is not None:
                    return halt
            closure.append(state)
            by_label, silent, _visible, _every = moves_of(marking)
            for index, after in reversed(silent):
                target = (after, i)
                if target not in parent:
                    parent[target] = (state, TAU, index, i)
                    stack.append(target)
            if i < n:
                for index, after in reversed(by_label.get(trace[i], ())):
                    target = (after, i + 1)
                    if target not in parent:
                        parent[target] = (state, SYNC, index, i)
                        stack.append(target)  # popped first: synchronous moves are tried first
        level = []
        for state in closure:
            marking, i = state
            for index, after in moves_of(marking)[2]:
                target = (after, i)
                if target not in parent:
                    parent[target] = (state, MODEL, index, i)
                    level.append(target)
            if i < n:
                target = (marking, i + 1)
                if target not in parent:
                    parent[target] = (state, LOG, -1, i)
                    level.append(target)
            tick += 1
            if tick >= CLOCK_EVERY or len(parent) > max_states:
                tick = 0
                if (halt := stopped()) is not None:
                    return halt
        cost += 1
    if net._bounded:
        reason = f"not checked: the model's runs need more than {MAX_TOKENS} tokens in a place (the search's bound)"
    else:
        reason = "not checked: no run of the model reaches its end (the model cannot finish)"
    return Alignment(-1, [], True, len(parent), reason)


def _moves(parent: dict, state: tuple) -> list[tuple[str, int, int]]:
    moves = []
    link = parent[state]
    while link is not None:
        previous, kind, index, position = link
        moves.append((kind, index, position))
        link = parent[previous]
    moves.reverse()
    return moves


# --- flow graph to net --------------------------------------------------------------------------


class _Places:
    """Places with union-find, so pass-through nodes share their successor's input place."""

    def __init__(self) -> None:
        self.parent: list[int] = [SOURCE, SINK, TERMINATED]

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, p: int) -> int:
        while self.parent[p] != p:
            self.parent[p] = self.parent[self.parent[p]]
            p = self.parent[p]
        return p

    def union(self, keep: int, drop: int) -> None:
        keep, drop = self.find(keep), self.find(drop)
        if keep != drop:
            self.parent[drop] = keep


def to_net(graph: FlowGraph) -> Net:
    """The Petri net of ``graph`` (see the module's text)."""
    nodes, succ = graph.nodes, graph.succ
    count = len(nodes)
    preds: list[list[int]] = [[] for _ in range(count)]
    for a in range(count):
        for b in succ[a]:
            preds[b].append(a)
    boundaries: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        if node.host >= 0:
            boundaries.setdefault(node.host, []).append(index)
    joins = {v for v in range(count) if nodes[v].kind in (AND, OR) and len(preds[v]) > 1}
    places = _Places()
    inp = {v: places.new() for v in range(count) if v not in joins}
    edge: dict[tuple[int, int], int] = {}
    for v in joins:
        for u in preds[v]:
            edge.setdefault((u, v), places.new())

    def into(u: int, v: int) -> int:
        return edge[u, v] if v in joins else inp[v]

    # ends and pass-through nodes share places (fewer silent steps to search through)
    for v in range(count):
        if v in joins or nodes[v].host >= 0 or v in boundaries:
            continue
        kind = nodes[v].kind
        if kind == END or (kind in (EVENT, XOR, OR, AND) and not succ[v]):
            places.union(SINK, inp[v])
        elif kind in (EVENT, XOR, OR, AND) and len(succ[v]) == 1 and not nodes[v].loop:
            target = succ[v][0]
            if target != v:
                places.union(into(v, target), inp[v])
    notes: list[str] = []
    transitions: list[Transition] = []

    def emit(pre: list[int], post: list[int], label: int, name: str, terminate: bool = False) -> None:
        pre_t = tuple(sorted(places.find(p) for p in pre))
        post_t = tuple(sorted(places.find(p) for p in post))
        if pre_t == post_t and label < 0 and not terminate:
            return  # a silent step that changes nothing
        transitions.append(Transition(pre_t, post_t, label, name, terminate))

    def outs(v: int) -> list[int]:
        return [into(v, w) for w in succ[v]] or [SINK]

    matched = _match_inclusive(graph, preds, joins)
    memory: dict[tuple[int, frozenset[int]], int] = {}
    for (split, _join), branches in matched.items():
        for size in range(1, len(branches) + 1):
            for subset in combinations(sorted(branches), size):
                memory[split, frozenset(subset)] = places.new()

    if graph.parallel_start and graph.starts:
        emit([SOURCE], [inp[s] if s not in joins else SINK for s in graph.starts], -1, "start")
    else:
        for s in graph.starts:
            emit([SOURCE], [inp[s]], -1, f"start:{nodes[s].ident}")

    for v in range(count):
        node = nodes[v]
        name = node.ident or str(v)
        if node.host >= 0:
            host_in = inp.get(node.host)
            if host_in is None:
                notes.append(f"boundary event {name} is attached to a join; ignored")
                continue
            after = outs(v)
            emit([host_in], after + ([host_in] if not node.interrupting else []), -1, f"boundary:{name}")
            continue
        if v in joins:
            pre_edges = [(u, v) for u in preds[v]]
            if node.kind == AND:
                entry = [edge[e] for e in pre_edges]
                _emit_and(emit, entry, outs(v), name)
                continue
            # inclusive join: matched (block-structured) or any non-empty subset
            mid = places.new() if len(succ[v]) > 1 else None
            target = [mid] if mid is not None else outs(v)
            pairs = [(s, b) for (s, j), b in matched.items() if j == v]
            if pairs:
                split, branches = pairs[0]
                for size in range(1, len(branches) + 1):
                    for subset in combinations(sorted(branches), size):
                        ins = [edge[branches[b], v] for b in subset]
                        emit([*ins, memory[split, frozenset(subset)]], target, -1, f"or-join:{name}")
            else:
                if len(pre_edges) > MAX_INCLUSIVE_BRANCHES:
                    notes.append(f"inclusive join {name} has {len(pre_edges)} inputs; only single inputs kept")
                    sizes = [1]
                else:
                    sizes = list(range(1, len(pre_edges) + 1))
                    notes.append(f"inclusive join {name} closes no single inclusive split: any arrived subset joins")
                for size in sizes:
                    for subset in combinations(pre_edges, size):
                        emit([edge[e] for e in subset], target, -1, f"or-join:{name}")
            if mid is not None:
                _emit_or_split(emit, graph, v, [mid], succ, into, matched, memory, notes, name)
            continue
        entry = [inp[v]]
        if node.kind == TERMINATE:
            emit(entry, [TERMINATED], -1, f"terminate:{name}", terminate=True)
            continue
        if node.kind == END:
            emit(entry, [SINK], -1, f"end:{name}")
            continue
        if node.kind == XOR:
            for w in succ[v] or [None]:
                emit(entry, [into(v, w)] if w is not None else [SINK], -1, f"xor:{name}")
            continue
        if node.kind == AND:
            _emit_and(emit, entry, outs(v), name)
            continue
        if node.kind == OR:
            _emit_or_split(emit, graph, v, entry, succ, into, matched, memory, notes, name)
            continue
        # task or event
        label = node.label if node.kind == TASK else -1
        if node.loop:
            mid = places.new()
            emit(entry, [mid], label, name)
            emit([mid], entry, -1, f"again:{name}")
            emit([mid], outs(v), -1, f"done:{name}")
        else:
            emit(entry, outs(v), label, name)
    total = len(places.parent)
    # renumber places densely (union-find leaves gaps)
    roots = sorted({places.find(p) for p in range(total)})
    for keep in (SOURCE, SINK, TERMINATED):
        assert places.find(keep) == keep
    dense = {p: i for i, p in enumerate(roots)}
    for t in transitions:
        t.pre = tuple(sorted(dense[p] for p in t.pre))
        t.post = tuple(sorted(dense[p] for p in t.post))
    return Net(len(roots), transitions, notes)


def _emit_and(emit, entry: list[int], after: list[int], name: str) -> None:
    emit(entry, after, -1, f"and:{name}")


def _emit_or_split(emit, graph, v, entry, succ, into, matched, memory, notes, name) -> None:
    targets = succ[v]
    if len(targets) <= 1:
        emit(entry, [into(v, w) for w in targets] or [SINK], -1, f"or:{name}")
        return
    match = next(((j, b) for (s, j), b in matched.items() if s == v), None)
    if len(targets) > MAX_INCLUSIVE_BRANCHES:
        notes.append(f"inclusive split {name} has {len(targets)} branches; each taken alone only")
        sizes = [1]
    else:
        sizes = list(range(1, len(targets) + 1))
    for size in sizes:
        for subset in combinations(range(len(targets)), size):
            post = [into(v, targets[k]) for k in subset]
            if match is not None:
                post.append(memory[v, frozenset(subset)])
            emit(entry, post, -1, f"or-split:{name}")


def _match_inclusive(graph: FlowGraph, preds: list[list[int]], joins: set[int]) -> dict[tuple[int, int], dict]:
    """Inclusive splits and the joins that close them: ``{(split, join): {branch: join input node}}``
    where each branch (index into the split's successors) reaches exactly one input of the join."""
    nodes, succ = graph.nodes, graph.succ
    splits = [v for v, node in enumerate(nodes) if node.kind == OR and len(succ[v]) > 1]
    or_joins = [v for v in joins if nodes[v].kind == OR]
    result: dict[tuple[int, int], dict] = {}
    for join in or_joins:
        inputs = set(preds[join])
        for split in splits:
            if len(succ[split]) != len(inputs) or len(inputs) > MAX_INCLUSIVE_BRANCHES:
                continue
            mapping: dict[int, int] = {}
            ok = True
            for branch, first in enumerate(succ[split]):
                reached = _inputs_reached(succ, split, join, first)
                if len(reached) != 1:
                    ok = False
                    break
                mapping[branch] = reached.pop()
            if ok and sorted(mapping.values()) == sorted(inputs):
                result[split, join] = mapping
                break
    return result


def _inputs_reached(succ: list[list[int]], split: int, join: int, first: int) -> set[int]:
    """Predecessors of ``join`` reached from ``first`` without passing through ``split`` or ``join``."""
    if first == join:
        return {split}
    seen = {first}
    queue = [first]
    reached: set[int] = set()
    while queue:
        v = queue.pop()
        for w in succ[v]:
            if w == join:
                reached.add(v)
            elif w != split and w not in seen:
                seen.add(w)
                queue.append(w)
    return reached


def random_run(net: Net, rng, max_steps: int = 200) -> list[int] | None:
    """The visible labels of one random run from the initial to a final marking (for tests and
    benchmarks), or None when the walk got stuck or grew longer than ``max_steps``."""
    marking = net.initial
    labels: list[int] = []
    for _ in range(max_steps):
        if net.final(marking):
            return labels
        options = net.successors(marking)
        if not options:
            return None
        index, marking = options[rng.randrange(len(options))]
        label = net.transitions[index].label
        if label >= 0:
            labels.append(label)
    return labels if net.final(marking) else None
