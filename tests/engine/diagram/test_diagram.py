"""Flow diagrams: drawn from the file's own layout, laid out by graphviz when it has none, states as
CSS classes, Chinese wrapped, and nothing from the file able to inject markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.diagram import diagram_of, flow_svg, render_svg
from engine.diagram.text import wrap
from tests.web.conftest import FOUR, MINI

SVG = "{http://www.w3.org/2000/svg}"
CORPUS = Path("/work/shared/corpus/bpmn-miwg-reference")


def shapes(svg: str) -> dict[str, str]:
    root = etree.fromstring(svg.encode())
    return {g.get("data-element-id"): g.get("class") for g in root.iter(f"{SVG}g") if g.get("data-element-id")}


def test_a_flow_is_drawn_as_modelled_with_states_as_classes():
    drawing = diagram_of(FOUR.read_bytes())
    assert not drawing.laid_out
    propose = next(s for s in drawing.shapes if s.element_id == "propose")
    assert (propose.bounds.x, propose.bounds.y, propose.bounds.width) == (380, 115, 100)
    svg = render_svg(
        drawing,
        {
            "propose": "done",
            "discuss": "current",
            "review": "overdue",
            "end_not_agreed": "skipped",
            "flow_start_to_propose": "done",
            "resolve": "bogus",
        },
    )
    found = shapes(svg)
    assert found["propose"] == "pl-shape pl-task done"
    assert found["discuss"] == "pl-shape pl-task current"
    assert found["review"] == "pl-shape pl-task overdue"
    assert "skipped" in found["end_not_agreed"]
    assert found["flow_start_to_propose"] == "pl-edge pl-sequence done"
    assert found["resolve"] == "pl-shape pl-task"
    assert {"lane_party_branch", "lane_village_committee", "gw_dual_role"} <= found.keys()


def test_a_flow_without_layout_is_laid_out_by_graphviz():
    drawing = diagram_of(MINI.read_bytes())
    assert drawing.laid_out
    ids = {s.element_id for s in drawing.shapes}
    assert {"start", "propose", "resolve", "passed", "disclose", "end", "rejected", "lane_chair"} <= ids
    propose = next(s for s in drawing.shapes if s.element_id == "propose")
    resolve = next(s for s in drawing.shapes if s.element_id == "resolve")
    assert propose.bounds.x < resolve.bounds.x  # left to right
    assert {e.element_id for e in drawing.edges} == {"f1", "f2", "f3", "f4", "f_yes", "f_no"}


def test_names_from_an_uploaded_file_cannot_inject_markup():
    evil = (
        MINI.read_text(encoding="utf-8")
        .replace('name="提议"', 'name="&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x"')
        .replace('name="通过"', 'name="&lt;img src=x onerror=alert(2)&gt;"')
    )
    svg = flow_svg(evil.encode())
    assert "<script" not in svg and "<img" not in svg
    root = etree.fromstring(svg.encode())
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    texts = "".join(root.itertext())
    assert "<script>alert(1)</script>" in texts and "<img src=x onerror=alert(2)>" in texts
    assert all(e.tag.startswith(SVG) for e in root.iter() if isinstance(e.tag, str))


def test_long_chinese_names_wrap_inside_their_box():
    lines = wrap("村民代表会议表决通过并张贴公开满七日", 90, 12)
    assert len(lines) >= 2 and all(len(line) <= 8 for line in lines)
    assert wrap("（二）村务公开", 40, 12)[0] != "（"


@pytest.mark.skipif(not CORPUS.exists(), reason="the BPMN MIWG corpus is not present")
def test_the_reference_models_draw(tmp_path):
    drawn = 0
    for path in sorted(CORPUS.glob("*.bpmn")):
        svg = flow_svg(path.read_bytes())
        etree.fromstring(svg.encode())
        drawn += 1
    assert drawn >= 20
