"""Flow diagrams as SVG: from the file's own layout (BPMN DI) when it has one, else laid out by graphviz.

svg = flow_svg(bpmn_xml, {"propose": "done", "discuss": "current"})
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from engine import caches
from engine.definitions.safe_xml import parse_xml
from engine.diagram.di import from_di, semantic_index
from engine.diagram.drawing import Bounds, Diagram, Edge, Shape
from engine.diagram.layout import LayoutUnavailable, auto_layout
from engine.diagram.svg import STATES, render_svg

__all__ = [
    "STATES",
    "Bounds",
    "Diagram",
    "DiagramUnavailable",
    "Edge",
    "Shape",
    "diagram_of",
    "flow_svg",
    "render_svg",
]

CACHE_SIZE = 64


class DiagramUnavailable(Exception):
    """The file cannot be drawn (unreadable XML, or no layout and no graphviz)."""


# Keyed by the drawn content's SHA-256 and bounded: safe to share between databases.
_cache: OrderedDict[str, Diagram] = OrderedDict()
_lock = threading.Lock()
caches.register(_cache.clear)


def diagram_of(bpmn: str | bytes) -> Diagram:
    """The flow's drawing; built once per content and kept (deployed versions never change)."""
    content = bpmn.encode("utf-8") if isinstance(bpmn, str) else bytes(bpmn)
    key = hashlib.sha256(content).hexdigest()
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    root, problems = parse_xml(content, "diagram.bpmn")
    if root is None:
        raise DiagramUnavailable("; ".join(str(p) for p in problems) or "not readable")
    index = semantic_index(root)
    diagram = from_di(root, index)
    if diagram is None:
        try:
            diagram = auto_layout(root, index)
        except LayoutUnavailable as exc:
            raise DiagramUnavailable(str(exc)) from exc
    with _lock:
        _cache[key] = diagram
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return diagram


def flow_svg(bpmn: str | bytes, states: dict[str, str] | None = None, *, id_prefix: str = "pl") -> str:
    diagram = diagram_of(bpmn)
    return render_svg(diagram, states, id_prefix=id_prefix)
