"""The printable flowchart of a power item (照图办事): the chart posted on the village wall.

Steps in order with who acts, the time limit and the legal basis; decisions with their branch
labels; the item's number, name and responsible body as title. Drawn with graphviz (``dot``) in
the CJK font WenQuanYi Zen Hei, scaled to fill an A4 or A3 page (portrait).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from html import escape

from engine.catalog.catalog import category_label
from engine.catalog.graph import GATEWAYS, FlowGraph, Node
from engine.catalog.order import node_order, step_order
from engine.catalog.wording import balanced, role_text, time_limit_text, wrap
from engine.definitions.model import ParsedDefinition, StepInfo

FONT = "WenQuanYi Zen Hei"
FORMATS = ("svg", "pdf", "png")
PAD_INCHES = 0.3
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
TIME_NOTE = "时限自该步开始之日起计算；“工作日”不含周末和法定节假日。"

STEP_FILL = "#eaf2fb"
STEP_LINE = "#1f4e8c"
DECISION_FILL = "#fff4d6"
DECISION_LINE = "#b7791f"
START_FILL = "#e6f4ea"
START_LINE = "#2f7d45"
END_FILL = "#f1f1f1"
END_LINE = "#333333"
GREY = "#555555"

DECISION_STYLE = {
    "shape": "diamond",
    "style": "filled",
    "fillcolor": DECISION_FILL,
    "color": DECISION_LINE,
    "fontsize": "10",
    "margin": "0.02,0.02",
}
JOIN_STYLE = {**DECISION_STYLE, "label": "", "width": "0.3", "height": "0.3", "fixedsize": "true"}
START_STYLE = {"shape": "box", "style": "rounded,filled,bold", "fillcolor": START_FILL, "color": START_LINE}
END_STYLE = {
    "shape": "box",
    "style": "rounded,filled,bold",
    "peripheries": "2",
    "fillcolor": END_FILL,
    "color": END_LINE,
}
SCRIPT_STYLE = {"shape": "box", "style": "rounded,dashed", "color": GREY, "fontsize": "10"}


@dataclass(frozen=True)
class Paper:
    name: str
    width: float  # inches, portrait
    height: float
    title_width: int  # characters per line of the title block


PAPERS = {"A4": Paper("A4", 8.27, 11.69, 46), "A3": Paper("A3", 11.69, 16.54, 64)}


class Html(str):
    """A graphviz HTML-like label, written between angle brackets instead of quotes."""


class RenderFailed(RuntimeError):
    """graphviz is missing or could not draw the chart."""


def render(definition: ParsedDefinition, graph: FlowGraph, fmt: str = "svg", paper: str = "A4") -> bytes:
    """The chart as SVG, PDF or PNG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    source = chart_dot(definition, graph, paper).encode("utf-8")
    command = ["dot", f"-T{fmt}", *(["-Gdpi=150"] if fmt == "png" else [])]
    try:
        done = subprocess.run(command, input=source, capture_output=True, timeout=120, check=False)
    except FileNotFoundError as exc:
        raise RenderFailed("graphviz 'dot' is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderFailed("graphviz took too long to draw the chart") from exc
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderFailed(f"graphviz could not draw the chart: {message[0] if message else done.returncode}")
    return done.stdout


def chart_dot(definition: ParsedDefinition, graph: FlowGraph, paper: str = "A4") -> str:
    """The graphviz source of the chart, scaled to fill ``paper``."""
    if paper not in PAPERS:
        raise ValueError(f"paper '{paper}' is not one of {', '.join(PAPERS)}")
    sheet = PAPERS[paper]
    numbers = {step_id: index for index, step_id in enumerate(step_order(graph))}
    # Alternatives side by side make the chart wide: narrower boxes then.
    basis_width = 32 if _breadth(graph) <= 2 else 20
    lines = [
        "digraph flowchart {",
        _statement(
            "graph",
            charset="UTF-8",
            rankdir="TB",
            fontname=FONT,
            labelloc="t",
            labeljust="c",
            label=_title(definition, sheet),
            size=f"{sheet.width - 2 * PAD_INCHES:.2f},{sheet.height - 2 * PAD_INCHES:.2f}!",
            pad=f"{PAD_INCHES}",
            margin="0",
            nodesep="0.3",
            ranksep="0.3",
            bgcolor="white",
        ),
        _statement("node", fontname=FONT, fontsize="11", penwidth="1.3"),
        _statement("edge", fontname=FONT, fontsize="10", color="#444444", arrowsize="0.8", penwidth="1.2"),
    ]
    for node_id in node_order(graph):
        node = graph.nodes[node_id]
        if node.kind == "userTask":
            attributes = _step(node, definition.step(node.id), numbers.get(node.id), basis_width)
        else:
            attributes = _other_node(node, len(graph.outgoing(node.id)))
        lines.append(f"  {_quote(node.id)} {_bracket(attributes)};")
    for edge in graph.edges:
        if edge.source in graph.nodes and edge.target in graph.nodes:
            label = edge.name or ("其他情况" if edge.default else "")
            attributes = {"label": "\n".join(balanced(label, 8))} if label else {}
            if edge.default and not edge.name:
                attributes["style"] = "dashed"
            lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} {_bracket(attributes)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _breadth(graph: FlowGraph) -> int:
    """The most steps that are alternatives of one another (reached from the same decision)."""
    widest = 1
    for node in graph.of_kind(*GATEWAYS):
        targets = {e.target for e in graph.outgoing(node.id) if e.target in graph.nodes}
        widest = max(widest, sum(1 for t in targets if graph.nodes[t].kind == "userTask"))
    return widest


def _step(node: Node, step: StepInfo | None, number: int | None, basis_width: int) -> dict[str, str]:
    name = step.name if step else node.name
    mark = CIRCLED[number] if number is not None and number < len(CIRCLED) else ""
    rows = [_row([f"{mark} {name}" if mark else name], 14, bold=True)]
    if step is not None:
        limit = time_limit_text(step)
        rows.append(_row([f"办理：{role_text(step.role)}" + (f"　时限：{limit}" if limit else "")], 11))
        if step.legal_basis:
            rows.append(_row(wrap(f"依据：{step.legal_basis}", basis_width), 8, GREY))
    return {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": STEP_FILL,
        "color": STEP_LINE,
        "margin": "0.14,0.08",
        "label": _table(rows, 1),
    }


def _other_node(node: Node, outgoing: int) -> dict[str, str]:
    if node.kind in GATEWAYS and outgoing < 2:
        return dict(JOIN_STYLE)  # only joins branches again: a small mark
    if node.kind in GATEWAYS:
        return {**DECISION_STYLE, "label": _lines(node.name or "判断", 6)}
    if node.kind == "startEvent":
        return {**START_STYLE, "label": _lines(f"开始：{node.name}" if node.name else "开始", 12)}
    if node.kind == "endEvent":
        return {**END_STYLE, "label": _lines(f"结束：{node.name}" if node.name else "结束", 12)}
    if node.kind == "scriptTask":
        return {**SCRIPT_STYLE, "label": "（系统自动）\n" + _lines(node.name, 8)}
    return {"shape": "box", "style": "rounded", "label": _lines(node.name or node.kind, 10)}


def _title(definition: ParsedDefinition, sheet: Paper) -> Html:
    heading = " ".join(part for part in (definition.number, definition.name) if part)
    rows = [_row([heading], 24, bold=True)]
    details = [f"办理主体：{definition.responsible_body}"] if definition.responsible_body else []
    if definition.category:
        details.append(f"类别：{category_label(definition.category)}")
    if details:
        rows.append(_row(["　　".join(details)], 13))
    if definition.description:
        rows.append(_row(wrap(definition.description, sheet.title_width), 10, GREY))
    if definition.legal_basis:
        rows.append(_row(wrap(f"依据：{definition.legal_basis}", sheet.title_width), 9, GREY))
    rows.append(_row([TIME_NOTE], 9, GREY))
    return _table(rows, 3)


def _row(lines: list[str], size: int, color: str | None = None, bold: bool = False) -> str:
    text = "<br/>".join(escape(line) for line in lines)
    if bold:
        text = f"<b>{text}</b>"
    colour = f' color="{color}"' if color else ""
    return f'<tr><td><font point-size="{size}"{colour}>{text}</font></td></tr>'


def _table(rows: list[str], spacing: int) -> Html:
    return Html(f'<table border="0" cellborder="0" cellspacing="{spacing}" cellpadding="1">{"".join(rows)}</table>')


def _lines(text: str, width: int) -> str:
    return "\n".join(balanced(text, width))


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _bracket(attributes: dict[str, str]) -> str:
    values = (f"<{v}>" if isinstance(v, Html) else _quote(v) for v in attributes.values())
    return "[" + ", ".join(f"{key}={value}" for key, value in zip(attributes, values, strict=True)) + "]"


def _statement(kind: str, **attributes: str) -> str:
    return f"  {kind} {_bracket(attributes)};"
