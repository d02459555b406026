"""The order in which a matter meets the steps of a flow, for numbering and drawing them."""

from __future__ import annotations

from engine.catalog.graph import FlowGraph


def step_order(graph: FlowGraph) -> list[str]:
    """User task ids in the order a matter meets them."""
    return [node_id for node_id in node_order(graph) if graph.nodes[node_id].kind == "userTask"]


def node_order(graph: FlowGraph) -> list[str]:
    """Node ids by the longest way from a start event (loops back not counted), ties in the order
    the flows leave their gateways; nodes no start event reaches come last."""
    discovered, back = _depth_first(graph)
    depth = dict.fromkeys(discovered, 0)
    changed = True
    while changed:
        changed = False
        for edge in graph.edges:
            if edge.id in back or edge.source not in depth or edge.target not in depth:
                continue
            if depth[edge.target] < depth[edge.source] + 1:
                depth[edge.target] = depth[edge.source] + 1
                changed = True
    reached = sorted(discovered, key=lambda node_id: (depth[node_id], discovered[node_id]))
    return reached + [node_id for node_id in graph.nodes if node_id not in discovered]


def _depth_first(graph: FlowGraph) -> tuple[dict[str, int], set[str]]:
    """Discovery order of the nodes the start events reach, and the ids of the flows that loop back."""
    discovered: dict[str, int] = {}
    back: set[str] = set()
    for start in graph.of_kind("startEvent"):
        if start.id in discovered:
            continue
        discovered[start.id] = len(discovered)
        on_path = {start.id}
        stack = [(start.id, iter(graph.outgoing(start.id)))]
        while stack:
            node_id, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                stack.pop()
                on_path.discard(node_id)
            elif edge.target in on_path:
                back.add(edge.id)
            elif edge.target not in discovered and edge.target in graph.nodes:
                discovered[edge.target] = len(discovered)
                on_path.add(edge.target)
                stack.append((edge.target, iter(graph.outgoing(edge.target))))
    return discovered, back
