"""The auditors' diagrams: a matter replayed on its flow's diagram, and a flow's heatmap, each step
shape coloured on a scale of 0–4 and badged with its figure."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.audit.views import HeatmapView, ReplayView
from engine.diagram import render_svg

SVG = "http://www.w3.org/2000/svg"
HEAT_STYLE = """
.pl-diagram .pl-shape.heat-0 > rect { fill: #f0fdf4; stroke: #2f855a; }
.pl-diagram .pl-shape.heat-1 > rect { fill: #fef9c3; stroke: #a16207; }
.pl-diagram .pl-shape.heat-2 > rect { fill: #fde68a; stroke: #b45309; }
.pl-diagram .pl-shape.heat-3 > rect { fill: #fdba74; stroke: #c2410c; stroke-width: 2; }
.pl-diagram .pl-shape.heat-4 > rect { fill: #fca5a5; stroke: #b91c1c; stroke-width: 3; }
.pl-diagram .pl-shape.heat-none > rect { fill: #f5f7fa; stroke-dasharray: 4 3; }
.pl-diagram .heat-badge rect { fill: #1f2933; stroke: none; }
.pl-diagram .heat-badge text { fill: #fff; font-size: 12px; font-weight: bold; }
"""


def replay_svg(view: ReplayView) -> str:
    """The diagram as it stood at the replay's position ("" when the flow has none to draw)."""
    if view.diagram is None:
        return ""
    return render_svg(view.diagram, view.states, id_prefix=f"replay{view.matter['id']}")


def badge_text(step: dict[str, Any], metric: str) -> str:
    """The figure a step's badge shows for ``metric`` (badges are drawn in Chinese in every language)."""
    if metric == "overdue":
        return f"超时 {step['overdue_rate']:.0%}"
    if metric == "skip":
        return f"跳过 {step['skip']}"
    if metric == "rework":
        return f"返工 {step['reworked']}"
    median = step["median_seconds"]
    if median is None:
        return "—"
    return f"{median / 86400:.1f} 天" if median >= 86400 else f"{median / 3600:.1f} 小时"


def heat_svg(heat: HeatmapView) -> str:
    """The flow's diagram, each step shape coloured by its level and badged with its figure."""
    if heat.diagram is None:
        return ""
    root = etree.fromstring(render_svg(heat.diagram, id_prefix="heat").encode("utf-8"))
    ns = {"s": SVG}
    style = root.find("s:style", ns)
    if style is not None:
        style.text = (style.text or "") + HEAT_STYLE
    by_step = {s["step"]: s for s in heat.steps}
    bounds = {shape.element_id: shape.bounds for shape in heat.diagram.shapes}
    for group in root.iterfind(".//s:g[@data-element-id]", ns):
        step = by_step.get(group.get("data-element-id") or "")
        if step is None or group.get("data-element-id") not in bounds:
            continue
        level = step["level"]
        group.set("class", f"{group.get('class', '')} heat-{'none' if level is None else level}".strip())
        if level is None:
            continue
        box = bounds[group.get("data-element-id")]
        text = badge_text(step, heat.metric)
        width = 12 + 7.5 * sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are twice as wide
        badge = etree.SubElement(group, f"{{{SVG}}}g", {"class": "heat-badge"})
        x, y = box.x + box.width - width + 8, box.y - 11
        etree.SubElement(
            badge,
            f"{{{SVG}}}rect",
            {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{width:.1f}", "height": "20", "rx": "10"},
        )
        label = etree.SubElement(
            badge,
            f"{{{SVG}}}text",
            {
                "x": f"{x + width / 2:.1f}",
                "y": f"{y + 10:.1f}",
                "text-anchor": "middle",
                "dominant-baseline": "central",
            },
        )
        label.text = text
    return etree.tostring(root, encoding="unicode")
