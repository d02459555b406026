"""Our own histories: matters driven through the engine, records written around it, exports, replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine import api
from engine.audit import replay as replays
from engine.audit.anchor import make_anchor
from engine.audit.conformance import check_log
from engine.audit.export import export_flow
from engine.audit.histories import Scope, check_histories
from engine.audit.logs import read_csv, read_xes
from engine.audit.mapping import mapper_for
from engine.audit.reference_model import model_for
from engine.definitions.deploy import latest_version
from engine.errors import InvalidState
from engine.persistence.models import Matter
from tests.engine.audit.conftest import T0, append_event, append_steps, drive

KEY = "four_deliberations"


def check(sessions, **scope) -> list[tuple[str, str, str, int, str | None]]:
    with sessions() as session:
        findings = check_histories(session, Scope(key=KEY, **scope))
    return sorted((d.case, d.kind, d.step, d.event, d.resource) for d in findings.deviations())


def test_overdue_steps_of_driven_matters(matters):
    sessions, ok, slow, loop = matters
    assert check(sessions) == [(str(slow), "overdue", "discuss", 2, "xiatang.secretary")]
    assert check(sessions, unit="QX0101") == []
    assert len(check(sessions, unit="QX01")) == 1
    assert check(sessions, unit="QX02") == []
    with sessions() as session:
        findings = check_histories(session, Scope(key=KEY))
        deviation = findings.deviations()[0]
        assert deviation.due == T0 + timedelta(days=11) and deviation.at == T0 + timedelta(days=13)
        assert findings.summary().cases == 3 and findings.summary().events == 9 + 9 + 11


def test_records_written_around_the_engine_are_checked(flow):
    skipped = drive(flow, stop_after="discuss")
    append_steps(flow, skipped, ["resolve"], "shangtang.chair", T0 + timedelta(days=3))
    swapped = drive(flow, stop_after="discuss")
    append_steps(flow, swapped, ["resolve", "review"], "shangtang.chair", T0 + timedelta(days=3))
    repeated = drive(flow, stop_after="propose")
    append_steps(flow, repeated, ["propose"], "shangtang.secretary", T0 + timedelta(days=2))
    with flow() as session:
        assert api.verify_history(session).ok  # the chains are intact: only the order is wrong
    assert check(flow) == [
        (str(skipped), "skip", "review", 3, "shangtang.chair"),
        (str(swapped), "swap", "resolve", 3, "shangtang.chair"),
        (str(repeated), "repeat", "propose", 2, "shangtang.secretary"),
    ]


def test_withdrawn_steps_do_not_count_and_returns_are_rework(flow):
    instance = drive(flow, stop_after="discuss")
    day = timedelta(days=1)
    append_event(
        flow, instance, "task_withdrawn", "discuss", "shangtang.secretary", T0 + 2 * day, {"opened": ["discuss"]}
    )
    append_steps(flow, instance, ["discuss", "review"], "shangtang.secretary", T0 + 2 * day)
    append_event(flow, instance, "task_returned", "resolve", "shangtang.chair", T0 + 5 * day, {"opened": ["review"]})
    append_steps(flow, instance, ["review", "resolve"], "shangtang.secretary", T0 + 5 * day)
    assert check(flow) == [(str(instance), "repeat", "review", 4, "shangtang.secretary")]  # the withdrawn one is gone
    with flow() as session:
        record = replays.replay(session, instance)
    assert [(c["step"], c["withdrawn"]) for c in record["completions"]] == [
        ("propose", False),
        ("discuss", True),
        ("discuss", False),
        ("review", False),
        ("review", False),
        ("resolve", False),
    ]
    returned = next(p for p in record["positions"] if p["kind"] == "task_returned")
    assert [o["step"] for o in returned["open"]] == ["review"]


def _signature(findings) -> list[tuple[str, str, str, int]]:
    return sorted((d.case, d.kind, d.step, d.event) for d in findings.deviations())


def test_export_round_trip_and_workbook(matters, tmp_path):
    sessions, ok, slow, loop = matters
    append_steps(sessions, ok, ["implement"], "shangtang.chair", T0 + timedelta(days=10))
    with sessions() as session, session.begin():
        digest = make_anchor(session).digest
    with sessions() as session:
        expected = _signature(check_histories(session, Scope(key=KEY)))
        assert {kind for _, kind, _, _ in expected} == {"overdue", "repeat"}
        for fmt in ("xes", "csv", "xlsx"):
            summary = export_flow(session, KEY, fmt, tmp_path / f"out.{fmt}", findings=fmt == "xes")
            assert summary.cases == 3 and summary.anchor == digest
        export_flow(session, KEY, "csv", tmp_path / "findings.csv", findings=True)
        mapper = mapper_for(session, model_for(latest_version(session, KEY)))
        model = mapper.model

    xes = (tmp_path / "out.xes").read_text(encoding="utf-8")
    assert digest in xes and 'key="powerlist:deviation" value="repeat"' in xes
    imported = read_xes(tmp_path / "out.xes", mapper)
    assert imported.rejected_count == 0 and imported.used == 30
    assert _signature(check_log(imported.log, model)) == expected

    csv_text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert csv_text.startswith("case,receipt,flow,") and digest not in csv_text
    assert json.loads((tmp_path / "out.csv.meta.json").read_text(encoding="utf-8"))["anchor"]["digest"] == digest
    imported = read_csv(tmp_path / "out.csv", mapper)
    assert imported.rejected_count == 0
    assert _signature(check_log(imported.log, model)) == expected
    findings_csv = (tmp_path / "findings.csv").read_text(encoding="utf-8-sig").splitlines()
    assert findings_csv[0].startswith("case,kind,kind_zh") and len(findings_csv) == 1 + len(expected)

    workbook = load_workbook(tmp_path / "out.xlsx")
    assert workbook.sheetnames[:5] == ["说明", "审计发现", "上塘村", "下塘村", "岭头村"]
    assert all(name.startswith("表单·") for name in workbook.sheetnames[5:])
    sheet = workbook["审计发现"]
    assert sheet.print_title_rows == "$3:$3" and sheet.page_setup.orientation == "landscape"
    assert digest in sheet["A2"].value
    assert [c.value for c in sheet[3]][:5] == ["事项编号", "村", "事项", "问题类型", "环节"]
    kinds = sorted(row[3] for row in sheet.iter_rows(min_row=4, values_only=True))
    assert kinds == ["超时", "重复"]
    village = workbook["岭头村"]
    assert village.max_row == 3 + 11  # title, subtitle, header, eleven steps


def test_replay_positions_durations_and_as_of(flow):
    instance = drive(flow, fail_review=True, gaps={"review": timedelta(days=11)})
    with flow() as session:
        full = replays.replay(session, instance)
        assert full["instance"]["status"] == "completed"
        kinds = [p["kind"] for p in full["positions"]]
        assert kinds[0] == "instance_started" and kinds[-1] == "instance_ended"
        assert [o["step"] for o in full["positions"][0]["open"]] == ["propose"]
        review = next(c for c in full["completions"] if c["step"] == "review")
        assert review["took_seconds"] == 11 * 86400 and review["overdue"] and review["by"] == "shangtang.secretary"
        assert review["data"]["passed"] is False
        assert [(d["kind"], d["step"]) for d in full["deviations"]] == [("overdue", "review")] * 2  # both rounds
        assert full["open"] == []

        middle = replays.replay(session, instance, as_of=T0 + timedelta(days=5))
        assert [c["step"] for c in middle["completions"]] == ["propose", "discuss"]
        assert [o["step"] for o in middle["open"]] == ["review"]
        assert middle["open"][0]["waiting_seconds"] == 3 * 86400 and not middle["open"][0]["overdue"]
        assert middle["deviations"] == []


def test_matter_lists_and_heatmap(matters):
    sessions, ok, slow, loop = matters
    with sessions() as session:
        listed = replays.matters(session, unit="QX", key=KEY)
        assert listed["total"] == 3 and {m["village"] for m in listed["matters"]} == {"QX0101", "QX0102", "QX0201"}
        assert replays.matters(session, unit="QX02")["total"] == 1
        assert replays.matters(session, status="running")["total"] == 0
        registered = replays.violation_source()
        replays.set_violation_source(None)
        try:
            assert replays.matters(session, unit="QX", key=KEY)["matters"][0]["violations"] is None
            with pytest.raises(InvalidState):
                replays.matters(session, has_violations=True)
        finally:
            replays.set_violation_source(registered)

        class Flagged:
            def instances_with_violations(self):
                return select(Matter.id).where(Matter.id == slow)

            def counts(self, session, ids):
                return {slow: 2} if slow in ids else {}

        replays.set_violation_source(Flagged())
        try:
            flagged = replays.matters(session, has_violations=True)
            assert [(m["id"], m["violations"]) for m in flagged["matters"]] == [(slow, 2)]
            assert replays.matters(session, has_violations=False)["total"] == 2
        finally:
            replays.set_violation_source(registered)

        heat = {s["step"]: s for s in replays.heatmap(session, KEY)["steps"]}
        assert heat["discuss"]["count"] == 4 and heat["discuss"]["overdue"] == 1
        assert heat["discuss"]["reworked"] == 1 and heat["review"]["reworked"] == 1
        assert heat["propose"]["median_seconds"] == 86400 and heat["resolve"]["skip"] == 0
