"""The nodes and sequence flows of a flow's top process, and the flows a matter took.

Read from a BPMN file that passed validation; used to draw flowcharts and to check which branches
a matter's history went through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.definitions.conventions import bpmn
from engine.definitions.document import BpmnDocument, local_name, text_of
from engine.definitions.safe_xml import parse_xml
from engine.errors import DefinitionInvalid
from engine.history.events import EventKind

if TYPE_CHECKING:
    from engine.queries import HistoryEntry

GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"})
# Gateways whose choice the history records (engine.runtime.steps: gateway_taken).
CHOOSING = frozenset({"exclusiveGateway", "inclusiveGateway"})


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # BPMN local name: userTask, exclusiveGateway, startEvent, …
    name: str
    lane: str | None = None


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    name: str
    condition: str | None = None
    default: bool = False


@dataclass(frozen=True)
class FlowGraph:
    key: str
    nodes: dict[str, Node]  # in document order
    edges: tuple[Edge, ...]

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def of_kind(self, *kinds: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind in kinds]


def flow_graph(content: bytes, filename: str = "upload.bpmn") -> FlowGraph:
    """The graph of the file's single top executable process."""
    root, problems = parse_xml(content, filename)
    if root is None:
        raise DefinitionInvalid(problems)
    doc = BpmnDocument(root, filename)
    tops = doc.top_processes()
    if len(tops) != 1:
        raise DefinitionInvalid([doc.problem("several-processes", "the file needs exactly one top executable process")])
    process = tops[0]
    nodes: dict[str, Node] = {}
    for element in doc.flow_nodes(process):
        lane = doc.lane(element)
        node_id = element.get("id") or ""
        nodes[node_id] = Node(
            id=node_id,
            kind=local_name(element) or "",
            name=(element.get("name") or "").strip(),
            lane=(lane.get("name") or "").strip() or None if lane is not None else None,
        )
    defaults = {e.get("default") for e in doc.flow_nodes(process) if e.get("default")}
    edges = tuple(
        Edge(
            id=flow.get("id") or "",
            source=flow.get("sourceRef") or "",
            target=flow.get("targetRef") or "",
            name=(flow.get("name") or "").strip(),
            condition=text_of(flow.find(bpmn("conditionExpression"))),
            default=flow.get("id") in defaults,
        )
        for flow in doc.flows(process)
    )
    return FlowGraph(process.get("id") or "", nodes, edges)


def taken_flows(graph: FlowGraph, events: Iterable[HistoryEntry]) -> set[str]:
    """Ids of the sequence flows a matter went along, from its history events (``queries.history``).

    An exclusive or inclusive gateway's choice is its ``gateway_taken`` event; a completed user task
    left by its only outgoing flow; other nodes (start events, script tasks, merging or parallel
    gateways) pass straight on once reached.
    """
    completed: set[str] = set()
    chosen: set[tuple[str, str]] = set()
    reached = {n.id for n in graph.of_kind("startEvent")}
    for event in events:
        data = event.data or {}
        kind = event.kind
        if kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED):
            completed.add(event.step)
        elif kind == EventKind.GATEWAY_TAKEN:
            chosen.update((event.step, target) for target in data.get("to", []))
        reached.update(data.get("opened", []))
    taken: set[str] = set()
    changed = True
    while changed:
        changed = False
        for edge in graph.edges:
            if edge.id in taken or not _went_along(graph, edge, completed, chosen, reached):
                continue
            taken.add(edge.id)
            reached.add(edge.target)
            changed = True
    return taken


def _went_along(
    graph: FlowGraph, edge: Edge, completed: set[str], chosen: set[tuple[str, str]], reached: set[str]
) -> bool:
    source = graph.nodes.get(edge.source)
    if source is None:
        return False
    if source.kind in CHOOSING and len(graph.outgoing(source.id)) > 1:
        return (source.id, edge.target) in chosen
    if source.kind == "userTask":
        return source.id in completed
    return source.id in reached
