"""A lenient reader of any BPMN 2.0 model for conformance checking: descriptive or executable.

Models drawn in Signavio, ARIS, Camunda Modeler or bpmn.io are often not executable
(``isExecutable="false"``), name no roles and no conditions, miss the diagram or carry vendor
extensions. None of that matters here: the reader needs only the process's flow nodes and sequence
flows, and ignores everything else (lanes, data, annotations, extensions, diagram).

- Every kind of task counts as a step the log may show (task, user, manual, service, script,
  business rule, send, receive task; a call activity whose called process is not in the file).
  A task maps to log activities by its name (tasks with the same name are one activity), through
  the mapping table, or by its id.
- A subprocess (and a call activity of a process in the same file, and a transaction) is expanded:
  its inner flow replaces it. Event subprocesses and ad-hoc subprocesses may happen at any time:
  their tasks are "free" (their events are neither required nor deviations).
- Events are silent; boundary events are alternative exits (or, non-interrupting, extra branches);
  exclusive, event-based, parallel and inclusive gateways as in :mod:`engine.audit.alignment`;
  a loop or multi-instance marker makes a task repeatable.
- Several processes (pools): the one named, else the one with the most tasks; the model says which.

What cannot be understood is reported by element id and line, never guessed: a flow to or from a
missing element, a complex gateway (its rule is not in the model), a model with no process.
Untrusted bytes go through :mod:`engine.definitions.safe_xml` (no DTD, no entities, size limit).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.audit.alignment import AND, END, EVENT, OR, TASK, TERMINATE, XOR, FlowGraph, to_net
from engine.audit.reference_model import ProcessModel, _limit
from engine.definitions.conventions import PL_NS
from engine.definitions.safe_xml import parse_xml
from engine.errors import DefinitionInvalid, Problem

MAX_DEPTH = 8
# Branches that may run at the same time out of one element (a parallel gateway, a task or event with
# several plain outgoing flows, a scope's starts without a start event). Each branch doubles the
# markings the exact search may have to visit; a wider model is refused by element and line.
MAX_PARALLEL_WIDTH = 16

TASKS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
    }
)
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "implicitThrowEvent"})
GATEWAYS = {"exclusiveGateway": XOR, "eventBasedGateway": XOR, "parallelGateway": AND, "inclusiveGateway": OR}
FLOW_NODES = TASKS | SUBPROCESSES | EVENTS | frozenset(GATEWAYS) | {"callActivity", "boundaryEvent", "complexGateway"}


def local(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def normalize(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split())


@dataclass
class ModelRead:
    """What the reader made of a file: the model, which process it used, and what it noticed."""

    model: ProcessModel
    process_id: str
    process_name: str
    processes: list[str]  # every process of the file: "id (name, N tasks)"
    tasks: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> ModelSummary:
        return ModelSummary(
            process=self.process_id,
            process_name=self.process_name,
            processes=self.processes,
            tasks=self.tasks,
            activities=len(self.model.steps),
            places=self.model.net.places if self.model.net else 0,
            transitions=len(self.model.net.transitions) if self.model.net else 0,
            notes=self.notes,
        )


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """The process read from a model file (``processes``: every process of the file), its tasks and
    activities, the size of its Petri net and what the reader noticed."""

    process: str
    process_name: str
    processes: list[str]
    tasks: int
    activities: int
    places: int
    transitions: int
    notes: list[str]


class _Reader:
    def __init__(self, root: Any, filename: str):
        self.root = root
        self.filename = filename
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.graph = FlowGraph()
        self.labels: dict[str, int] = {}  # normalized name -> activity index
        self.steps: list[str] = []
        self.names: list[str] = []
        self.limits: list[tuple[str | None, str]] = []
        self.aliases: dict[str, str] = {}
        self.free: set[int] = set()
        self.processes = {p.get("id"): p for p in root.iter() if local(p) == "process" and p.get("id")}
        self.task_count = 0

    def problem(self, code: str, message: str, element: Any = None) -> None:
        self.problems.append(
            Problem(
                code,
                message,
                element_id=element.get("id") if element is not None else None,
                element_name=element.get("name") if element is not None else None,
                line=element.sourceline if element is not None else None,
                file=self.filename,
            )
        )

    def label(self, element: Any) -> int:
        ident = element.get("id") or ""
        name = normalize(element.get("name") or "") or ident
        if not name:
            self.notes.append(f"line {element.sourceline}: a task with neither name nor id is silent")
            return -1
        found = self.labels.get(name)
        if found is None:
            found = self.labels[name] = len(self.steps)
            self.steps.append(ident or name)
            self.names.append(name)
            self.limits.append(
                (element.get(f"{{{PL_NS}}}timeLimit"), element.get(f"{{{PL_NS}}}calendar") or "calendar")
            )
        if ident and ident != self.steps[found]:
            self.aliases.setdefault(ident, self.steps[found])
        return found

    # -- scopes ---------------------------------------------------------------------------------

    def scope(
        self, container: Any, depth: int, inner: bool, stack: tuple[str, ...]
    ) -> tuple[list[int], bool, list[int]]:
        """Build the flow nodes of ``container``; returns its start nodes, whether they start
        together (no start event), and the nodes that end it (inner scopes only)."""
        g = self.graph
        entry: dict[str, int] = {}
        exit_: dict[str, int] = {}
        elements = [c for c in container if local(c) in FLOW_NODES]
        for element in elements:
            kind = local(element)
            ident = element.get("id")
            if not ident:
                self.problem("no-id", f"a {kind} without an id cannot be referred to", element)
                continue
            if element.get("isForCompensation") == "true":
                self.notes.append(f"{ident}: compensation activity, outside the normal flow; ignored")
                continue
            if kind == "complexGateway":
                self.problem(
                    "complex-gateway",
                    "a complex gateway's rule is not in the model; draw it as exclusive or inclusive",
                    element,
                )
                continue
            loop = any(local(c) in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics") for c in element)
            if kind in TASKS or (kind == "callActivity" and not self._called(element, depth, stack)):
                self.task_count += 1
                node = g.add(TASK, self.label(element), ident, loop=loop)
                entry[ident] = exit_[ident] = node
            elif kind in SUBPROCESSES or kind == "callActivity":
                body = element if kind != "callActivity" else self.processes[element.get("calledElement")]
                free = kind == "adHocSubProcess" or element.get("triggeredByEvent") == "true"
                if free:
                    self._free(body, depth + 1, stack)
                    if element.get("triggeredByEvent") == "true":
                        continue  # an event subprocess has no flows: it happens whenever it is triggered
                    node = g.add(EVENT, -1, ident)
                    entry[ident] = exit_[ident] = node
                    continue
                if depth >= MAX_DEPTH:
                    self.problem("too-deep", f"subprocesses nested more than {MAX_DEPTH} deep", element)
                    continue
                called = stack + ((body.get("id") or ident),)
                starts, together, ends = self.scope(body, depth + 1, True, called)
                first = g.add(AND if together and len(starts) > 1 else XOR if len(starts) > 1 else EVENT, -1, ident)
                for s in starts:
                    g.link(first, s)
                last = g.add(XOR if loop else EVENT, -1, f"{ident}:end")
                for e in ends:
                    g.link(e, last)
                if loop:
                    g.link(last, first)
                    after = g.add(EVENT, -1, f"{ident}:after")
                    g.link(last, after)
                    last = after
                entry[ident], exit_[ident] = first, last
            elif kind in GATEWAYS:
                node = g.add(GATEWAYS[kind], -1, ident)
                entry[ident] = exit_[ident] = node
            elif kind == "endEvent":
                terminate = any(local(c) == "terminateEventDefinition" for c in element)
                if terminate and inner:
                    self.notes.append(f"{ident}: terminate end inside a subprocess ends only that branch")
                node = g.add(EVENT if inner else TERMINATE if terminate else END, -1, ident)
                entry[ident] = exit_[ident] = node
            elif kind == "boundaryEvent":
                continue  # after the hosts exist
            else:
                node = g.add(EVENT, -1, ident)
                entry[ident] = exit_[ident] = node
        for element in elements:
            if local(element) != "boundaryEvent" or not element.get("id"):
                continue
            if any(local(c) == "compensateEventDefinition" for c in element):
                continue
            host = element.get("attachedToRef")
            if host not in entry:
                self.problem("boundary-host", f"attached to '{host}', which is not a step of this process", element)
                continue
            node = g.add(EVENT, -1, element.get("id"), host=entry[host])
            g.nodes[node].interrupting = element.get("cancelActivity", "true") != "false"
            entry[element.get("id")] = exit_[element.get("id")] = node
        has_in: set[int] = set()
        has_out: set[int] = set()
        parallel_out: dict[str, int] = {}
        for flow in container:
            if local(flow) != "sequenceFlow":
                continue
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            missing = [(side, ref) for side, ref in (("source", source), ("target", target)) if ref not in entry]
            if missing:
                side, ref = missing[0]
                self.problem("flow-missing-end", f"the flow's {side} '{ref}' is not a flow node of this process", flow)
                continue
            a, b = exit_[source], entry[target]
            if any(local(c) == "conditionExpression" for c in flow) and g.nodes[a].kind in (TASK, EVENT):
                # a conditional flow out of a task: an inclusive choice (BPMN's conditional flow)
                split = self._conditional_split(a)
                g.link(split, b)
            else:
                g.link(a, b)
                if g.nodes[a].kind in (AND, TASK, EVENT):
                    parallel_out[source] = parallel_out.get(source, 0) + 1
            has_out.add(a)
            has_in.add(b)
        by_id = {e.get("id"): e for e in elements}
        for ident, width in parallel_out.items():
            if width > MAX_PARALLEL_WIDTH:
                self.problem(
                    "too-wide",
                    f"{width} branches leave it at the same time; at most {MAX_PARALLEL_WIDTH} can be checked exactly",
                    by_id.get(ident),
                )
        declared = [entry[e.get("id")] for e in elements if local(e) == "startEvent" and e.get("id") in entry]
        boundary_nodes = {n for n in entry.values() if g.nodes[n].host >= 0}
        ends = [n for n in set(exit_.values()) if not g.succ[n]]
        if declared:
            for ident, node in entry.items():
                if (
                    node not in has_in
                    and node not in declared
                    and node not in boundary_nodes
                    and g.nodes[node].kind != END
                ):
                    if g.nodes[node].kind == TASK:
                        self.notes.append(f"{ident}: no flow leads to it; it is never reached")
            return declared, False, ends
        sources = sorted({n for n in entry.values() if n not in has_in and n not in boundary_nodes})
        if len(sources) > MAX_PARALLEL_WIDTH:
            self.problem(
                "too-wide",
                f"{len(sources)} nodes without incoming flows start together (no start event); "
                f"at most {MAX_PARALLEL_WIDTH} can be checked exactly",
                container,
            )
        if not sources and entry:
            self.notes.append(f"{container.get('id')}: no start event and every node has an incoming flow")
        return sources, True, ends

    def _conditional_split(self, node: int) -> int:
        g = self.graph
        for w in g.succ[node]:
            if g.nodes[w].kind == OR and g.nodes[w].ident.endswith(":conditions"):
                return w
        split = g.add(OR, -1, f"{g.nodes[node].ident}:conditions")
        g.link(node, split)
        return split

    def _called(self, element: Any, depth: int, stack: tuple[str, ...]) -> bool:
        """Whether a call activity calls a process of this file that can be expanded."""
        called = element.get("calledElement")
        if called not in self.processes:
            return False
        if called in stack or depth >= MAX_DEPTH:
            self.notes.append(f"{element.get('id')}: calls {called} recursively; kept as one step")
            return False
        return True

    def _free(self, body: Any, depth: int, stack: tuple[str, ...]) -> None:
        for element in body.iter():
            if local(element) in TASKS or local(element) == "callActivity":
                index = self.label(element)
                if index >= 0:
                    self.free.add(index)
                    self.task_count += 1


def _count_tasks(process: Any) -> int:
    return sum(1 for e in process.iter() if local(e) in TASKS or local(e) == "callActivity")


def read_model(content: bytes, filename: str = "model.bpmn", process: str | None = None) -> ModelRead:
    """The conformance model of any BPMN 2.0 file; raises :class:`DefinitionInvalid` listing every
    problem (element id, line) when the model cannot be understood."""
    root, problems = parse_xml(content, filename)
    if root is None:
        raise DefinitionInvalid(problems)
    reader = _Reader(root, filename)
    participants = {
        p.get("processRef"): p.get("name") or ""
        for p in root.iter()
        if local(p) == "participant" and p.get("processRef")
    }
    candidates = [p for p in reader.processes.values() if any(local(c) in FLOW_NODES for c in p)]
    if not candidates:
        problem = Problem(
            "no-process", "the file holds no process with flow nodes", file=filename, line=root.sourceline
        )
        raise DefinitionInvalid([problem])

    def title(p: Any) -> str:
        return p.get("name") or participants.get(p.get("id")) or ""

    listed = [f"{p.get('id')} ({title(p) or '-'}, {_count_tasks(p)} tasks)" for p in candidates]
    if process:
        wanted = normalize(process)
        chosen = next((p for p in candidates if wanted in (p.get("id"), normalize(title(p)))), None)
        if chosen is None:
            problem = Problem(
                "no-such-process", f"no process '{process}'; the file has: {', '.join(listed)}", file=filename
            )
            raise DefinitionInvalid([problem])
    else:
        chosen = max(candidates, key=lambda p: (_count_tasks(p), -candidates.index(p)))
    if len(candidates) > 1:
        reader.notes.append(
            f"the file has {len(candidates)} processes; checked {chosen.get('id')} ({title(chosen) or '-'})"
        )
    starts, together, _ends = reader.scope(chosen, 0, False, (chosen.get("id"),))
    if reader.problems:
        raise DefinitionInvalid(reader.problems)
    graph = reader.graph
    graph.starts, graph.parallel_start = starts, together and len(starts) > 1
    if not starts:
        problem = Problem("no-start", "the process has no start (every node has an incoming flow)", file=filename)
        raise DefinitionInvalid([problem])
    net = to_net(graph)
    reader.notes.extend(net.notes)
    model = descriptive_model(
        chosen.get("id") or Path(filename).stem,
        reader.steps,
        reader.names,
        reader.limits,
        net,
        reader.free,
        reader.aliases,
    )
    model.notes = reader.notes
    return ModelRead(model, chosen.get("id") or "", title(chosen), listed, reader.task_count, reader.notes)


def read_model_file(path: str | Path, process: str | None = None) -> ModelRead:
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        problem = Problem("unreadable", f"cannot read the file: {exc.strerror or exc}", file=str(path))
        raise DefinitionInvalid([problem]) from exc
    return read_model(content, str(path), process)


def descriptive_model(
    key: str,
    steps: list[str],
    names: list[str],
    limits: list[tuple[str | None, str]],
    net: Any,
    free: set[int],
    aliases: dict[str, str],
) -> ProcessModel:
    """A :class:`ProcessModel` checked by alignments only (its precedence tables are empty)."""
    n = len(steps)
    seconds, days = [], []
    for text, calendar in limits:
        s, d = _limit(text, calendar)
        seconds.append(s)
        days.append(d)
    return ProcessModel(
        key=key,
        version=None,
        steps=list(steps),
        names=list(names),
        ends=[],
        sequential=False,
        df=[0] * (n + 1),
        reach=[0] * (n + 1),
        between=[[0] * (n + 1) for _ in range(n + 1)],
        must=[0] * (n + 1),
        loopmates=[0] * n,
        free=sum(1 << i for i in free),
        pred=[[] for _ in range(n)],
        limit_seconds=seconds,
        working_days=days,
        time_limits=[text for text, _ in limits],
        index={s: i for i, s in enumerate(steps)},
        net=net,
        aliases=dict(aliases),
    )
