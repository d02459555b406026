"""The printable flowchart of a power item (照图办事): the chart posted on the village wall.

Steps numbered and placed in the flow's own order from the start event (提议 → 商议 → 审议 → 决议), with
who acts, the time limit and the legal basis; decisions with their branch labels; the item's number,
name and responsible body as title. Drawn with graphviz (``dot``) in the CJK font WenQuanYi Zen Hei.

Pages are true A4 or A3 sheets (210 × 297 mm, 297 × 420 mm), portrait or landscape. The drawing is
scaled to fit the sheet, but never so far that any text is below 8 pt on paper: a chart too big for
that continues on more pages, cut between boxes (PDF: one document of several pages; SVG and PNG:
one file a page). A PDF page shows the drawing graphviz made, placed and clipped on the sheet.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from lxml import etree

from engine.catalog.catalog import category_label
from engine.catalog.graph import GATEWAYS, FlowGraph, Node
from engine.catalog.order import back_edges, node_order, step_order
from engine.catalog.wording import balanced, role_text, time_limit_text, wrap
from engine.definitions.descriptions import ParsedDefinition, StepInfo
from engine.texts import texts

FONT = "WenQuanYi Zen Hei"
FORMATS = ("svg", "pdf", "png")
ORIENTATIONS = ("portrait", "landscape")
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
CHART = texts("catalog.chart")

PT_PER_MM = 72 / 25.4
MIN_PRINT_PT = 8.0  # no text smaller than this on paper at 100 % print scale
MIN_FONT_PT = 9  # the smallest font in the drawing, so it may shrink to 8/9 of its size
MIN_SCALE = math.ceil(MIN_PRINT_PT / MIN_FONT_PT * 1000 + 1) / 1000  # a hair above 8/9: 8 pt after rounding
MAX_SCALE = 1.5  # a small chart is enlarged to fill its sheet, up to this
NARROWEST = 8  # characters a line in the narrowest step boxes
COMPACT = 12  # boxes this narrow or narrower: smaller (never below 9 pt) step names and roles, names wrapped
MARGIN_PT = 10 * PT_PER_MM
PAD_PT = 4.0
LABEL_PT = 9  # page numbers
PNG_DPI = 150
SVG_NS = "http://www.w3.org/2000/svg"

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
    width_mm: float  # portrait
    height_mm: float


PAPERS = {"A4": Paper("A4", 210, 297), "A3": Paper("A3", 297, 420)}


@dataclass(frozen=True)
class Sheet:
    """A paper in an orientation; sizes in points (1/72 inch)."""

    paper: Paper
    orientation: str = "portrait"

    @property
    def width_mm(self) -> float:
        return self.paper.width_mm if self.orientation == "portrait" else self.paper.height_mm

    @property
    def height_mm(self) -> float:
        return self.paper.height_mm if self.orientation == "portrait" else self.paper.width_mm

    @property
    def width(self) -> float:
        return self.width_mm * PT_PER_MM

    @property
    def height(self) -> float:
        return self.height_mm * PT_PER_MM

    @property
    def area(self) -> tuple[float, float]:
        """The printable area inside the margins."""
        return self.width - 2 * MARGIN_PT, self.height - 2 * MARGIN_PT

    @property
    def label(self) -> str:
        return f"{self.paper.name} {self.orientation}"


def sheet_of(paper: str = "A4", orientation: str = "portrait") -> Sheet:
    if paper not in PAPERS:
        raise ValueError(f"paper '{paper}' is not one of {', '.join(PAPERS)}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation '{orientation}' is not one of {', '.join(ORIENTATIONS)}")
    return Sheet(PAPERS[paper], orientation)


@dataclass(frozen=True)
class Region:
    """The part of the drawing on one page, in the drawing's own points (y downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Layout:
    """graphviz's layout of the chart: its size and where its boxes and texts are (points, y downwards)."""

    dot: str
    width: float
    height: float
    boxes: list[tuple[float, float, float, float]]  # x0, y0, x1, y1 that a page edge must not cut
    nodes: dict[str, tuple[float, float, float, float]]  # node id → its box

    def centre(self, node_id: str) -> tuple[float, float]:
        x0, y0, x1, y1 = self.nodes[node_id]
        return (x0 + x1) / 2, (y0 + y1) / 2


@dataclass
class Plan:
    sheet: Sheet
    layout: Layout
    scale: float
    regions: list[Region]
    columns: int = 1

    @property
    def pages(self) -> int:
        return len(self.regions)

    def placement(self, region: Region) -> tuple[float, float]:
        """Top left corner of ``region`` on its page: centred across, at the top margin."""
        area_width, _ = self.sheet.area
        return MARGIN_PT + max(area_width - (region.x1 - region.x0) * self.scale, 0) / 2, MARGIN_PT


@dataclass
class Chart:
    """A drawn chart: the files to write (PDF: one document; SVG, PNG: one a page) and how it was laid out."""

    fmt: str
    plan: Plan
    documents: list[bytes]
    heading: str = ""
    alternatives: dict[str, int] = field(default_factory=dict)  # "A3 portrait" → pages there

    @property
    def pages(self) -> int:
        return self.plan.pages

    @property
    def scale(self) -> float:
        return self.plan.scale

    @property
    def smallest_text_pt(self) -> float:
        return MIN_FONT_PT * self.plan.scale

    def paths(self, out: Path) -> list[Path]:
        """Where the documents go: ``out``, then ``<stem>-2<suffix>`` … for more SVG or PNG pages."""
        count = len(self.documents)
        return [out if i == 0 else out.with_name(f"{out.stem}-{i + 1}{out.suffix}") for i in range(count)]

    def summary(self) -> str:
        pages = "1 page" if self.pages == 1 else f"{self.pages} pages"
        return f"{self.plan.sheet.label}, {pages}, scale {self.scale:.0%}, text ≥ {MIN_PRINT_PT:g} pt"

    def overflow_note(self) -> str | None:
        """What to say when the chart needs more than one page."""
        if self.pages == 1:
            return None
        note = (
            f"the chart does not fit one {self.plan.sheet.label} page with text of at least {MIN_PRINT_PT:g} pt: "
            f"it continues on {self.pages} pages"
        )
        if self.alternatives:
            label, pages = min(self.alternatives.items(), key=lambda item: item[1])
            if pages == 1:
                note += f"; on {label} it fits one page (--paper/--orientation)"
            elif pages < self.pages:
                note += f"; on {label} it takes {pages} pages (--paper/--orientation)"
        return note


class Html(str):
    """A graphviz HTML-like label, written between angle brackets instead of quotes."""


class RenderFailed(RuntimeError):
    """graphviz is missing or could not draw the chart."""


def draw(
    definition: ParsedDefinition, graph: FlowGraph, fmt: str = "svg", paper: str = "A4", orientation: str = "portrait"
) -> Chart:
    """The chart on true pages of ``paper`` in ``orientation``, as SVG, PDF or PNG."""
    if fmt not in FORMATS:
        raise ValueError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    plan = plan_chart(definition, graph, sheet_of(paper, orientation))
    heading = " ".join(part for part in (definition.number, definition.name) if part)
    if fmt == "svg":
        documents = _svg_pages(plan, _graphviz(plan.layout.dot, "svg"), heading)
    elif fmt == "pdf":
        documents = [_pdf_pages(plan, _graphviz(plan.layout.dot, "pdf"))]
    else:
        documents = [_png_page(plan, region) for region in plan.regions]
    chart = Chart(fmt, plan, documents, heading)
    if plan.pages > 1:
        for other_paper in PAPERS:
            for other_orientation in ORIENTATIONS:
                other = sheet_of(other_paper, other_orientation)
                if other != plan.sheet:
                    chart.alternatives[other.label] = plan_chart(definition, graph, other).pages
    return chart


def render(
    definition: ParsedDefinition, graph: FlowGraph, fmt: str = "svg", paper: str = "A4", orientation: str = "portrait"
) -> bytes:
    """The chart's first document: the whole PDF, or the first page of an SVG or PNG chart."""
    return draw(definition, graph, fmt, paper, orientation).documents[0]


# --- planning: layout, scale and pages ---------------------------------------------------------------


def plan_chart(definition: ParsedDefinition, graph: FlowGraph, sheet: Sheet) -> Plan:
    """Lay the chart out for ``sheet``: boxes narrow enough to fit across at the smallest scale if they
    can (else the width that needs the fewest pages), the largest scale that keeps the fewest pages,
    and where the pages are cut."""
    area_width, area_height = sheet.area
    widest = area_width / MIN_SCALE  # the widest drawing that fits across with text still ≥ 8 pt
    chars = min(32, max(NARROWEST, int((widest / max(_breadth(graph), 1) - 90) / MIN_FONT_PT)))
    title_chars = max(24, int(widest / 10.5))
    layout = _layout(chart_dot(definition, graph, chars, title_chars))
    tried = [layout]
    while layout.width * MIN_SCALE > area_width and chars > NARROWEST:
        chars = max(NARROWEST, min(chars - 2, int(chars * 0.75)))
        layout = _layout(chart_dot(definition, graph, chars, title_chars))
        tried.append(layout)
    if layout.width * MIN_SCALE > area_width:  # too wide whatever the boxes: the fewest pages, widest boxes
        layout = min(tried, key=lambda candidate: _paged(sheet, candidate, MIN_SCALE).pages)
    fit = min(area_width / layout.width, area_height / layout.height)
    if fit >= MIN_SCALE:
        scale = min(fit, MAX_SCALE)
        return Plan(sheet, layout, scale, [Region(0, 0, layout.width, layout.height)])
    fewest = _paged(sheet, layout, MIN_SCALE)
    scale = MIN_SCALE
    for candidate in (round(min(1.0, area_width / layout.width) - step / 100, 2) for step in range(0, 60, 2)):
        if candidate <= MIN_SCALE:
            break
        paged = _paged(sheet, layout, candidate)
        if paged.pages == fewest.pages and paged.columns <= fewest.columns:
            scale = candidate
            break
    return _paged(sheet, layout, scale)


def _paged(sheet: Sheet, layout: Layout, scale: float) -> Plan:
    """Pages of the drawing at ``scale``, row by row; a page with no box or text on it is left out."""
    area_width, area_height = sheet.area
    across = _cuts([(b[0], b[2]) for b in layout.boxes], layout.width, area_width / scale)
    down = _cuts([(b[1], b[3]) for b in layout.boxes], layout.height, area_height / scale)
    regions = [Region(x0, y0, x1, y1) for y0, y1 in down for x0, x1 in across]
    shown = [r for r in regions if any(_overlap(box, r) for box in layout.boxes)]
    return Plan(sheet, layout, scale, shown or regions[:1], len(across))


def _overlap(box: tuple[float, float, float, float], region: Region) -> bool:
    return box[0] < region.x1 and box[2] > region.x0 and box[1] < region.y1 and box[3] > region.y0


def _cuts(blocked: list[tuple[float, float]], total: float, band: float) -> list[tuple[float, float]]:
    """Split ``0..total`` into parts of at most ``band``, cutting between boxes where there is room."""
    spans: list[list[float]] = []
    for start, end in sorted(blocked):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    parts: list[tuple[float, float]] = []
    top = 0.0
    while total - top > band + 0.01:
        limit = top + band
        cut = limit
        for start, end in spans:
            if start < limit < end:
                cut = start if start > top + band / 4 else limit  # a box taller than a page is cut through
                break
        parts.append((top, cut))
        top = cut
    parts.append((top, total))
    return parts


def _layout(dot: str) -> Layout:
    """Where graphviz puts the chart's nodes and texts, in the drawing's points with y downwards."""
    data = json.loads(_graphviz(dot, "json"))
    _, _, bb_width, bb_height = (float(v) for v in data["bb"].split(","))

    def at(x: float, y: float) -> tuple[float, float]:
        return x + PAD_PT, bb_height + PAD_PT - y

    boxes: list[tuple[float, float, float, float]] = []
    nodes: dict[str, tuple[float, float, float, float]] = {}
    for item in data.get("objects", []):
        if "pos" not in item:
            continue
        x, y = at(*(float(v) for v in item["pos"].split(",")))
        half_width, half_height = float(item["width"]) * 36, float(item["height"]) * 36
        nodes[item["name"]] = (x - half_width, y - half_height, x + half_width, y + half_height)
        boxes.append((x - half_width - 2, y - half_height - 2, x + half_width + 2, y + half_height + 2))
    for owner in [data, *data.get("edges", [])]:
        size = 14.0
        for op in owner.get("_ldraw_", []) + owner.get("_hldraw_", []) + owner.get("_tldraw_", []):
            if op.get("op") == "F":
                size = float(op["size"])
            elif op.get("op") == "T":
                x, y = at(*op["pt"])
                width = float(op["width"])
                left = {"l": x, "r": x - width}.get(op.get("align"), x - width / 2)
                boxes.append((left - 2, y - size - 2, left + width + 2, y + size * 0.3 + 2))
    return Layout(dot, bb_width + 2 * PAD_PT, bb_height + 2 * PAD_PT, boxes, nodes)


def _graphviz(dot: str, fmt: str, *options: str) -> bytes:
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}", *options], input=dot.encode("utf-8"), capture_output=True, timeout=120, check=False
        )
    except FileNotFoundError as exc:
        raise RenderFailed("graphviz 'dot' is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderFailed("graphviz took too long to draw the chart") from exc
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderFailed(f"graphviz could not draw the chart: {message[0] if message else done.returncode}")
    return done.stdout


# --- pages ---------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _svg_pages(plan: Plan, drawing: bytes, heading: str) -> list[bytes]:
    """One SVG document a page, ``width``/``height`` in millimetres and the drawing placed and clipped."""
    root = etree.fromstring(drawing)
    graph = root.find(f"{{{SVG_NS}}}g")
    if graph is None:
        raise RenderFailed("graphviz drew no chart")
    sheet, scale = plan.sheet, plan.scale
    pages = []
    for index, region in enumerate(plan.regions, start=1):
        inner = _page_content(graph, plan.layout, region)
        left, top = plan.placement(region)
        width, height = (region.x1 - region.x0) * scale, (region.y1 - region.y0) * scale
        title = heading
        if plan.pages > 1:
            title = CHART["page_title"].format(heading=heading, page=index, pages=plan.pages)
        label = ""
        if plan.pages > 1:
            label = (
                f'<text x="{_number(sheet.width - MARGIN_PT)}" y="{_number(sheet.height - MARGIN_PT / 2)}" '
                f'text-anchor="end" font-family="{FONT}" font-size="{LABEL_PT}">'
                f"{CHART['page_label'].format(heading=escape(heading), page=index, pages=plan.pages)}</text>"
            )
        pages.append(
            (
                f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'width="{_number(sheet.width_mm)}mm" height="{_number(sheet.height_mm)}mm" '
                f'viewBox="0 0 {_number(sheet.width)} {_number(sheet.height)}">'
                f"<title>{escape(title)}</title>"
                f'<rect x="0" y="0" width="{_number(sheet.width)}" height="{_number(sheet.height)}" fill="white"/>'
                f'<defs><clipPath id="page{index}"><rect x="{_number(left)}" y="{_number(top)}" '
                f'width="{_number(width)}" height="{_number(height)}"/></clipPath></defs>'
                f'<g clip-path="url(#page{index})"><g transform="translate({_number(left - region.x0 * scale)} '
                f'{_number(top - region.y0 * scale)}) scale({_number(scale)})">{inner}</g></g>{label}</svg>\n'
            ).encode()
        )
    return pages


def _page_content(graph: etree._Element, layout: Layout, region: Region) -> str:
    """The drawing without the nodes that lie outside ``region`` (the flows are clipped at its edge)."""
    page = copy.deepcopy(graph)
    for group in page.findall(f"{{{SVG_NS}}}g[@class='node']"):
        title = group.find(f"{{{SVG_NS}}}title")
        box = layout.nodes.get(title.text if title is not None else "")
        if box and (box[2] < region.x0 or box[0] > region.x1 or box[3] < region.y0 or box[1] > region.y1):
            page.remove(group)
    return etree.tostring(page, encoding="unicode")


def _png_page(plan: Plan, region: Region) -> bytes:
    """A page as PNG at 150 dpi: graphviz draws the sheet-sized window of the drawing around ``region``."""
    sheet, scale = plan.sheet, plan.scale
    left, top = plan.placement(region)
    centre_x = region.x0 + (sheet.width / 2 - left) / scale
    centre_y = region.y0 + (sheet.height / 2 - top) / scale
    # graphviz's viewport centre is in layout coordinates: y upwards from the bottom of the bounding box.
    x, y = centre_x - PAD_PT, plan.layout.height - PAD_PT - centre_y
    viewport = f"{_number(sheet.width)},{_number(sheet.height)},{_number(scale)},{_number(x)},{_number(y)}"
    return _graphviz(plan.layout.dot, "png", f"-Gdpi={PNG_DPI}", f"-Gviewport={viewport}")


def _pdf_pages(plan: Plan, drawing: bytes) -> bytes:
    """A PDF of ``plan.pages`` sheet-sized pages, each showing its region of graphviz's one-page drawing.

    graphviz's page becomes a form XObject (its content and resources, unchanged); each new page places
    it with a transformation and clips it to its region, and numbers itself when there are several.
    """
    source = _PdfSource(drawing)
    sheet, scale = plan.sheet, plan.scale
    form_height = source.height
    objects = dict(source.objects)
    objects[source.contents] = source.as_form()
    number = max(objects) + 1
    font, pages_id, catalog = number, number + 1, number + 2
    number += 3
    objects[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    kids = []
    group = b" /Group " + source.group if source.group else b""
    for index, region in enumerate(plan.regions, start=1):
        left, top = plan.placement(region)
        width, height = (region.x1 - region.x0) * scale, (region.y1 - region.y0) * scale
        e = left - region.x0 * scale
        f = sheet.height - top - (form_height - region.y0) * scale
        content = (
            f"q {_number(left)} {_number(sheet.height - top - height)} {_number(width)} {_number(height)} re W n\n"
            f"{_number(scale)} 0 0 {_number(scale)} {_number(e)} {_number(f)} cm /Chart Do Q\n"
        )
        if plan.pages > 1:
            content += (
                f"BT /Label {LABEL_PT} Tf {_number(sheet.width - MARGIN_PT - 30)} {_number(MARGIN_PT / 2)} Td "
                f"({index} / {plan.pages}) Tj ET\n"
            )
        data = content.encode("ascii")
        objects[number] = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        objects[number + 1] = (
            (
                f"<< /Type /Page /Parent {pages_id} 0 R "
                f"/MediaBox [0 0 {_number(sheet.width)} {_number(sheet.height)}] /Contents {number} 0 R "
                f"/Resources << /XObject << /Chart {source.contents} 0 R >> /Font << /Label {font} 0 R >> >>"
            ).encode("ascii")
            + group
            + b" >>"
        )
        kids.append(number + 1)
        number += 2
    objects[pages_id] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{kid} 0 R' for kid in kids)}] /Count {len(kids)} >>".encode("ascii")
    )
    objects[catalog] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode("ascii")
    return _write_pdf(objects, catalog, source.info)


class _PdfSource:
    """The objects of graphviz's (cairo's) one-page PDF, found through its cross-reference table."""

    def __init__(self, content: bytes) -> None:
        found = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", content)
        if found is None or not content.startswith(b"%PDF"):
            raise RenderFailed("graphviz wrote no readable PDF")
        xref = int(found.group(1))
        table = re.match(rb"xref\s+(\d+)\s+(\d+)\s+", content[xref:])
        if table is None:
            raise RenderFailed("graphviz wrote a PDF without a cross-reference table")
        first, count = int(table.group(1)), int(table.group(2))
        entries = content[xref + table.end() :].split(b"\n")
        offsets = {}
        for index in range(count):
            offset, _, kind = entries[index].split()[:3]
            if kind == b"n":
                offsets[first + index] = int(offset)
        ends = sorted(offsets.values()) + [xref]
        following = {start: ends[i + 1] for i, start in enumerate(ends[:-1])}
        self.objects: dict[int, bytes] = {}
        for number, offset in offsets.items():
            body = content[offset : following[offset]].rstrip()
            body = re.sub(rb"^\d+\s+\d+\s+obj\s*", b"", body)
            self.objects[number] = re.sub(rb"\s*endobj$", b"", body)
        trailer = content[xref:]
        root = _reference(trailer, b"/Root")
        info = re.search(rb"/Info\s+(\d+)\s+0\s+R", trailer)
        self.info = int(info.group(1)) if info else None
        pages = _reference(self.objects[root], b"/Pages")
        kids = re.search(rb"/Kids\s*\[\s*(\d+)\s+0\s+R", self.objects[pages])
        if kids is None:
            raise RenderFailed("graphviz wrote a PDF without a page")
        page = self.objects[int(kids.group(1))]
        self.contents = _reference(page, b"/Contents")
        self.resources = _value(page, b"/Resources")
        self.group = _value(page, b"/Group")
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.\s]+)\]", page)
        self.width, self.height = (float(v) for v in box.group(1).split()[2:4]) if box else (0.0, 0.0)
        for number in (root, pages, int(kids.group(1))):
            del self.objects[number]

    def as_form(self) -> bytes:
        """The page's content stream as a form XObject with the page's resources."""
        body = self.objects[self.contents]
        start = body.index(b"<<") + 2
        keys = (
            f" /Type /XObject /Subtype /Form /BBox [0 0 {_number(self.width)} {_number(self.height)}]".encode("ascii")
            + (b" /Resources " + self.resources if self.resources else b"")
            + (b" /Group " + self.group if self.group else b"")
        )
        return body[:start] + keys + body[start:]


def _reference(text: bytes, key: bytes) -> int:
    found = re.search(re.escape(key) + rb"\s+(\d+)\s+0\s+R", text)
    if found is None:
        raise RenderFailed(f"graphviz wrote a PDF without {key.decode()}")
    return int(found.group(1))


def _value(text: bytes, key: bytes) -> bytes | None:
    """A dictionary entry's value: an indirect reference or a nested dictionary, as written."""
    found = re.search(re.escape(key) + rb"(?![A-Za-z])\s*", text)
    if found is None:
        return None
    rest = text[found.end() :]
    reference = re.match(rb"\d+\s+\d+\s+R", rest)
    if reference:
        return reference.group(0)
    if not rest.startswith(b"<<"):
        return None
    depth, index = 0, 0
    while index < len(rest) - 1:
        pair = rest[index : index + 2]
        if pair == b"<<":
            depth += 1
            index += 2
        elif pair == b">>":
            depth -= 1
            index += 2
            if depth == 0:
                return rest[:index]
        else:
            index += 1
    return None


def _write_pdf(objects: dict[int, bytes], catalog: int, info: int | None) -> bytes:
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    size = max(objects) + 1
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    info_entry = b" /Info %d 0 R" % info if info is not None and info in objects else b""
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, catalog, info_entry, xref)
    return bytes(out)


# --- the drawing ---------------------------------------------------------------------------------------


def chart_dot(definition: ParsedDefinition, graph: FlowGraph, chars: int = 32, title_chars: int = 46) -> str:
    """The graphviz source of the chart at its natural size, boxes about ``chars`` characters wide.

    Nodes come in the flow's order and the flows that loop back do not pull their target down
    (``constraint=false``), so the steps stand from top to bottom in the order they are numbered.
    """
    numbers = {step_id: index for index, step_id in enumerate(step_order(graph))}
    looping = back_edges(graph)
    lines = [
        "digraph flowchart {",
        _statement(
            "graph",
            charset="UTF-8",
            rankdir="TB",
            fontname=FONT,
            labelloc="t",
            labeljust="c",
            label=_title(definition, title_chars),
            pad=f"{PAD_PT / 72:.4f}",
            margin="0",
            nodesep="0.18" if chars <= COMPACT else "0.3",
            ranksep="0.3",
            bgcolor="white",
        ),
        _statement("node", fontname=FONT, fontsize="11", penwidth="1.3"),
        _statement("edge", fontname=FONT, fontsize="10", color="#444444", arrowsize="0.8", penwidth="1.2"),
    ]
    for node_id in node_order(graph):
        node = graph.nodes[node_id]
        if node.kind == "userTask":
            attributes = _step(node, definition.step(node.id), numbers.get(node.id), chars)
        else:
            attributes = _other_node(node, len(graph.outgoing(node.id)))
        lines.append(f"  {_quote(node.id)} {_bracket(attributes)};")
    for edge in graph.edges:
        if edge.source in graph.nodes and edge.target in graph.nodes:
            label = edge.name or (CHART["otherwise"] if edge.default else "")
            attributes = {"label": "\n".join(balanced(label, 8))} if label else {}
            if edge.default and not edge.name:
                attributes["style"] = "dashed"
            if edge.id in looping:
                attributes["constraint"] = "false"
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


def _step(node: Node, step: StepInfo | None, number: int | None, chars: int) -> dict[str, str]:
    name = step.name if step else node.name
    mark = _mark(number)
    compact = chars <= COMPACT
    name_size, role_size = (12, 10) if compact else (14, 11)
    title = f"{mark} {name}" if mark else name
    title_lines = balanced(title, max(6, chars * MIN_FONT_PT // name_size)) if compact else [title]
    rows = [_row(title_lines, name_size, bold=True)]
    if step is not None:
        limit = time_limit_text(step)
        doer = CHART["doer"].format(role=role_text(step.role))
        when = CHART["time_limit"].format(limit=limit) if limit else ""
        if when and len(doer) + len(when) + 1 <= chars * MIN_FONT_PT / role_size:
            rows.append(_row([CHART["doer_and_time"].format(doer=doer, time=when)], role_size))
        else:
            rows.append(_row([line for line in (doer, when) if line], role_size))
        if step.legal_basis:
            rows.append(_row(wrap(CHART["basis"].format(basis=step.legal_basis), chars), MIN_FONT_PT, GREY))
    return {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": STEP_FILL,
        "color": STEP_LINE,
        "margin": "0.14,0.08",
        "label": _table(rows, 1),
    }


def _mark(number: int | None) -> str:
    """①, ②, … for the first twenty steps, then 21., 22., …"""
    if number is None:
        return ""
    return CIRCLED[number] if number < len(CIRCLED) else f"{number + 1}."


def _other_node(node: Node, outgoing: int) -> dict[str, str]:
    if node.kind in GATEWAYS and outgoing < 2:
        return dict(JOIN_STYLE)  # only joins branches again: a small mark
    if node.kind in GATEWAYS:
        return {**DECISION_STYLE, "label": _lines(node.name or CHART["decision"], 6)}
    if node.kind == "startEvent":
        label = CHART["start_named"].format(name=node.name) if node.name else CHART["start"]
        return {**START_STYLE, "label": _lines(label, 12)}
    if node.kind == "endEvent":
        label = CHART["end_named"].format(name=node.name) if node.name else CHART["end"]
        return {**END_STYLE, "label": _lines(label, 12)}
    if node.kind == "scriptTask":
        return {**SCRIPT_STYLE, "label": CHART["automatic"] + "\n" + _lines(node.name, 8)}
    return {"shape": "box", "style": "rounded", "label": _lines(node.name or node.kind, 10)}


def _title(definition: ParsedDefinition, chars: int) -> Html:
    heading = " ".join(part for part in (definition.number, definition.name) if part)
    rows = [_row([heading], 24, bold=True)]
    details = [CHART["body"].format(body=definition.responsible_body)] if definition.responsible_body else []
    if definition.category:
        details.append(CHART["category"].format(category=category_label(definition.category)))
    if details:
        rows.append(_row([CHART["details_separator"].join(details)], 13))
    if definition.description:
        rows.append(_row(wrap(definition.description, chars), 10, GREY))
    if definition.legal_basis:
        rows.append(_row(wrap(CHART["basis"].format(basis=definition.legal_basis), chars), MIN_FONT_PT, GREY))
    rows.append(_row([CHART["time_note"]], MIN_FONT_PT, GREY))
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
