"""Export writers on in-memory logs: well-formed XES whatever the text, printable workbooks."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from lxml import etree
from openpyxl import load_workbook

from engine.audit.conformance import check_log
from engine.audit.export import ExportInfo, write_csv, write_xes, write_xlsx
from engine.audit.logs import read_csv, read_xes
from engine.audit.mapping import ActivityMapper
from tests.engine.audit.conftest import FULL, found, log_of

ANCHOR = {"day": "2026-03-20", "digest": "ab" * 32, "instances": 2, "events": 9, "created_at": None}


def info(four) -> ExportInfo:
    names = dict(zip(four.steps, four.names, strict=True))
    return ExportInfo("four_deliberations", "四议两公开", datetime(2026, 3, 21, tzinfo=UTC), ANCHOR, names)


def test_xes_is_well_formed_whatever_the_text_and_reads_back(four):
    log = log_of({'a&b "<1>"': [(s, timedelta(days=1), "张\x01三 <x>") for s in FULL[:3]]})
    log.case_attrs = [{"title": "修路\x0b & <桥>", "village_name": "上塘村"}]
    out = io.BytesIO()
    write_xes(log, out, info(four), check_log(log, four))
    root = etree.fromstring(out.getvalue())
    assert root.get("xes.version") == "1849-2016"
    assert [e.get("name") for e in root.findall("{*}extension")] == ["Concept", "Time", "Organizational", "Lifecycle"]
    assert root.find("{*}classifier").get("keys") == "concept:name"
    assert ANCHOR["digest"] in out.getvalue().decode()
    imported = read_xes(io.BytesIO(out.getvalue()), ActivityMapper(four))
    assert imported.log.case_ids == ['a&b "<1>"']
    assert imported.log.resource(0) == "张三 <x>"
    assert [imported.log.activity(e) for e in imported.log.events(0)] == FULL[:3]


def test_csv_round_trip_keeps_case_start_and_end(four):
    log = log_of({"late_start": [("propose", timedelta(days=9)), *FULL[1:-1]]})
    out = io.BytesIO()
    write_csv(log, out, info(four))
    imported = read_csv(io.BytesIO(out.getvalue()), ActivityMapper(four))
    assert (
        found(check_log(imported.log, four))
        == found(check_log(log, four))
        == {"late_start": [("overdue", "propose"), ("skip", "supervise_result")]}
    )


def test_workbook_without_villages_and_odd_sheet_names(four, tmp_path):
    log = log_of({"x": FULL, "y": FULL[:2]})
    log.case_attrs = [{"village_name": "a/b:c", "title": '=HYPERLINK("http://x")'}, {}]
    out = io.BytesIO()
    write_xlsx(log, check_log(log, four), out, info(four))
    workbook = load_workbook(io.BytesIO(out.getvalue()))
    assert workbook.sheetnames == ["说明", "审计发现", "a_b_c", "全部"]
    assert ANCHOR["digest"] in [row[1] for row in workbook["说明"].iter_rows(values_only=True)]
    sheet = workbook["a_b_c"]
    assert sheet.page_setup.paperSize == 9 and sheet.print_title_rows == "$3:$3"
    assert sheet.column_dimensions["C"].width == 30
    assert [c.value for c in sheet[4]][2:5] == ['=HYPERLINK("http://x")', 1, "提议"]
    assert sheet["C4"].data_type == "s"  # a title is text, never a formula


def test_csv_cells_never_start_a_formula():
    import io

    from engine.audit.export import _SafeWriter

    buffer = io.StringIO()
    _SafeWriter(buffer).writerow(["=HYPERLINK(\"x\")", "+1", "-2", "@a", "修路", 3, -4])
    assert buffer.getvalue().strip() == "\"'=HYPERLINK(\"\"x\"\")\",'+1,'-2,'@a,修路,3,-4"
