"""Conformance on in-memory logs: every kind of deviation found and classified, nothing invented."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from engine.audit.conformance import check_log
from engine.audit.eventlog import EventLogBuilder
from tests.conftest import MINI
from tests.engine.audit.conftest import FULL, T0, compile_file, compile_text, found, log_of
from tests.engine.audit.test_model import PARALLEL
from tests.web.auditor.conftest import audited, client_as  # noqa: F401  (the auditors' site, built once)

DAY = timedelta(days=1)
DUAL = ["propose", "review", *FULL[3:]]
LOOP = ["propose", "discuss", "review", "discuss", "review", *FULL[3:]]


def test_conforming_cases_report_nothing(four):
    log = log_of(
        {
            "full": FULL,
            "dual_role": DUAL,
            "review_failed_once": LOOP,
            "dual_role_then_failed": ["propose", "review", "discuss", "review", *FULL[3:]],
            "not_agreed": FULL[:2],
            "rejected": FULL[:4],
            "slow_but_in_time": [(s, timedelta(days=4, hours=23)) for s in FULL],  # the 村监会 has P5D
        }
    )
    running = log_of({f"running_{n}": FULL[:n] for n in range(1, len(FULL))}, ended=False)
    assert check_log(log, four).raw == []
    assert check_log(running, four).raw == []


def test_skip_swap_repeat_and_overdue_are_found_and_classified(four):
    log = log_of(
        {
            "skip_review": ["propose", "discuss", ("resolve", DAY, "chair.li"), *FULL[4:]],
            "skip_first": FULL[1:],
            "skip_last": FULL[:-1],
            "swap": ["propose", "discuss", ("resolve", DAY, "chair.li"), "review", *FULL[4:]],
            "swap_first": ["discuss", "propose", *FULL[2:]],
            "swap_last": [*FULL[:6], "disclose_result", "implement", "supervise_result"],
            "repeat": [*FULL[:4], "resolve", *FULL[4:]],
            "repeat_in_loop": ["propose", "discuss", "discuss", *FULL[2:]],
            "overdue": ["propose", ("discuss", timedelta(days=11), "sec.wang"), *FULL[2:]],
            "overdue_first": [("propose", timedelta(days=8)), *FULL[1:]],
            "two": [*FULL[:3], "review", ("resolve", timedelta(days=20)), *FULL[4:]],
        }
    )
    findings = check_log(log, four)
    assert found(findings) == {
        "skip_review": [("skip", "review")],
        "skip_first": [("skip", "propose")],
        "skip_last": [("skip", "supervise_result")],
        "swap": [("swap", "resolve")],
        "swap_first": [("swap", "discuss")],
        "swap_last": [("swap", "disclose_result")],
        "repeat": [("repeat", "resolve")],
        "repeat_in_loop": [("repeat", "discuss")],
        "overdue": [("overdue", "discuss")],
        "overdue_first": [("overdue", "propose")],
        "two": [("overdue", "resolve"), ("repeat", "review")],
    }
    by_case = findings.by_case()
    skip = by_case["skip_review"][0]
    assert (skip.event, skip.resource, skip.at) == (3, "chair.li", T0 + 3 * DAY)  # who went on without it
    swap = by_case["swap"][0]
    assert (swap.step, swap.other, swap.resource) == ("resolve", "review", "chair.li")
    assert "决议" in swap.describe() and "审议" in swap.describe()
    assert by_case["skip_last"][0].event == len(FULL)  # missing at the end: one past the last event
    late = by_case["overdue"][0]
    assert late.resource == "sec.wang"
    assert late.enabled == T0 + DAY and late.due == T0 + 11 * DAY and late.at == T0 + 12 * DAY
    assert late.as_dict()["late_seconds"] == 86400
    assert findings.counts() == {"skip": 3, "swap": 3, "repeat": 3, "overdue": 3, "insert": 0}
    assert findings.deviating_cases() == 11


def test_a_running_case_is_not_missing_its_future(four):
    assert check_log(log_of({"c": FULL[:-1]}, ended=False), four).raw == []
    assert found(check_log(log_of({"c": FULL[:-1]}, ended=True), four)) == {"c": [("skip", "supervise_result")]}


def test_the_recorded_end_event_sharpens_the_end_check(four):
    builder = EventLogBuilder()
    builder.case("c", T0.timestamp(), "end_done")
    for n, step in enumerate(FULL[:2]):
        builder.add("c", step, (T0 + (n + 1) * DAY).timestamp())
    # ended at 办结 right after 商议: everything between is missing
    assert found(check_log(builder.build(), four)) == {"c": [("skip", s) for s in sorted(FULL[2:])]}


def test_working_day_limits_use_the_holiday_calendar():
    mini = compile_file(MINI)  # 决议: P5D in working days
    friday = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # 10:00 China time
    log = log_of(
        {
            "in_time": [("propose", DAY), ("resolve", timedelta(days=7, hours=10)), "disclose"],
            "late": [("propose", DAY), ("resolve", timedelta(days=8)), "disclose"],
        },
        start=friday - DAY,
    )
    assert found(check_log(log, mini)) == {"late": [("overdue", "resolve")]}


def test_cached_working_day_due_times_agree_with_the_engine():
    from engine.audit.conformance import _WorkingDue
    from engine.calendar import due_at
    from engine.runtime.steps import work_calendar

    calendar = work_calendar()
    cached = _WorkingDue(calendar)
    for hours in range(0, 24 * 40, 7):  # across local midnights, weekends and the 2026 Spring Festival
        enabled = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(hours=hours, minutes=30)
        for days in (1, 3, 5):
            assert cached(enabled.timestamp(), days) == due_at(enabled, f"P{days}D", "working", calendar).timestamp()


def test_parallel_model_is_checked_by_optimal_alignments():
    model = compile_text(PARALLEL)
    log = log_of(
        {
            "a": ["apply", "check_site", "check_funds", "approve"],
            "b": ["apply", "check_funds", "check_site", "approve", "approve"],
            "skip": ["apply", "check_funds", "approve"],
            "swap": ["apply", "approve", "check_funds", "check_site"],
            "repeat": ["apply", "apply", "check_funds", "check_site", "approve"],
            # 核查资金 is enabled by 申请, not by 现场核查 in the other branch: 4 days > P3D
            "overdue": ["apply", ("check_site", 2 * DAY), ("check_funds", 2 * DAY), "approve"],
        }
    )
    assert found(check_log(log, model)) == {
        "skip": [("skip", "check_site")],
        # one step done too early (an inserted and a skipped 审批: cost 2), not two precedence misses
        "swap": [("swap", "approve")],
        "repeat": [("repeat", "apply")],
        "overdue": [("overdue", "check_funds")],
    }
    [swap] = check_log(log, model).by_case()["swap"]
    assert (swap.step, swap.other, swap.event) == ("approve", "check_funds", 2)


def test_generated_cases_are_found_exactly(four):
    from bench.conformance import generate

    log, seeded = generate(four, 4000, 0.3, seed=7)
    findings = check_log(log, four)
    per_case = [Counter() for _ in range(log.case_count)]
    for case, code, _event, step, _extra in findings.raw:
        per_case[case]["skip swap repeat overdue".split()[code], four.steps[step]] += 1
    assert per_case == seeded
    assert sum(1 for c in seeded if c) > 1000


def test_statistics_for_heatmaps(four):
    log = log_of({"a": LOOP, "b": [*FULL[:4], "resolve", *FULL[4:]]})
    stats = check_log(log, four, collect_stats=True).stats
    assert stats["discuss"].count == 3 and stats["discuss"].reworked == 1 and stats["discuss"].cases == 2
    assert stats["resolve"].reworked == 1
    assert stats["propose"].durations == [86400.0, 86400.0]


# --- the auditors' page: an uploaded model instead of a deployed flow ----------------------------

DATA = __import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "conformance"


def test_auditors_upload_a_model_of_any_modeler_with_their_log(client_as):  # noqa: F811
    import io
    import time

    client = client_as("county.discipline")

    def post(model: bytes, **fields):
        data = {
            "flow": "four_deliberations",  # the list's choice; an uploaded model replaces it
            "log": (io.BytesIO((DATA / "descriptive_27.csv").read_bytes()), "log.csv"),
            "model": (io.BytesIO(model), "描述性流程.bpmn"),
            "mapping": (io.BytesIO((DATA / "descriptive_27_mapping.csv").read_bytes()), "map.csv"),
            "ended": "1",
            **fields,
        }
        return client.post("/audit/conformance/upload", data=data, content_type="multipart/form-data")

    model = (DATA / "descriptive_27.bpmn").read_bytes()
    answer = post(model)
    assert answer.status_code == 302, answer.data.decode()[:500]
    url = answer.headers["Location"]
    deadline = time.monotonic() + 20
    while client.get(f"{url}/status").get_json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    page = client.get(url).data.decode()
    assert "描述性流程.bpmn · 生成的描述性流程" in page and "repeat-31" in page and "ok-00" not in page
    download = client.get(f"{url}/export/findings")
    assert download.status_code == 200 and "repeat-31" in download.data.decode("utf-8-sig")

    broken = post(model.replace(b'targetRef="task_2"', b'targetRef="task_99"', 1))
    assert broken.status_code == 400
    text = broken.data.decode()
    assert "模型文件无法读取" in text and "task_99" in text and "flow_" in text
    assert post(b"<definitions").status_code == 400
    assert post(model, process="nope").status_code == 400


def test_checks_at_once_are_limited_and_each_keeps_to_its_time_budget(client_as, audited, monkeypatch):  # noqa: F811
    import io
    import time

    from tests.engine.audit.test_descriptive import _parallel
    from web.auditor import jobs

    client = client_as("county.discipline")
    log = "case,activity,timestamp,resource\nwide,步骤0,2026-03-02 14:00,甲\nwide,步骤1,2026-03-02 15:00,甲\n"

    def post():
        data = {
            "log": (io.BytesIO(log.encode()), "log.csv"),
            "model": (io.BytesIO(_parallel(16)), "wide.bpmn"),
            "ended": "1",
        }
        return client.post("/audit/conformance/upload", data=data, content_type="multipart/form-data")

    monkeypatch.setitem(audited.app.config, "AUDIT_MAX_JOBS", 1)
    monkeypatch.setitem(audited.app.config, "AUDIT_VARIANT_SECONDS", 0.1)
    monkeypatch.setattr(jobs, "_running", 1)  # another check is running in this process
    with audited.app.app_context():
        stored = set(jobs.folder().iterdir())
    busy = post()
    assert busy.status_code == 503 and "正在进行的日志检查已有 1 个" in busy.data.decode()
    with audited.app.test_request_context():
        assert set(jobs.folder().iterdir()) == stored  # the upload was not kept
        upload = __import__("werkzeug.datastructures").datastructures.FileStorage(io.BytesIO(b"x"), "log.csv")
        token = jobs.create("county.discipline", "f", upload, {"format": "csv", "columns": {}, "ended": True})
        with pytest.raises(jobs.JobsBusy):  # the page looked before another check began: start decides
            jobs.start(token, "county.discipline", None, None)
        assert set(jobs.folder().iterdir()) == stored
    monkeypatch.setattr(jobs, "_running", 0)
    answer = post()
    assert answer.status_code == 302, answer.data.decode()[:500]
    url = answer.headers["Location"]
    deadline = time.monotonic() + 20
    while client.get(f"{url}/status").get_json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with audited.app.test_request_context():
        state = jobs.load(url.rsplit("/", 1)[1], "county.discipline")
    assert "time budget of 0.1 s" in state["result"]["findings"]["unchecked"]["wide"]
    while jobs._running:  # the thread gives its place back as it ends
        assert time.monotonic() < deadline
        time.sleep(0.01)
