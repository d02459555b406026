"""The order in which a matter meets the steps of a flow, for numbering and drawing them.

The order is the flow's own, from the start event to the end: 提议 → 商议 → 审议 → 决议 in 四议两公开,
whatever the order of the elements in the file. A flow that loops back (审议未通过，退回重新商议) is
ordered without the flow that loops back, and a short cut (一肩挑: 提议 straight to 审议) does not move
the step it skips: where two branches of a gateway lead to each other, the one that reaches the other
sooner comes first.
"""

from __future__ import annotations

from collections import deque

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


def back_edges(graph: FlowGraph) -> set[str]:
    """Ids of the sequence flows that loop back to an earlier step (drawn upwards on the chart)."""
    return _depth_first(graph)[1]


def _depth_first(graph: FlowGraph) -> tuple[dict[str, int], set[str]]:
    """Discovery order of the nodes the start events reach, and the ids of the flows that loop back."""
    discovered: dict[str, int] = {}
    back: set[str] = set()
    for start in graph.of_kind("startEvent"):
        if start.id in discovered:
            continue
        discovered[start.id] = len(discovered)
        on_path = {start.id}
        stack = [(start.id, iter(_ordered_outgoing(graph, start.id)))]
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
                stack.append((edge.target, iter(_ordered_outgoing(graph, edge.target))))
    return discovered, back


def _ordered_outgoing(graph: FlowGraph, node_id: str) -> list:
    """A node's outgoing flows, a branch that leads to another branch's target before that one.

    At a gateway whose branches lead to each other (一肩挑: "否" to 商议 and "是" past it, 商议 then
    leading on past it too), the branch that reaches the other in fewer steps is the earlier one;
    otherwise the document's order stands.
    """
    edges = graph.outgoing(node_id)
    targets = [e.target for e in edges]
    if len(set(targets)) < 2:
        return edges
    distances = {target: _distances(graph, target) for target in set(targets)}

    def leads(a: str, b: str) -> bool:
        ahead, behind = distances[a].get(b), distances[b].get(a)
        return ahead is not None and (behind is None or ahead < behind)

    ranked = {target: sum(leads(target, other) for other in set(targets) if other != target) for target in targets}
    return sorted(edges, key=lambda e: -ranked[e.target])  # stable: document order among equals


def _distances(graph: FlowGraph, source: str) -> dict[str, int]:
    """Fewest flows from ``source`` to every node it reaches."""
    found = {source: 0}
    queue = deque([source])
    while queue:
        node_id = queue.popleft()
        for edge in graph.outgoing(node_id):
            if edge.target not in found:
                found[edge.target] = found[node_id] + 1
                queue.append(edge.target)
    return found
