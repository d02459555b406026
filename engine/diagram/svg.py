"""Draw a :class:`Diagram` as SVG. States are CSS classes on the shapes, so one drawing serves the
matter page, replays and print.

Every piece of text comes from an uploaded file and is written through lxml, which escapes it;
nothing from the file becomes an element name, an ``id``, a class, a style or a URL.
"""

from __future__ import annotations

import math
from importlib import resources

from lxml import etree

from engine import texts as words
from engine.diagram.drawing import Bounds, Diagram, Edge, Point, Shape
from engine.diagram.layout import family
from engine.diagram.text import text_width, wrap

SVG_NS = "http://www.w3.org/2000/svg"
STATES = ("done", "current", "overdue", "skipped")
FONT_SIZE = 12
LINE_HEIGHT = 14
PADDING = 12

# the drawing's look, embedded in every SVG so a drawing served alone looks the same
STYLE = resources.files(__package__).joinpath("diagram.css").read_text(encoding="utf-8")


def _el(parent: etree._Element, tag: str, **attributes) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attributes.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        element.set(name, _num(value) if isinstance(value, float | int) else str(value))
    return element


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def render_svg(
    diagram: Diagram,
    states: dict[str, str] | None = None,
    *,
    title: str | None = None,
    id_prefix: str = "pl",
    max_width: float | None = None,
) -> str:
    """The SVG text. ``states`` maps element ids (flow nodes and sequence flows) to a state in
    :data:`STATES`; unknown states are ignored."""
    states = {k: v for k, v in (states or {}).items() if v in STATES}
    extent = diagram.extent()
    dx, dy = PADDING - extent.x, PADDING - extent.y
    width, height = extent.width + 2 * PADDING, extent.height + 2 * PADDING
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    root.set("class", "pl-diagram")
    root.set("viewBox", f"0 0 {_num(width)} {_num(height)}")
    root.set("width", _num(min(width, max_width) if max_width else width))
    root.set("height", _num(height * (min(width, max_width) / width) if max_width else height))
    root.set("role", "img")
    root.set("preserveAspectRatio", "xMinYMin meet")
    focus = focus_point(diagram, states)
    if focus is not None:  # where a phone opens the drawing: the step in progress, else where the flow starts
        root.set("data-focus-x", _num(focus[0] + dx))
        root.set("data-focus-y", _num(focus[1] + dy))
    _el(root, "title").text = title or diagram.name or words.text("diagram.title")
    _el(root, "style").text = STYLE
    _defs(root, id_prefix)
    canvas = _el(root, "g", transform=f"translate({_num(dx)} {_num(dy)})")
    for shape in diagram.shapes:
        if shape.kind in ("participant", "lane", "subProcess", "transaction", "adHocSubProcess", "group") and (
            shape.kind in ("participant", "lane", "group") or shape.expanded
        ):
            _container(canvas, shape, states.get(shape.element_id))
    for edge in diagram.edges:
        _edge(canvas, edge, states.get(edge.element_id), id_prefix)
    for shape in diagram.shapes:
        if shape.kind in ("participant", "lane", "group") or (shape.expanded and family(shape.kind) == "activity"):
            continue
        _shape(canvas, shape, states.get(shape.element_id))
    return etree.tostring(root, encoding="unicode")


CONTAINERS = ("participant", "lane", "group", "textAnnotation")


def focus_point(diagram: Diagram, states: dict[str, str]) -> Point | None:
    """The centre of the first step in progress (overdue or current), else of the flow's first start
    event, else of the first flow node: a tall or wide drawing opens there, not on empty lanes."""
    nodes = [shape for shape in diagram.shapes if shape.kind not in CONTAINERS and not shape.expanded]
    for wanted in ("overdue", "current"):
        for shape in nodes:
            if states.get(shape.element_id) == wanted:
                return shape.bounds.center
    starts = [shape for shape in nodes if shape.kind == "startEvent"]
    chosen = starts or nodes
    if not chosen:
        return None
    return min(chosen, key=lambda shape: (shape.bounds.x, shape.bounds.y)).bounds.center


def _defs(root: etree._Element, prefix: str) -> None:
    defs = _el(root, "defs")
    for name, css in (("arrow", "pl-marker-fill"), ("arrow-done", "pl-arrow-done")):
        marker = _el(
            defs,
            "marker",
            id=f"{prefix}-{name}",
            viewBox="0 0 10 10",
            refX=10,
            refY=5,
            markerWidth=10,
            markerHeight=10,
            markerUnits="userSpaceOnUse",
            orient="auto-start-reverse",
        )
        _el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", class_=css)
    marker = _el(
        defs,
        "marker",
        id=f"{prefix}-open",
        viewBox="0 0 10 10",
        refX=10,
        refY=5,
        markerWidth=11,
        markerHeight=11,
        markerUnits="userSpaceOnUse",
        orient="auto",
    )
    _el(marker, "path", d="M 0 0 L 10 5 L 0 10", class_="pl-marker")
    marker = _el(
        defs,
        "marker",
        id=f"{prefix}-circle",
        viewBox="0 0 10 10",
        refX=5,
        refY=5,
        markerWidth=10,
        markerHeight=10,
        markerUnits="userSpaceOnUse",
    )
    _el(marker, "circle", cx=5, cy=5, r=4, class_="pl-marker")


def _classes(*names: str | None) -> str:
    return " ".join(n for n in names if n)


def _tooltip(group: etree._Element, shape: Shape, state: str | None) -> None:
    name = shape.name or shape.element_id
    if state:
        name = words.text("diagram.tooltip", name=name, state=words.texts("diagram.states")[state])
    _el(group, "title").text = name


def _container(canvas: etree._Element, shape: Shape, state: str | None) -> None:
    kind = {"participant": "pl-pool", "lane": "pl-lane", "group": "pl-group"}.get(shape.kind, "pl-subprocess")
    group = _el(canvas, "g", class_=_classes("pl-shape", kind, state), data_element_id=shape.element_id)
    _tooltip(group, shape, state)
    b = shape.bounds
    if shape.kind == "group":
        _el(group, "rect", x=b.x, y=b.y, width=b.width, height=b.height, rx=8)
        if shape.name:
            _text_block(group, shape.name, Bounds(b.x + 4, b.y + 4, b.width - 8, 40), anchor="start", valign="top")
        return
    if shape.kind in ("participant", "lane"):
        _el(group, "rect", x=b.x, y=b.y, width=b.width, height=b.height)
        band = 30.0
        if shape.horizontal:
            _el(group, "rect", x=b.x, y=b.y, width=band, height=b.height, class_="pl-band")
            _vertical_text(group, shape.name, b.x + band / 2, b.y, b.height)
        else:
            _el(group, "rect", x=b.x, y=b.y, width=b.width, height=band, class_="pl-band")
            _text_block(group, shape.name, Bounds(b.x, b.y, b.width, band), max_lines=2)
        return
    _el(group, "rect", x=b.x, y=b.y, width=b.width, height=b.height, rx=10)
    _text_block(group, shape.name, Bounds(b.x + 6, b.y + 4, b.width - 12, 34), anchor="start", valign="top")


def _vertical_text(group: etree._Element, text: str, x: float, top: float, height: float) -> None:
    """Lane and pool names read top to bottom, one upright character per line, as on Chinese charts."""
    if not text:
        return
    if not _mostly_cjk(text):
        node = _el(
            group,
            "text",
            x=x,
            y=top + height / 2,
            text_anchor="middle",
            dominant_baseline="central",
            transform=f"rotate(-90 {_num(x)} {_num(top + height / 2)})",
        )
        node.text = wrap(text, height - 8, FONT_SIZE, 1)[0]
        return
    per_line = FONT_SIZE + 2
    capacity = max(int((height - 8) // per_line), 1)
    chars = list(text.replace(" ", ""))
    if len(chars) > capacity:
        chars = chars[: max(capacity - 1, 1)] + ["…"]
    start = top + height / 2 - (len(chars) - 1) * per_line / 2
    node = _el(group, "text", x=x, y=start, text_anchor="middle", dominant_baseline="central")
    for number, ch in enumerate(chars):
        span = _el(node, "tspan", x=x, dy=0 if number == 0 else per_line)
        span.text = ch


def _mostly_cjk(text: str) -> bool:
    wide = sum(1 for ch in text if text_width(ch, 2) == 2)
    return wide * 2 >= len(text.replace(" ", ""))


def _text_block(
    group: etree._Element,
    text: str,
    box: Bounds,
    *,
    anchor: str = "middle",
    valign: str = "middle",
    max_lines: int | None = None,
    css: str | None = None,
    size: float = FONT_SIZE,
) -> None:
    if not text:
        return
    lines_fit = max(int(box.height // LINE_HEIGHT), 1)
    lines = wrap(text, box.width, size, max_lines or lines_fit)
    x = box.x + box.width / 2 if anchor == "middle" else box.x
    if valign == "top":
        y = box.y + LINE_HEIGHT / 2 + 1
    else:
        y = box.y + box.height / 2 - (len(lines) - 1) * LINE_HEIGHT / 2
    node = _el(group, "text", x=x, y=y, text_anchor=anchor, dominant_baseline="central", class_=css)
    for number, line in enumerate(lines):
        span = _el(node, "tspan", x=x, dy=0 if number == 0 else LINE_HEIGHT)
        span.text = line


def _shape(canvas: etree._Element, shape: Shape, state: str | None) -> None:
    kind_family = family(shape.kind)
    b = shape.bounds
    if kind_family == "activity":
        css = "pl-call" if shape.kind == "callActivity" else "pl-task"
        group = _el(canvas, "g", class_=_classes("pl-shape", css, state), data_element_id=shape.element_id)
        _tooltip(group, shape, state)
        _el(group, "rect", x=b.x, y=b.y, width=b.width, height=b.height, rx=10)
        _task_icon(group, shape)
        top = 14 if b.height >= 60 else 4
        _text_block(group, shape.name, Bounds(b.x + 5, b.y + top, b.width - 10, b.height - top - 4))
        if shape.kind in ("subProcess", "transaction", "adHocSubProcess", "callActivity") and not shape.expanded:
            cx, bottom = b.x + b.width / 2, b.bottom
            icon = _el(group, "g", class_="pl-icon")
            _el(icon, "rect", x=cx - 7, y=bottom - 16, width=14, height=14, class_="pl-marker")
            _el(
                icon,
                "path",
                d=f"M {cx - 4} {bottom - 9} H {cx + 4} M {cx} {bottom - 13} V {bottom - 5}",
                class_="pl-marker",
            )
        return
    if kind_family == "event":
        css = _classes(
            "pl-event",
            "pl-end" if shape.kind == "endEvent" else None,
            None if shape.interrupting else "pl-noninterrupting",
        )
        group = _el(canvas, "g", class_=_classes("pl-shape", css, state), data_element_id=shape.element_id)
        _tooltip(group, shape, state)
        cx, cy = b.center
        r = min(b.width, b.height) / 2
        _el(group, "circle", cx=cx, cy=cy, r=r)
        if shape.kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            _el(_el(group, "g", class_="pl-icon"), "circle", cx=cx, cy=cy, r=max(r - 3, 1), class_="pl-marker")
        _event_marker(group, shape.marker, cx, cy, r)
        _outside_label(group, shape)
        return
    if kind_family == "gateway":
        group = _el(canvas, "g", class_=_classes("pl-shape", "pl-gateway", state), data_element_id=shape.element_id)
        _tooltip(group, shape, state)
        cx, cy = b.center
        points = f"{_num(cx)},{_num(b.y)} {_num(b.right)},{_num(cy)} {_num(cx)},{_num(b.bottom)} {_num(b.x)},{_num(cy)}"
        _el(group, "polygon", points=points)
        _gateway_marker(group, shape, cx, cy, min(b.width, b.height))
        _outside_label(group, shape)
        return
    _artifact(canvas, shape, state)


def _task_icon(parent: etree._Element, shape: Shape) -> None:
    group = _el(parent, "g", class_="pl-icon")
    x, y = shape.bounds.x + 8, shape.bounds.y + 8
    if shape.kind == "userTask":
        _el(group, "circle", cx=x + 6, cy=y + 4, r=3.5, class_="pl-marker")
        _el(group, "path", d=f"M {x} {y + 15} C {x} {y + 8} {x + 12} {y + 8} {x + 12} {y + 15} Z", class_="pl-marker")
    elif shape.kind == "scriptTask":
        _el(
            group,
            "path",
            d=f"M {x} {y} H {x + 10} V {y + 14} H {x} Z M {x + 2} {y + 4} H {x + 8} M {x + 2} "
            f"{y + 7} H {x + 8} M {x + 2} {y + 10} H {x + 8}",
            class_="pl-marker",
        )
    elif shape.kind in ("serviceTask", "businessRuleTask"):
        _el(group, "circle", cx=x + 6, cy=y + 6, r=5, class_="pl-marker")
        _el(group, "circle", cx=x + 6, cy=y + 6, r=2, class_="pl-marker")
    elif shape.kind in ("sendTask", "receiveTask"):
        css = "pl-marker-fill" if shape.kind == "sendTask" else "pl-marker"
        _el(group, "rect", x=x, y=y + 2, width=14, height=10, class_=css)
        _el(group, "path", d=f"M {x} {y + 2} L {x + 7} {y + 8} L {x + 14} {y + 2}", class_="pl-marker")


def _event_marker(parent: etree._Element, marker: str | None, cx: float, cy: float, r: float) -> None:
    group = _el(parent, "g", class_="pl-icon")
    s = r * 0.5
    if marker == "timer":
        _el(group, "circle", cx=cx, cy=cy, r=s * 1.1, class_="pl-marker")
        _el(group, "path", d=f"M {cx} {cy - s * 0.8} V {cy} L {cx + s * 0.6} {cy + s * 0.3}", class_="pl-marker")
    elif marker == "message":
        _el(group, "rect", x=cx - s, y=cy - s * 0.7, width=2 * s, height=1.4 * s, class_="pl-marker")
        _el(group, "path", d=f"M {cx - s} {cy - s * 0.7} L {cx} {cy} L {cx + s} {cy - s * 0.7}", class_="pl-marker")
    elif marker == "terminate":
        _el(group, "circle", cx=cx, cy=cy, r=s * 1.1, class_="pl-marker-fill")
    elif marker == "signal":
        _el(
            group,
            "polygon",
            points=f"{_num(cx)},{_num(cy - s)} {_num(cx + s)},{_num(cy + s * 0.7)} {_num(cx - s)},{_num(cy + s * 0.7)}",
            class_="pl-marker",
        )
    elif marker == "error":
        _el(
            group,
            "path",
            d=f"M {cx - s} {cy + s} L {cx - s * 0.4} {cy - s} L {cx + s * 0.3} {cy + s * 0.2} L {cx + s} {cy - s}",
            class_="pl-marker",
        )
    elif marker == "escalation":
        _el(
            group,
            "path",
            d=f"M {cx - s * 0.7} {cy + s} L {cx} {cy - s} L {cx + s * 0.7} {cy + s} L {cx} {cy + s * 0.2} Z",
            class_="pl-marker",
        )
    elif marker == "conditional":
        _el(group, "rect", x=cx - s * 0.7, y=cy - s, width=s * 1.4, height=2 * s, class_="pl-marker")
        lines = " ".join(f"M {cx - s * 0.45} {cy + k * s * 0.45} H {cx + s * 0.45}" for k in (-1, 0, 1))
        _el(group, "path", d=lines, class_="pl-marker")
    elif marker == "link":
        _el(
            group,
            "path",
            d=f"M {cx - s} {cy - s * 0.3} H {cx + s * 0.2} V {cy - s * 0.7} L {cx + s} {cy} "
            f"L {cx + s * 0.2} {cy + s * 0.7} V {cy + s * 0.3} H {cx - s} Z",
            class_="pl-marker",
        )
    elif marker in ("compensation", "cancel", "multiple"):
        _el(
            group,
            "path",
            d=f"M {cx - s * 0.7} {cy - s * 0.7} L {cx + s * 0.7} {cy + s * 0.7} "
            f"M {cx + s * 0.7} {cy - s * 0.7} L {cx - s * 0.7} {cy + s * 0.7}",
            class_="pl-marker",
        )


def _gateway_marker(parent: etree._Element, shape: Shape, cx: float, cy: float, size: float) -> None:
    group = _el(parent, "g", class_="pl-icon")
    s = size * 0.2
    if shape.kind == "exclusiveGateway":
        if shape.marker_visible:
            _el(
                group,
                "path",
                d=f"M {cx - s} {cy - s} L {cx + s} {cy + s} M {cx + s} {cy - s} L {cx - s} {cy + s}",
                class_="pl-marker",
                stroke_width=3,
            )
    elif shape.kind == "parallelGateway":
        _el(
            group,
            "path",
            d=f"M {cx} {cy - s * 1.3} V {cy + s * 1.3} M {cx - s * 1.3} {cy} H {cx + s * 1.3}",
            class_="pl-marker",
            stroke_width=3,
        )
    elif shape.kind == "inclusiveGateway":
        _el(group, "circle", cx=cx, cy=cy, r=s * 1.2, class_="pl-marker", stroke_width=2.5)
    elif shape.kind == "eventBasedGateway":
        _el(group, "circle", cx=cx, cy=cy, r=s * 1.3, class_="pl-marker")
        pentagon = " ".join(
            f"{_num(cx + s * 0.8 * math.sin(2 * math.pi * k / 5))},{_num(cy - s * 0.8 * math.cos(2 * math.pi * k / 5))}"
            for k in range(5)
        )
        _el(group, "polygon", points=pentagon, class_="pl-marker")
    elif shape.kind == "complexGateway":
        d = " ".join(
            f"M {cx - s * 1.2 * math.cos(a)} {cy - s * 1.2 * math.sin(a)} L {cx + s * 1.2 * math.cos(a)} "
            f"{cy + s * 1.2 * math.sin(a)}"
            for a in (0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
        )
        _el(group, "path", d=d, class_="pl-marker", stroke_width=2.5)


def _outside_label(group: etree._Element, shape: Shape) -> None:
    if not shape.name:
        return
    b = shape.bounds
    if shape.label is not None and shape.label.width > 0:
        box = shape.label
        # Modelers size label boxes for their own font: widen to fit, keep the centre.
        lines = wrap(shape.name, max(box.width, 90), FONT_SIZE)
        width = max(box.width, min(max(text_width(line, FONT_SIZE) for line in lines) + 4, 140))
        box = Bounds(box.x + box.width / 2 - width / 2, box.y, width, max(box.height, LINE_HEIGHT * len(lines)))
        _text_block(group, shape.name, box, max_lines=4)
        return
    width = max(b.width + 60, 100)
    _text_block(
        group,
        shape.name,
        Bounds(b.x + b.width / 2 - width / 2, b.bottom + 4, width, 3 * LINE_HEIGHT),
        valign="top",
        max_lines=3,
    )


def _artifact(canvas: etree._Element, shape: Shape, state: str | None) -> None:
    b = shape.bounds
    group = _el(canvas, "g", class_=_classes("pl-shape", "pl-artifact", state), data_element_id=shape.element_id)
    _tooltip(group, shape, state)
    if shape.kind == "textAnnotation":
        group.set("class", _classes("pl-shape", "pl-annotation", state))
        _el(group, "path", d=f"M {b.x + 15} {b.y} H {b.x} V {b.bottom} H {b.x + 15}")
        _text_block(group, shape.name, Bounds(b.x + 5, b.y + 2, b.width - 8, b.height - 4), anchor="start")
        return
    if shape.kind in ("dataObject", "dataObjectReference", "dataInput", "dataOutput"):
        fold = min(10.0, b.width / 3)
        _el(
            group,
            "path",
            class_="pl-outline",
            d=f"M {b.x} {b.y} H {b.right - fold} L {b.right} {b.y + fold} V {b.bottom} H {b.x} Z "
            f"M {b.right - fold} {b.y} V {b.y + fold} H {b.right}",
        )
    elif shape.kind in ("dataStore", "dataStoreReference"):
        ry = min(8.0, b.height / 6)
        _el(
            group,
            "path",
            class_="pl-outline",
            d=f"M {b.x} {b.y + ry} A {b.width / 2} {ry} 0 0 1 {b.right} {b.y + ry} V {b.bottom - ry} "
            f"A {b.width / 2} {ry} 0 0 1 {b.x} {b.bottom - ry} Z "
            f"M {b.x} {b.y + ry} A {b.width / 2} {ry} 0 0 0 {b.right} {b.y + ry}",
        )
    else:
        _el(group, "rect", x=b.x, y=b.y, width=b.width, height=b.height, rx=4)
        _text_block(group, shape.name, Bounds(b.x + 4, b.y + 2, b.width - 8, b.height - 4))
        return
    _outside_label(group, shape)


def _edge(canvas: etree._Element, edge: Edge, state: str | None, prefix: str) -> None:
    kind = {"messageFlow": "pl-message", "sequenceFlow": "pl-sequence"}.get(edge.kind, "pl-association")
    group = _el(canvas, "g", class_=_classes("pl-edge", kind, state), data_element_id=edge.element_id)
    if edge.name:
        _el(group, "title").text = edge.name
    path = _el(group, "path", d=_path_data(edge))
    if edge.kind == "sequenceFlow":
        path.set("marker-end", f"url(#{prefix}-{'arrow-done' if state == 'done' else 'arrow'})")
        if edge.default and len(edge.points) >= 2:
            _default_mark(group, edge.points[0], edge.points[1])
    elif edge.kind == "messageFlow":
        path.set("marker-start", f"url(#{prefix}-circle)")
        path.set("marker-end", f"url(#{prefix}-open)")
    elif edge.kind in ("dataInputAssociation", "dataOutputAssociation"):
        path.set("marker-end", f"url(#{prefix}-open)")
    if edge.name:
        if edge.label is not None and edge.label.width > 0:
            width = max(edge.label.width, min(text_width(edge.name, 11) + 4, 160))
            box = Bounds(edge.label.x, edge.label.y, width, max(edge.label.height, LINE_HEIGHT))
            _text_block(group, edge.name, box, anchor="start", max_lines=3, css="pl-edge-label", size=11)
        else:
            x, y = _midpoint(edge.points)
            width = min(text_width(edge.name, 11) + 4, 160)
            _text_block(
                group,
                edge.name,
                Bounds(x + 4, y - LINE_HEIGHT - 2, width, LINE_HEIGHT * 2),
                anchor="start",
                max_lines=2,
                css="pl-edge-label",
                size=11,
            )


def _path_data(edge: Edge) -> str:
    points = edge.points
    if edge.curved and len(points) >= 4:
        # graphviz: a B-spline of 3k+1 control points, then the arrow tip.
        tip = points[-1] if (len(points) - 1) % 3 == 1 else None
        controls = points[:-1] if tip is not None else points
        parts = [f"M {_num(controls[0][0])} {_num(controls[0][1])}"]
        for i in range(1, len(controls) - 2, 3):
            (x1, y1), (x2, y2), (x3, y3) = controls[i : i + 3]
            parts.append(f"C {_num(x1)} {_num(y1)} {_num(x2)} {_num(y2)} {_num(x3)} {_num(y3)}")
        if tip is not None:
            parts.append(f"L {_num(tip[0])} {_num(tip[1])}")
        return " ".join(parts)
    head, *rest = points
    return f"M {_num(head[0])} {_num(head[1])} " + " ".join(f"L {_num(x)} {_num(y)}" for x, y in rest)


def _default_mark(group: etree._Element, start: Point, after: Point) -> None:
    dx, dy = after[0] - start[0], after[1] - start[1]
    length = math.hypot(dx, dy) or 1
    ux, uy = dx / length, dy / length
    mx, my = start[0] + ux * 10, start[1] + uy * 10
    nx, ny = -uy, ux
    _el(
        group,
        "path",
        d=f"M {_num(mx - nx * 5 - ux * 3)} {_num(my - ny * 5 - uy * 3)} "
        f"L {_num(mx + nx * 5 + ux * 3)} {_num(my + ny * 5 + uy * 3)}",
        class_="pl-marker",
    )


def _midpoint(points: list[Point]) -> Point:
    lengths = [math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(points, points[1:], strict=False)]
    half = sum(lengths) / 2
    for (a, b), length in zip(zip(points, points[1:], strict=False), lengths, strict=False):
        if half <= length and length > 0:
            t = half / length
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        half -= length
    return points[0]
