"""Full exports of a matter with an amount, a transfer (转办) and a return (退回), as CSV, Excel and XES:
every column there, amounts in yuan, China time, people's names and offices, durations as numbers, the
CSV starting with its header and its metadata (with the anchor) in the sidecar, the workbook's in 说明."""

from __future__ import annotations

import csv
import io
import json

from lxml import etree
from openpyxl import load_workbook

from engine.audit.anchor import make_anchor
from engine.audit.export import export_flow
from engine.audit.logs import read_csv, read_xes
from engine.audit.mapping import mapper_for
from engine.audit.reference_model import model_for
from engine.definitions.deploy import latest_version
from engine.public.receipts import receipt_for
from engine.workspace.labels import role_name
from tests.engine.audit.conftest import RETURN_REASON, TRANSFER_REASON, form

KEY = "four_deliberations"
XES = "{http://www.xes-standard.org/}"


def _export(returned, tmp_path):
    with returned.sessions() as session, session.begin():
        digest = make_anchor(session).digest
        receipt = receipt_for(session, returned.returned)
    with returned.sessions() as session:
        for fmt in ("csv", "xlsx", "xes"):
            export_flow(session, KEY, fmt, tmp_path / f"out.{fmt}", findings=fmt == "xes")
        mapper = mapper_for(session, model_for(latest_version(session, KEY)))
    return digest, receipt, mapper


def test_one_export_of_each_format_of_a_returned_and_transferred_matter(returned, tmp_path):
    digest, receipt, mapper = _export(returned, tmp_path)
    _csv_rows_carry_amounts_forms_names_returns_transfers_and_numeric_durations(
        returned, tmp_path, digest, receipt, mapper
    )
    _workbook_holds_the_anchor_first_then_events_with_yuan_and_hours_and_the_forms(tmp_path, digest, receipt)
    _xes_keeps_its_shape_and_adds_amounts_names_returns_and_transfers(returned, tmp_path, digest, receipt, mapper)


def _csv_rows_carry_amounts_forms_names_returns_transfers_and_numeric_durations(
    returned, tmp_path, digest, receipt, mapper
):
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("case,receipt,flow,version,village,village_name,title,activity,step_name,kind,kind_zh,")
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [r for r in rows if r["case"] == str(returned.returned)]
    assert {r["receipt"] for r in mine} == {receipt}
    assert [(r["activity"], r["kind"]) for r in mine[:6]] == [
        ("propose", "completed"),
        ("discuss", "completed"),
        ("review", "returned"),
        ("discuss", "transferred"),
        ("discuss", "completed"),
        ("review", "completed"),
    ]
    propose, first, back, handed, redone = mine[:5]
    expected_yuan = form("propose")["estimated_amount_fen"] / 100
    assert propose["estimated_amount_yuan"] == f"{expected_yuan:.2f}" and propose["village_name"] == "上塘村"
    assert propose["timestamp"] == "2026-03-03T09:00:00+08:00" and propose["kind_zh"] == "办理"
    assert (propose["resource"], propose["resource_name"]) == ("shangtang.secretary", "上塘村书记")
    assert propose["office"] == role_name("party_secretary")
    assert json.loads(propose["form"])["matter_title"] == form("propose")["matter_title"]
    assert (propose["pass"], propose["redone_after_return"], propose["lifecycle"]) == ("1", "", "complete")
    assert propose["waiting_seconds"] == propose["handling_seconds"] == str(86400)
    assert (back["kind_zh"], back["return_from"], back["return_to"], back["return_to_name"]) == (
        "退回",
        "review",
        "discuss",
        "商议",
    )
    assert back["reason"] == RETURN_REASON and back["lifecycle"] == "ate_abort" and back["pass"] == ""
    assert (handed["transfer_from"], handed["transfer_to"], handed["transfer_to_name"]) == (
        "shangtang.secretary",
        "shangtang.deputy",
        "上塘村副书记",
    )
    assert handed["reason"] == TRANSFER_REASON and handed["kind_zh"] == "转办" and handed["lifecycle"] == "reassign"
    assert (redone["pass"], redone["redone_after_return"], redone["resource_name"]) == ("2", "1", "上塘村副书记")
    assert int(redone["waiting_seconds"]) == 2 * 86400  # from the return that opened 商议 again
    assert int(redone["handling_seconds"]) == 86400  # from the transfer that handed it over
    assert first["deviation"] == "" and redone["deviation"] == ""
    assert all(r["timestamp"].endswith("+08:00") for r in rows)

    meta = json.loads((tmp_path / "out.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["anchor"]["digest"] == digest and digest not in text
    assert meta["counts"]["returns"] == 1 and meta["counts"]["transfers"] == 1
    assert meta["exported_at"].endswith("+08:00") and "estimated_amount_yuan" in meta["columns"]

    imported = read_csv(tmp_path / "out.csv", mapper)  # returns and transfers are not steps done
    assert imported.rejected_count == 0 and imported.skipped == 2
    assert imported.used == len(rows) - 2


def _workbook_holds_the_anchor_first_then_events_with_yuan_and_hours_and_the_forms(tmp_path, digest, receipt):
    workbook = load_workbook(tmp_path / "out.xlsx")
    assert workbook.sheetnames[:2] == ["说明", "审计发现"]
    about = {row[0]: row[1] for row in workbook["说明"].iter_rows(values_only=True) if row[0]}
    assert about["存证摘要"] == digest and about["退回次数"] == 1 and about["转办次数"] == 1
    sheet = workbook["上塘村"]
    header = [c.value for c in sheet[3]]
    assert {
        "回执码",
        "操作",
        "办理人",
        "岗位",
        "等待（小时）",
        "经手（小时）",
        "预计金额（元）",
        "退回至",
        "转办至",
        "理由",
    } <= set(header)
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=4, values_only=True)]
    propose = rows[0]
    assert propose["回执码"] == receipt and propose["办理人"] == "上塘村书记"
    assert propose["预计金额（元）"] == form("propose")["estimated_amount_fen"] / 100
    assert propose["等待（小时）"] == 24 and isinstance(propose["经手（小时）"], (int, float))
    back = rows[2]
    assert (back["操作"], back["退回至"], back["理由"]) == ("退回", "商议", RETURN_REASON)
    assert rows[3]["转办至"] == "上塘村副书记" and rows[4]["操作"] == "办理（退回后重办）"
    forms = workbook["表单·提议"]
    titles = [c.value for c in forms[3]]
    assert "事项名称" in titles and "预计金额（元）" in titles and "附件" in titles
    first = dict(zip(titles, next(forms.iter_rows(min_row=4, values_only=True)), strict=True))
    assert first["事项名称"] == form("propose")["matter_title"] and first["动议事由"] == "党员群众建议"


def _xes_keeps_its_shape_and_adds_amounts_names_returns_and_transfers(returned, tmp_path, digest, receipt, mapper):
    root = etree.parse(str(tmp_path / "out.xes")).getroot()
    assert root.get("xes.version") == "1849-2016"
    log_attrs = {a.get("key"): a.get("value") for a in root if a.tag == f"{XES}string"}
    assert log_attrs["powerlist:anchor"] == digest
    trace = next(
        t
        for t in root.iter(f"{XES}trace")
        if t.find(f"{XES}string[@key='concept:name']").get("value") == str(returned.returned)
    )
    assert trace.find(f"{XES}string[@key='powerlist:receipt']").get("value") == receipt
    events = [{a.get("key"): a.get("value") for a in e} for e in trace.iter(f"{XES}event")]
    propose = events[0]
    assert propose["time:timestamp"] == "2026-03-03T09:00:00.000+08:00"
    assert float(propose["powerlist:estimated_amount_yuan"]) == form("propose")["estimated_amount_fen"] / 100
    assert propose["powerlist:resourceName"] == "上塘村书记" and propose["org:role"] == role_name("party_secretary")
    back, handed = events[2], events[3]
    assert (back["lifecycle:transition"], back["powerlist:returnTo"], back["powerlist:reason"]) == (
        "ate_abort",
        "discuss",
        RETURN_REASON,
    )
    assert (handed["lifecycle:transition"], handed["powerlist:transferTo"]) == ("reassign", "shangtang.deputy")
    assert events[4]["powerlist:redoneAfterReturn"] == "true" and events[4]["powerlist:pass"] == "2"
    assert "powerlist:deviation" not in events[4]
    imported = read_xes(tmp_path / "out.xes", mapper)
    assert imported.rejected_count == 0 and imported.skipped == 2
