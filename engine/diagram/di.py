"""Read a BPMN file's own diagram layout (BPMN DI): shapes, edges with waypoints, lanes and labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.definitions.conventions import BPMN_NS, BPMNDI_NS
from engine.diagram.drawing import Bounds, Diagram, Edge, Shape

DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

EVENT_MARKERS = {
    "timerEventDefinition": "timer",
    "messageEventDefinition": "message",
    "signalEventDefinition": "signal",
    "errorEventDefinition": "error",
    "escalationEventDefinition": "escalation",
    "conditionalEventDefinition": "conditional",
    "linkEventDefinition": "link",
    "terminateEventDefinition": "terminate",
    "compensateEventDefinition": "compensation",
    "cancelEventDefinition": "cancel",
}
EDGE_KINDS = frozenset({"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"})


@dataclass
class Semantic:
    """What the drawing needs to know about one BPMN element."""

    kind: str
    name: str
    marker: str | None = None
    interrupting: bool = True
    source: str | None = None
    target: str | None = None
    default: bool = False


@dataclass
class SemanticIndex:
    elements: dict[str, Semantic] = field(default_factory=dict)
    process_name: str = ""


def local(element: etree._Element, namespace: str = BPMN_NS) -> str | None:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{namespace}}}"):
        return None
    return tag[len(namespace) + 2 :]


def clean_text(value: str | None) -> str:
    """Names as shown: whitespace runs collapsed, control characters dropped."""
    if not value:
        return ""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in value)
    return " ".join(text.split())


def semantic_index(root: etree._Element) -> SemanticIndex:
    index = SemanticIndex()
    defaults: set[str] = set()
    for element in root.iter():
        kind = local(element)
        if kind is None:
            continue
        element_id = element.get("id")
        if kind == "process" and element.get("isExecutable") == "true" and not index.process_name:
            index.process_name = clean_text(element.get("name")) or (element_id or "")
        if element.get("default"):
            defaults.add(element.get("default") or "")
        if not element_id or element_id in index.elements:
            continue
        semantic = Semantic(kind=kind, name=clean_text(element.get("name")))
        if kind == "textAnnotation":
            text = element.find(f"{{{BPMN_NS}}}text")
            semantic.name = clean_text(text.text if text is not None else "")
        for child in element:
            marker = EVENT_MARKERS.get(local(child) or "")
            if marker:
                semantic.marker = marker if semantic.marker is None else "multiple"
        if kind == "boundaryEvent":
            semantic.interrupting = element.get("cancelActivity", "true") != "false"
        elif kind == "startEvent":
            semantic.interrupting = element.get("isInterrupting", "true") != "false"
        if kind in EDGE_KINDS:
            semantic.source, semantic.target = _ends(element)
        index.elements[element_id] = semantic
    for flow_id in defaults:
        if flow_id in index.elements:
            index.elements[flow_id].default = True
    return index


def _ends(element: etree._Element) -> tuple[str | None, str | None]:
    source, target = element.get("sourceRef"), element.get("targetRef")
    if source is None:  # data associations name their ends as child elements
        found = element.find(f"{{{BPMN_NS}}}sourceRef")
        source = found.text.strip() if found is not None and found.text else None
    if target is None:
        found = element.find(f"{{{BPMN_NS}}}targetRef")
        target = found.text.strip() if found is not None and found.text else None
    return source, target


def _bounds(element: etree._Element | None) -> Bounds | None:
    if element is None:
        return None
    try:
        values = [float(element.get(name, "")) for name in ("x", "y", "width", "height")]
    except ValueError:
        return None
    if any(v != v or abs(v) > 1e6 for v in values) or values[2] < 0 or values[3] < 0:
        return None
    return Bounds(*values)


def _label_bounds(element: etree._Element) -> Bounds | None:
    label = element.find(f"{{{BPMNDI_NS}}}BPMNLabel")
    if label is None:
        return None
    return _bounds(label.find(f"{{{DC_NS}}}Bounds"))


def choose_plane(root: etree._Element, index: SemanticIndex) -> etree._Element | None:
    """The plane that draws the collaboration or the executable process (not a drill-down plane)."""
    planes = root.findall(f".//{{{BPMNDI_NS}}}BPMNPlane")
    for plane in planes:
        semantic = index.elements.get(plane.get("bpmnElement") or "")
        if semantic is not None and semantic.kind in ("collaboration", "process"):
            return plane
    return planes[0] if planes else None


def from_di(root: etree._Element, index: SemanticIndex | None = None) -> Diagram | None:
    """The diagram as drawn in the modeler, or None when the file carries no layout."""
    index = index or semantic_index(root)
    plane = choose_plane(root, index)
    if plane is None:
        return None
    diagram = Diagram(name=index.process_name)
    for element in plane:
        kind = local(element, BPMNDI_NS)
        ref = element.get("bpmnElement") or ""
        semantic = index.elements.get(ref)
        if kind == "BPMNShape":
            bounds = _bounds(element.find(f"{{{DC_NS}}}Bounds"))
            if bounds is None or semantic is None:
                continue
            diagram.shapes.append(
                Shape(
                    element_id=ref,
                    kind=semantic.kind,
                    name=semantic.name,
                    bounds=bounds,
                    label=_label_bounds(element),
                    horizontal=element.get("isHorizontal", "true") != "false",
                    expanded=element.get("isExpanded") == "true",
                    marker=semantic.marker,
                    interrupting=semantic.interrupting,
                    marker_visible=element.get("isMarkerVisible", "true") != "false",
                )
            )
        elif kind == "BPMNEdge":
            points = []
            for waypoint in element.findall(f"{{{DI_NS}}}waypoint"):
                try:
                    point = (float(waypoint.get("x", "")), float(waypoint.get("y", "")))
                except ValueError:
                    continue
                if all(abs(v) < 1e6 for v in point):
                    points.append(point)
            if len(points) < 2 or semantic is None:
                continue
            diagram.edges.append(
                Edge(
                    element_id=ref,
                    kind=semantic.kind,
                    name=semantic.name,
                    points=points,
                    label=_label_bounds(element),
                    source=semantic.source,
                    target=semantic.target,
                    default=semantic.default,
                )
            )
    if not diagram.shapes:
        return None
    # Containers first, so the nodes inside are drawn over them.
    diagram.shapes.sort(key=_drawing_order)
    return diagram


CONTAINER_RANK = {"participant": 0, "lane": 1, "subProcess": 2, "transaction": 2, "adHocSubProcess": 2}


def _drawing_order(shape: Shape) -> tuple[int, float]:
    rank = CONTAINER_RANK.get(shape.kind, 3)
    if rank == 2 and not shape.expanded:
        rank = 3
    # Among containers the larger is drawn first, so nested ones stay visible.
    return (rank, -shape.bounds.width * shape.bounds.height if rank < 3 else 0.0)
