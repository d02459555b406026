"""The audit commands through the real ``powerlist`` entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from openpyxl import load_workbook
from sqlalchemy import create_engine, text

KEY = "four_deliberations"


def test_conformance_of_our_own_histories(cli, matters):
    _, ok, slow, loop = matters
    report = cli("conformance", KEY, "--json", check=True).json()
    assert report["summary"]["cases"] == 3 and report["summary"]["deviations"]["overdue"] == 1
    [deviation] = report["cases"][str(slow)]
    assert (deviation["kind"], deviation["step"], deviation["resource"]) == ("overdue", "discuss", "xiatang.secretary")
    plain = cli("conformance", KEY, check=True).out
    assert f"case {slow}: 1 deviation" in plain and "商议" in plain and "1 cases deviate" in plain
    assert "0 cases deviate" in cli("conformance", KEY, "--village", "QX0101", check=True).out


LOG = """案件编号,步骤,执行人,时间
k1,提议,甲,2026-03-03 09:00
k1,商议,甲,2026-03-04 09:00
k1,决议,乙,2026-03-05 09:00
k1,村民代表会,乙,2026-03-06 09:00
k2,提议,丙,2026-03-33 09:00
,提议,丙,2026-03-03 09:00
"""


def test_conformance_of_an_imported_csv_log(cli, flow, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG, encoding="utf-8")
    result = cli("conformance", KEY, "--log", str(path))
    assert result.code == 0, result.err
    assert "read 6 events: used 3, rejected 3" in result.err
    assert "line 5: 步骤: unknown activity" in result.err
    assert "line 6: 时间: bad time stamp: '2026-03-33 09:00'" in result.err
    assert "line 7: 案件编号: missing case id" in result.err
    assert "case k1: 1 deviation" in result.out and "skip" in result.out and "审议" in result.out

    mapping = tmp_path / "map.csv"
    mapping.write_text("活动,步骤\n村民代表会,决议公开\n", encoding="utf-8")
    mapped = cli("conformance", KEY, "--log", str(path), "--map", str(mapping), "--json", check=True).json()
    assert mapped["import"]["used"] == 4 and mapped["import"]["rejected"] == 2
    assert [r["line"] for r in mapped["import"]["rejected_rows"]] == [6, 7]
    assert [(d["kind"], d["step"]) for d in mapped["cases"]["k1"]] == [("skip", "review")]


def test_mapping_table(cli, flow, tmp_path):
    assert cli("mapping", "set", KEY, "村民代表会", "决议公开", "--as", "county.auditor", check=True).code == 0
    listed = cli("mapping", "list", KEY, "--json", check=True).json()
    assert listed == [
        {"source": "村民代表会", "step": "disclose_resolution", "updated_by": "county.auditor", "step_name": "决议公开"}
    ]
    path = tmp_path / "log.csv"
    path.write_text(LOG, encoding="utf-8")
    assert cli("conformance", KEY, "--log", str(path), "--json", check=True).json()["import"]["used"] == 4
    assert cli("mapping", "set", KEY, "x", "no_such_step").code == 1
    assert cli("mapping", "remove", KEY, "村民代表会", check=True).code == 0
    assert cli("mapping", "remove", KEY, "村民代表会").code == 1
    assert "no mappings" in cli("mapping", "list", KEY, check=True).out


def test_bad_input_exits_2_and_unknown_flow_1(cli, flow, tmp_path):
    hostile = tmp_path / "evil.xes"
    hostile.write_text('<?xml version="1.0"?><!DOCTYPE log [<!ENTITY e SYSTEM "file:///etc/passwd">]><log>&e;</log>')
    result = cli("conformance", KEY, "--log", str(hostile))
    assert result.code == 2 and "DOCTYPE" in result.err
    assert cli("conformance", KEY, "--log", str(tmp_path / "missing.xes")).code == 2
    assert cli("conformance", "no_such_flow").code == 1
    assert cli("export", KEY, "--format", "csv", "--out", str(tmp_path / "nope" / "x.csv")).code == 2


def test_anchor_and_exports(cli, matters, tmp_path):
    first = cli("anchor", check=True).out
    match = re.fullmatch(r"anchor (\d{4}-\d\d-\d\d) ([0-9a-f]{64}) \(3 matters, \d+ events, \d+ violations\)\n", first)
    assert match, first
    digest = match.group(2)
    assert cli("anchor", "--json", check=True).json()["digest"] == digest  # once a day

    out = cli("export", KEY, "--format", "xlsx", "--out", str(tmp_path / "audit.xlsx"), check=True).out
    assert "exported 3 matters, 29 events, 1 findings" in out and digest in out
    workbook = load_workbook(tmp_path / "audit.xlsx")
    assert workbook.sheetnames[:2] == ["说明", "审计发现"]
    assert digest in [row[1] for row in workbook["说明"].iter_rows(values_only=True)]
    cli("export", KEY, "--format", "xes", "--findings", "--out", str(tmp_path / "audit.xes"), check=True)
    assert digest in (tmp_path / "audit.xes").read_text(encoding="utf-8")
    summary = cli("export", KEY, "--format", "csv", "--out", str(tmp_path / "a.csv"), "--json", check=True).json()
    assert summary["events"] == 29 and summary["anchor"] == digest
    assert summary["meta"] == str(tmp_path / "a.csv.meta.json")
    assert (tmp_path / "a.csv").read_text(encoding="utf-8-sig").startswith("case,receipt,flow,")
    meta = json.loads((tmp_path / "a.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["anchor"]["digest"] == digest and meta["counts"]["cases"] == 3
    assert not list(tmp_path.glob(".*.part"))


def test_verify_names_an_edited_event(cli, matters, db_url):
    _, ok, slow, loop = matters
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'x' WHERE instance_id = :i AND seq = 2"), {"i": ok})
    engine.dispose()
    result = cli("verify")
    assert result.code == 1 and f"instance {ok} event #2" in result.err


# --- against a BPMN file of any modeler: no deployed flow, no database --------------------------

DATA = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "conformance"


def test_conformance_of_a_log_against_a_descriptive_model(tmp_path):
    """A generated descriptive model (27 tasks, exclusive and parallel blocks, loops, not executable)
    and a log naming its tasks by name, by id and through a mapping file, end to end."""
    from tests.conftest import Cli

    cli = Cli(f"sqlite:///{tmp_path / 'none.sqlite'}", tmp_path)  # never created: no database needed
    model, log, mapping = DATA / "descriptive_27.bpmn", DATA / "descriptive_27.csv", DATA / "descriptive_27_mapping.csv"
    args = ["conformance", "--model", str(model), "--log", str(log), "--ended"]
    report = cli(*args, "--mapping", str(mapping), "--json", check=True).json()
    assert report["model"]["tasks"] == 27 and report["model"]["process"] == "generated"
    assert report["import"]["rejected"] == 0 and report["import"]["cases"] == 38
    summary = report["summary"]
    assert summary["cases"] == 38 and summary["method"] == "alignment"
    assert set(summary["timing"]) == {"total_ms", "mean_ms", "max_ms"}
    assert not [case for case in report["cases"] if case.startswith("ok-")]  # every generated run conforms
    deviating = sorted(report["cases"])
    assert summary["deviating_cases"] == len(deviating) == 8
    kinds = {case: sorted(d["kind"] for d in items) for case, items in report["cases"].items()}
    assert all(k in (["skip"], ["repeat"], ["swap"], ["insert", "skip"], ["insert"]) for k in kinds.values()), kinds
    assert [k for case, k in kinds.items() if case.startswith("repeat")] == [["repeat"]] * 3
    assert not (tmp_path / "none.sqlite").exists()

    plain = cli(*args)  # without the mapping, 第三个环节 is unknown: left out and named, not a deviation
    assert plain.code == 0 and "process generated" in plain.err and "checked by alignment" in plain.err
    assert "unknown activities: 第三个环节 (13)" in plain.err and "38 cases" in plain.out


def test_a_model_that_cannot_be_understood_is_named_by_element_and_line(tmp_path):
    from tests.conftest import Cli

    cli = Cli(f"sqlite:///{tmp_path / 'none.sqlite'}", tmp_path)
    broken = tmp_path / "broken.bpmn"
    text = (DATA / "descriptive_27.bpmn").read_text(encoding="utf-8")
    broken.write_text(text.replace('targetRef="task_2"', 'targetRef="task_99"', 1), encoding="utf-8")
    log = DATA / "descriptive_27.csv"
    result = cli("conformance", "--model", str(broken), "--log", str(log))
    assert result.code == 2 and "task_99" in result.err and "broken.bpmn:" in result.err
    assert "flow-missing-end" in result.err
    # hostile files and unknown processes: tests/engine/audit/test_descriptive.py (in process, quicker)
