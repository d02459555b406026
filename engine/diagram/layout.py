"""Lay out a flow that has no diagram layout with graphviz ``dot``, left to right, lanes as boxes.

Only generated node names go into the graph; element names appear only as quoted labels, so a
name in an uploaded file can never change the graph's structure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict

from lxml import etree

from engine.definitions.conventions import ACTIVITY_TAGS, BPMN_NS, EVENT_TAGS, GATEWAY_TAGS
from engine.diagram.di import SemanticIndex, clean_text, local
from engine.diagram.drawing import Bounds, Diagram, Edge, Point, Shape
from engine.diagram.text import text_width

FONT = "WenQuanYi Zen Hei"
LABEL_SIZE = 12
DOT_TIMEOUT_SECONDS = 20
MAX_NODES = 2000

SIZES = {"event": (36.0, 36.0), "gateway": (50.0, 50.0), "activity": (100.0, 80.0)}


class LayoutUnavailable(RuntimeError):
    """graphviz is missing or failed; the caller shows the flow without a drawing."""


def family(kind: str) -> str | None:
    if kind in EVENT_TAGS:
        return "event"
    if kind in GATEWAY_TAGS:
        return "gateway"
    if kind in ACTIVITY_TAGS:
        return "activity"
    return None


def dot_quote(text: str) -> str:
    """A DOT double-quoted string that reads back as ``text``, with no escape sequences left active."""
    cleaned = "".join(ch for ch in text if ch.isprintable())
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _top_process(root: etree._Element) -> etree._Element | None:
    processes = [p for p in root.iter(f"{{{BPMN_NS}}}process")]
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    executable = [p for p in processes if p.get("isExecutable") == "true" and p.get("id") not in called]
    return (executable or processes or [None])[0]


def auto_layout(root: etree._Element, index: SemanticIndex) -> Diagram:
    process = _top_process(root)
    diagram = Diagram(name=index.process_name, laid_out=True)
    if process is None:
        return diagram
    nodes: dict[str, str] = {}  # element id -> dot node name
    kinds: dict[str, str] = {}
    for element in process:
        kind = local(element)
        element_id = element.get("id")
        if kind is None or not element_id or family(kind) is None or element_id in nodes:
            continue
        nodes[element_id] = f"n{len(nodes)}"
        kinds[element_id] = kind
        if len(nodes) >= MAX_NODES:
            break
    if not nodes:
        return diagram
    lanes = _leaf_lanes(process, nodes)
    flows = [
        f for f in process if local(f) == "sequenceFlow" and f.get("sourceRef") in nodes and f.get("targetRef") in nodes
    ]
    attached = {
        e.get("id"): e.get("attachedToRef")
        for e in process
        if local(e) == "boundaryEvent" and e.get("id") in nodes and e.get("attachedToRef") in nodes
    }
    source = _dot_source(nodes, kinds, lanes, flows, attached)
    graph = _run_dot(source)
    return _read_layout(graph, diagram, nodes, kinds, index, lanes, flows)


def _leaf_lanes(process: etree._Element, nodes: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(lane id, name, node ids) of lanes without child lanes that hold drawn nodes."""
    result = []
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        if lane.find(f"{{{BPMN_NS}}}childLaneSet") is not None:
            continue
        members = []
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            node_id = (ref.text or "").strip()
            if node_id in nodes and node_id not in members:
                members.append(node_id)
        if members and lane.get("id"):
            result.append((lane.get("id") or "", clean_text(lane.get("name")), members))
    seen: set[str] = set()
    unique = []
    for lane_id, name, members in result:
        members = [m for m in members if m not in seen]
        seen.update(members)
        if members:
            unique.append((lane_id, name, members))
    return unique


def _dot_source(nodes, kinds, lanes, flows, attached) -> str:
    lines = [
        "digraph flow {",
        "rankdir=LR; nodesep=0.7; ranksep=0.6; splines=true; newrank=true;",
        f"graph [fontname={dot_quote(FONT)} fontsize={LABEL_SIZE}];",
        f'node [fontname={dot_quote(FONT)} fontsize={LABEL_SIZE} label="" fixedsize=true];',
        f"edge [fontname={dot_quote(FONT)} fontsize={LABEL_SIZE}];",
    ]

    def node_line(element_id: str) -> str:
        width, height = SIZES[family(kinds[element_id]) or "activity"]
        if family(kinds[element_id]) != "activity":
            height += 30  # room for the name written under events and gateways
        return f"{nodes[element_id]} [shape=box width={width / 72:.3f} height={height / 72:.3f}];"

    in_lane = set()
    for number, (_lane_id, _name, members) in enumerate(lanes):
        lines.append(f'subgraph cluster_{number} {{ label=""; margin=16;')
        for member in members:
            lines.append(node_line(member))
            in_lane.add(member)
        lines.append("}")
    for element_id in nodes:
        if element_id not in in_lane:
            lines.append(node_line(element_id))
    for flow in flows:
        name = clean_text(flow.get("name"))
        label = f" [label={dot_quote(name)}]" if name else ""
        lines.append(f"{nodes[flow.get('sourceRef')]} -> {nodes[flow.get('targetRef')]}{label};")
    for event_id, host_id in attached.items():
        lines.append(f"{nodes[host_id]} -> {nodes[event_id]} [style=invis];")
    lines.append("}")
    return "\n".join(lines)


def _run_dot(source: str) -> dict:
    dot = shutil.which("dot")
    if dot is None:
        raise LayoutUnavailable("graphviz 'dot' is not installed")
    try:
        done = subprocess.run(
            [dot, "-Tjson0"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LayoutUnavailable("graphviz took too long to lay the flow out") from exc
    if done.returncode != 0:
        raise LayoutUnavailable(f"graphviz failed: {done.stderr.decode('utf-8', 'replace')[:200]}")
    return json.loads(done.stdout)


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def _read_layout(graph, diagram, nodes, kinds, index, lanes, flows) -> Diagram:
    top = _floats(graph.get("bb", "0,0,0,0"))[3]

    def flip(x: float, y: float) -> Point:
        return (round(x, 1), round(top - y, 1))

    by_name = {obj.get("name"): obj for obj in graph.get("objects", [])}
    for number, (lane_id, name, _members) in enumerate(lanes):
        cluster = by_name.get(f"cluster_{number}")
        if cluster and cluster.get("bb"):
            x1, y1, x2, y2 = _floats(cluster["bb"])
            (left, upper), (right, lower) = flip(x1, y2), flip(x2, y1)
            # The name goes in a band above the box dot drew, read left to right.
            box = Bounds(left, upper - 30, right - left, lower - upper + 30)
            diagram.shapes.append(Shape(lane_id, "lane", name, box, horizontal=False))
    element_of = {name: element_id for element_id, name in nodes.items()}
    for obj in graph.get("objects", []):
        element_id = element_of.get(obj.get("name"))
        if element_id is None or "pos" not in obj:
            continue
        x, y = flip(*_floats(obj["pos"]))
        kind = kinds[element_id]
        width, height = SIZES[family(kind) or "activity"]
        semantic = index.elements.get(element_id)
        shape = Shape(
            element_id,
            kind,
            semantic.name if semantic else "",
            Bounds(x - width / 2, y - height / 2 - (15 if family(kind) != "activity" else 0), width, height),
            marker=semantic.marker if semantic else None,
            interrupting=semantic.interrupting if semantic else True,
        )
        diagram.shapes.append(shape)
    edges_by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for edge in graph.get("edges", []):
        if edge.get("style") == "invis":
            continue
        tail = element_of.get(by_name_of(graph, edge.get("tail")))
        head = element_of.get(by_name_of(graph, edge.get("head")))
        if tail and head:
            edges_by_pair[(tail, head)].append(edge)
    for flow in flows:
        pair = (flow.get("sourceRef"), flow.get("targetRef"))
        laid = edges_by_pair.get(pair)
        if not laid:
            continue
        edge = laid.pop(0)
        points, end = _spline(edge.get("pos", ""))
        if len(points) < 2:
            continue
        semantic = index.elements.get(flow.get("id") or "")
        label = None
        name = semantic.name if semantic else ""
        if name and edge.get("lp"):
            lx, ly = flip(*_floats(edge["lp"]))
            width = text_width(name, LABEL_SIZE) + 4
            label = Bounds(lx - width / 2, ly - 8, width, 16)
        diagram.edges.append(
            Edge(
                flow.get("id") or "",
                "sequenceFlow",
                name,
                [flip(*p) for p in points] + ([flip(*end)] if end else []),
                label=label,
                source=pair[0],
                target=pair[1],
                default=bool(semantic and semantic.default),
                curved=True,
            )
        )
    return diagram


def by_name_of(graph: dict, gvid) -> str | None:
    objects = graph.get("objects", [])
    if isinstance(gvid, int) and 0 <= gvid < len(objects):
        return objects[gvid].get("name")
    return None


def _spline(pos: str) -> tuple[list[Point], Point | None]:
    """Control points and the arrow tip of a dot edge ``pos`` (``e,x,y x,y x,y …``)."""
    end = None
    points: list[Point] = []
    for part in pos.split():
        if part.startswith("e,"):
            values = _floats(part[2:])
            end = (values[0], values[1])
        elif part.startswith("s,"):
            continue
        else:
            values = _floats(part)
            points.append((values[0], values[1]))
    return points, end
