"""The wall chart (``powerlist flowchart``) through the real command: steps numbered and placed in the
flow's order from its start event, true A4/A3 pages in either orientation, no text below 8 pt on paper.

The checks of order hold for any number of steps: people add steps to the shipped flows."""

from __future__ import annotations

import math
import re
import shutil
import zlib
from pathlib import Path

import pytest
from lxml import etree

from engine.catalog.catalog import load_flow, shipped_file, shipped_files
from engine.catalog.flowchart import MIN_PRINT_PT, draw
from engine.catalog.graph import FlowGraph

SVG = "{http://www.w3.org/2000/svg}"
FLOWS = shipped_files()
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
SIZES_MM = {("A4", "portrait"): (210, 297), ("A4", "landscape"): (297, 210), ("A3", "portrait"): (297, 420)}
SIZES_MM[("A3", "landscape")] = (420, 297)
MM = 72 / 25.4

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# --- reading what the command wrote -------------------------------------------------------------------


def svg_pages(out: Path) -> list[Path]:
    return [out] + sorted(out.parent.glob(f"{out.stem}-*.svg"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def page_size_mm(root: etree._Element) -> tuple[float, float]:
    width, height = root.get("width"), root.get("height")
    assert width.endswith("mm") and height.endswith("mm"), (width, height)
    box = [float(v) for v in root.get("viewBox").split()]
    # one user unit is one point, so the font sizes below are points on paper
    assert box[:2] == [0, 0] and math.isclose(box[2], float(width[:-2]) * MM, abs_tol=0.01)
    assert math.isclose(box[3], float(height[:-2]) * MM, abs_tol=0.01)
    return float(width[:-2]), float(height[:-2])


def scale_of(element: etree._Element) -> float:
    scale = 1.0
    while element is not None:
        for found in re.finditer(r"scale\(\s*([-\d.]+)", element.get("transform") or ""):
            scale *= float(found.group(1))
        element = element.getparent()
    return scale


def svg_text_sizes(root: etree._Element) -> list[tuple[float, str]]:
    return [
        (float(text.get("font-size")) * scale_of(text), "".join(text.itertext()))
        for text in root.iter(f"{SVG}text")
        if "".join(text.itertext()).strip()
    ]


def step_numbers(roots: list[etree._Element], definition) -> dict[str, int]:
    """Step id → the number printed in front of its name (① 提议 …), from each step's box on the pages."""
    names = {step.id: step.name for step in definition.steps}
    numbers: dict[str, int] = {}
    for root in roots:
        for group in root.iter(f"{SVG}g"):
            title = group.find(f"{SVG}title")
            if group.get("class") != "node" or title is None or title.text not in names:
                continue
            lines = ["".join(t.itertext()).replace("\xa0", " ") for t in group.iter(f"{SVG}text")]
            found = re.match(rf"^([{CIRCLED}]|\d+\.) (.+)$", lines[0])
            assert found, lines
            mark, name = found.groups()
            rest = "".join(lines[1:])
            assert (name + rest).startswith(names[title.text]), (name, lines)
            assert title.text not in numbers, f"{title.text} drawn twice"
            numbers[title.text] = CIRCLED.index(mark) + 1 if mark in CIRCLED else int(mark[:-1])
    return numbers


def step_edges(graph: FlowGraph) -> set[tuple[str, str]]:
    """(A, B) when a flow leads from step A (or the start) to step B through no other step."""
    steps = {n.id for n in graph.nodes.values() if n.kind == "userTask"}
    edges = set()
    for source in [*steps, *(n.id for n in graph.of_kind("startEvent"))]:
        seen, todo = set(), [e.target for e in graph.outgoing(source)]
        while todo:
            node = todo.pop()
            if node in seen or node not in graph.nodes:
                continue
            seen.add(node)
            if node in steps:
                edges.add((source, node))
            else:
                todo.extend(e.target for e in graph.outgoing(node))
    return edges


def reaches(graph: FlowGraph, source: str, target: str) -> bool:
    seen, todo = set(), [e.target for e in graph.outgoing(source)]
    while todo:
        node = todo.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(e.target for e in graph.outgoing(node))
    return False


def assert_flow_order(numbers: dict[str, int], graph: FlowGraph) -> None:
    """The numbers are 1…N and a topological order of the flow from its start event, loops back aside:
    every step is reached from the start through lower-numbered steps, and a flow from a step to a
    lower-numbered one closes a loop (退回)."""
    assert sorted(numbers.values()) == list(range(1, len(numbers) + 1)), numbers
    edges = step_edges(graph)
    starts = {n.id for n in graph.of_kind("startEvent")}
    first = [target for source, target in edges if source in starts]
    assert numbers[min(first, key=numbers.get)] == 1
    for step, number in numbers.items():
        if number == 1:
            continue
        earlier = [s for s, t in edges if t == step and (s in starts or numbers.get(s, 99) < number)]
        assert earlier, f"step {number} ({step}) is not reached from an earlier step"
    for source, target in edges:
        if source in numbers and numbers[target] < numbers[source]:
            assert reaches(graph, target, source), f"{source} → {target} goes back without a loop"
    # A short cut does not move the step it skips (A → B beside A → C → B, no loop among them); the
    # short cut inside a loop (一肩挑 in 四议两公开) is checked by name below.
    for a, c in edges:
        for c2, b in edges:
            if c2 != c or a not in numbers or (a, b) not in edges or len({a, b, c}) < 3:
                continue
            if not reaches(graph, b, a) and not reaches(graph, b, c):
                assert numbers[a] < numbers[c] < numbers[b], f"{c} is numbered outside {a} … {b}"


# --- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_every_shipped_chart_numbers_its_steps_in_flow_order_on_true_a4_pages(cli, tmp_path: Path, path: Path) -> None:
    flow = load_flow(str(path))
    out = tmp_path / f"{path.stem}.svg"
    done = cli("flowchart", path.stem, "--out", str(out), check=True)
    pages = svg_pages(out)
    assert f"{len(pages)} page" in done.out, done.out
    roots = [etree.fromstring(page.read_bytes()) for page in pages]
    sizes = []
    for root in roots:
        assert page_size_mm(root) == (210, 297)
        sizes += svg_text_sizes(root)
    smallest = min(sizes)
    assert smallest[0] >= MIN_PRINT_PT, f"'{smallest[1]}' at {smallest[0]:.2f} pt"
    numbers = step_numbers(roots, flow.definition)
    assert set(numbers) == {s.id for s in flow.definition.steps}, "every step once, numbered"
    assert_flow_order(numbers, flow.graph)
    # Placed in that order: every flow that does not loop back points down the page.
    layout = draw(flow.definition, flow.graph, "svg", "A4").plan.layout
    for source, target in step_edges(flow.graph):
        if source in numbers and numbers[source] < numbers[target]:
            assert layout.centre(source)[1] < layout.centre(target)[1], (source, target)
    if len(pages) > 1:
        assert "continues on" in done.err and "pages" in done.err, done.err


def test_four_deliberations_is_numbered_and_placed_by_the_law(cli, tmp_path: Path) -> None:
    flow = load_flow("four_deliberations")
    out = tmp_path / "four.svg"
    cli("flowchart", "four_deliberations", "--out", str(out), "--paper", "A3", check=True)
    numbers = step_numbers([etree.fromstring(page.read_bytes()) for page in svg_pages(out)], flow.definition)
    assert [numbers[s] for s in ("propose", "discuss", "review", "resolve")] == [1, 2, 3, 4]
    # Placed from top to bottom in that order too, every flow that does not loop back pointing down.
    chart = draw(flow.definition, flow.graph, "svg", "A3")
    y = {node: chart.plan.layout.centre(node)[1] for node in numbers}
    assert y["propose"] < y["discuss"] < y["review"] < y["resolve"]
    for source, target in step_edges(flow.graph):
        if source in numbers and numbers[source] < numbers[target]:
            assert y[source] < y[target], (source, target)


def test_order_is_the_flows_not_the_files(cli, tmp_path: Path) -> None:
    """The same flow with its elements in another order in the file is numbered the same."""
    folder = tmp_path / "four_deliberations"
    shutil.copytree(shipped_file("four_deliberations").parent, folder)
    bpmn = folder / "four_deliberations.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    tasks = re.findall(r"\n\s*<bpmn:userTask .*?</bpmn:userTask>", text, re.S)
    flows = re.findall(r"\n\s*<bpmn:sequenceFlow [^>]*?(?:/>|>.*?</bpmn:sequenceFlow>)", text, re.S)
    assert len(tasks) >= 4 and len(flows) >= 10
    for element in tasks + flows:
        text = text.replace(element, "", 1)
    anchor = text.index("</bpmn:process>")
    text = text[:anchor] + "".join(reversed(tasks)) + "".join(reversed(flows)) + "\n  " + text[anchor:]
    bpmn.write_text(text, encoding="utf-8")
    out = tmp_path / "reordered.svg"
    cli("flowchart", str(bpmn), "--out", str(out), "--paper", "A3", "--orientation", "landscape", check=True)
    flow = load_flow(str(bpmn))
    numbers = step_numbers([etree.fromstring(page.read_bytes()) for page in svg_pages(out)], flow.definition)
    assert [numbers[s] for s in ("propose", "discuss", "review", "resolve")] == [1, 2, 3, 4]
    assert_flow_order(numbers, flow.graph)


def pdf_pages(content: bytes) -> list[tuple[float, float]]:
    return [
        (float(w), float(h))
        for w, h in re.findall(rb"/Type /Page\b[^>]*?/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", content)
    ]


def pdf_text_sizes(content: bytes) -> list[float]:
    """Every text's size on paper: the font size (Tf) times the text matrix (Tm) times the page's scale (cm)."""
    streams = {}
    for number, body in re.findall(rb"(\d+) 0 obj\n(.*?)\nendobj", content, re.S):
        data = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S)
        if data is None:
            continue
        raw = data.group(1)
        streams[int(number)] = zlib.decompress(raw) if b"/FlateDecode" in body.split(b"stream")[0] else raw
    sizes = []
    pages = [s for s in streams.values() if b"/Chart Do" in s]
    assert pages
    for page in pages:
        scale = float(re.search(rb"([\d.]+) 0 0 [\d.]+ [-\d.]+ [-\d.]+ cm /Chart Do", page).group(1))
        sizes += [float(size) for size in re.findall(rb"/Label ([\d.]+) Tf", page)]
        for stream in streams.values():
            if b"Tm" not in stream or b"/Chart Do" in stream:
                continue
            font = 1.0
            for token in re.finditer(rb"([-\d.]+) Tf|([-\d.]+) ([-\d.]+) [-\d.]+ [-\d.]+ [-\d.]+ [-\d.]+ Tm", stream):
                if token.group(1):
                    font = float(token.group(1))
                else:
                    sizes.append(font * math.hypot(float(token.group(2)), float(token.group(3))) * scale)
    return sizes


@pytest.mark.parametrize(
    ("key", "paper", "orientation"),
    [
        ("four_deliberations", "A4", "portrait"),
        ("fund_payment", "A4", "landscape"),
        ("small_works", "A3", "portrait"),
        ("seal_use", "A3", "landscape"),
    ],
)
def test_pdf_pages_are_exactly_the_paper_and_no_text_is_below_8_pt(cli, tmp_path, key, paper, orientation) -> None:
    out = tmp_path / f"{key}.pdf"
    done = cli("flowchart", key, "--out", str(out), "--paper", paper, "--orientation", orientation, check=True)
    content = out.read_bytes()
    assert content.startswith(b"%PDF")
    pages = pdf_pages(content)
    count = int(re.search(r"(\d+) pages?", done.out).group(1))
    assert len(pages) == count >= 1
    want = SIZES_MM[(paper, orientation)]
    for width, height in pages:
        assert math.isclose(width / MM, want[0], abs_tol=0.01) and math.isclose(height / MM, want[1], abs_tol=0.01)
    sizes = pdf_text_sizes(content)
    assert sizes and min(sizes) >= MIN_PRINT_PT, min(sizes)
    if count > 1:
        assert f"does not fit one {paper} {orientation} page" in done.err


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_svg_pages_in_each_orientation(cli, tmp_path: Path, orientation: str) -> None:
    out = tmp_path / "seal.svg"
    cli("flowchart", str(shipped_file("seal_use")), "--out", str(out), "--paper", "A3", "--orientation", orientation)
    for page in svg_pages(out):
        root = etree.fromstring(page.read_bytes())
        assert page_size_mm(root) == SIZES_MM[("A3", orientation)]
        assert min(size for size, _ in svg_text_sizes(root)) >= MIN_PRINT_PT


def test_a_chart_that_does_not_fit_continues_on_more_pages_and_says_so(cli, tmp_path: Path) -> None:
    out = tmp_path / "works.png"
    done = cli("flowchart", "small_works", "--out", str(out), check=True)
    files = [out] + sorted(tmp_path.glob("works-*.png"))
    count = int(re.search(r"(\d+) pages", done.out).group(1))
    assert count > 1 and len(files) == count
    assert f"continues on {count} pages" in done.err, done.err
    for file in files:
        content = file.read_bytes()
        assert content.startswith(b"\x89PNG")
        width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
        assert abs(width - 210 / 25.4 * 150) < 1 and abs(height - 297 / 25.4 * 150) < 1
        assert f"{file}: continued" in done.out or file == out
