"""A flow's drawing as plain data: shapes and edges in diagram coordinates, ready for a renderer."""

from __future__ import annotations

from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def center(self) -> Point:
        return (self.x + self.width / 2, self.y + self.height / 2)


@dataclass
class Shape:
    """One drawn BPMN element: a flow node, a pool, a lane or an artifact."""

    element_id: str
    kind: str  # BPMN local name: userTask, startEvent, exclusiveGateway, participant, lane, …
    name: str
    bounds: Bounds
    label: Bounds | None = None
    horizontal: bool = True
    expanded: bool = False
    marker: str | None = None  # event definition: timer, message, signal, error, terminate, …
    interrupting: bool = True
    marker_visible: bool = True


@dataclass
class Edge:
    element_id: str
    kind: str  # sequenceFlow, messageFlow, association, dataInputAssociation, dataOutputAssociation
    name: str
    points: list[Point]
    label: Bounds | None = None
    source: str | None = None
    target: str | None = None
    default: bool = False
    curved: bool = False  # points are cubic Bézier control points (graphviz layout)


@dataclass
class Diagram:
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    name: str = ""
    laid_out: bool = False  # True when graphviz placed the shapes (the file had no diagram layout)

    def extent(self) -> Bounds:
        xs: list[float] = []
        ys: list[float] = []
        for shape in self.shapes:
            for box in (shape.bounds, shape.label):
                if box is not None:
                    xs += [box.x, box.right]
                    ys += [box.y, box.bottom]
        for edge in self.edges:
            xs += [p[0] for p in edge.points]
            ys += [p[1] for p in edge.points]
            if edge.label is not None:
                xs += [edge.label.x, edge.label.right]
                ys += [edge.label.y, edge.label.bottom]
        if not xs:
            return Bounds(0, 0, 100, 50)
        return Bounds(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def flows_between(self, source: str, target: str) -> list[str]:
        return [e.element_id for e in self.edges if e.source == source and e.target == target]
