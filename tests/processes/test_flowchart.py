"""The printable flowchart of each power item: Chinese steps, roles and time limits on A4 or A3 pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine.catalog.catalog import load_flow, shipped_file, shipped_files
from engine.catalog.flowchart import draw
from engine.catalog.order import step_order
from engine.catalog.wording import time_limit_text
from engine.definitions.descriptions import StepInfo

SVG = "{http://www.w3.org/2000/svg}"
POINTS_PER_INCH = 72
FLOWS = shipped_files()


def svg_texts(content: bytes) -> list[str]:
    root = etree.fromstring(content)
    return ["".join(t.itertext()).replace("\xa0", " ") for t in root.iter(f"{SVG}text")]


def chart_texts(key_or_path: str, paper: str = "A4") -> list[str]:
    """The texts on every page of a chart."""
    flow = load_flow(key_or_path)
    chart = draw(flow.definition, flow.graph, "svg", paper)
    return [text for page in chart.documents for text in svg_texts(page)]


def svg_size_mm(content: bytes) -> tuple[float, float]:
    root = etree.fromstring(content)
    return float(root.get("width").removesuffix("mm")), float(root.get("height").removesuffix("mm"))


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_chart_shows_every_step_with_role_and_time_limit_on_a4(path: Path) -> None:
    flow = load_flow(str(path))
    definition = flow.definition
    chart = draw(definition, flow.graph, "svg", "A4")
    texts = [text for page in chart.documents for text in svg_texts(page)]
    joined = "\n".join(texts)
    assert f"{definition.number} {definition.name}" in texts
    assert definition.responsible_body in joined
    for step in definition.steps:
        assert step.name in "".join(texts), f"step {step.name} missing"  # narrow boxes wrap long names
        assert time_limit_text(step) in joined
    for edge in flow.graph.edges:
        if edge.name and flow.graph.nodes[edge.source].kind == "exclusiveGateway":
            assert edge.name.replace("，", "") in joined.replace("\n", "").replace("，", ""), edge.name
    assert all(svg_size_mm(page) == (210, 297) for page in chart.documents)


def test_roles_are_shown_in_chinese_and_steps_are_numbered_in_order() -> None:
    flow = load_flow("fund_payment")
    texts = chart_texts("fund_payment", "A3")
    assert "办理：村务监督委员会成员　时限：5天" in texts
    assert "办理：镇三资中心　时限：5个工作日" in texts
    assert "① 填报支出凭证" in texts and "⑨ 支付" in texts
    assert step_order(flow.graph) == [
        "voucher",
        "finance_signoff",
        "supervisory_review",
        "joint_meeting_approval",
        "representatives_resolution",
        "town_leader_approval",
        "bookkeeper_submit",
        "town_audit",
        "payment",
    ]


def test_a3_pages_are_larger_than_a4_and_hold_more_of_the_chart() -> None:
    flow = load_flow("small_works")
    a4 = draw(flow.definition, flow.graph, "svg", "A4")
    a3 = draw(flow.definition, flow.graph, "svg", "A3")
    assert {svg_size_mm(page) for page in a4.documents} == {(210, 297)}
    assert {svg_size_mm(page) for page in a3.documents} == {(297, 420)}
    assert a3.pages < a4.pages


def test_time_limits_in_words() -> None:
    def step(limit: str, calendar: str = "calendar") -> StepInfo:
        return StepInfo("s", "步骤", "cadre", time_limit=limit, calendar=calendar)

    assert time_limit_text(step("P10D")) == "10天"
    assert time_limit_text(step("P10D", "working")) == "10个工作日"
    assert time_limit_text(step("PT48H")) == "48小时"
    assert time_limit_text(step("P1DT12H")) == "1天12小时"
    assert time_limit_text(StepInfo("s", "步骤", "cadre")) is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_flowchart_command_writes_pdf_and_svg(cli, tmp_path: Path) -> None:
    pdf = tmp_path / "fund_payment.pdf"
    done = cli("flowchart", "fund_payment", "--out", str(pdf), "--paper", "A3", check=True)
    assert "村级资金支出先审后付" in done.out
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    box = [float(v) for v in re.search(rb"/MediaBox \[ *([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) *\]", content).groups()]
    assert box[0] == box[1] == 0 and (round(box[2] / POINTS_PER_INCH * 25.4, 2), round(box[3] / 72 * 25.4, 2)) == (
        297,
        420,
    )

    svg = tmp_path / "seal.svg"
    cli("flowchart", str(shipped_file("seal_use")), "--out", str(svg), check=True)
    pages = [svg, *sorted(tmp_path.glob("seal-*.svg"))]
    assert any("盖章登记" in text for page in pages for text in svg_texts(page.read_bytes()))

    assert cli("flowchart", "no_such_item", "--out", str(svg)).code == 1
    assert cli("flowchart", "fund_payment", "--out", str(tmp_path / "chart.doc")).code == 2
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions/>", encoding="utf-8")
    bad = cli("flowchart", str(broken), "--out", str(svg))
    assert bad.code == 2 and "broken.bpmn" in bad.err
