"""The safe expression language: what it evaluates, what it refuses, and SpiffWorkflow running on it."""

from __future__ import annotations

from collections import ChainMap
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.util.task import TaskState

from engine.errors import PowerlistError
from engine.expressions import (
    ExpressionError,
    SafeScriptEngine,
    add_duration,
    compile_expression,
    compile_script,
    is_iso8601_timer,
    parse_duration,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bpmn"
DATA = {
    "amount_fen": 150_000,
    "present": 8,
    "members": 11,
    "applicant": {"name": "张三", "village": "东村", "tags": ["低保", "党员"]},
    "items": [3, 1, 2],
    "note": None,
}
RULES = {"four_deliberations.min_amount_fen": 100_000, "quorum": 2 / 3}


def rule(key: str) -> object:
    return RULES[key]


def evaluate(text: str, names: dict | None = None) -> object:
    return compile_expression(text).evaluate(DATA if names is None else names, {"rule": rule})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount_fen >= 100000", True),
        ("1 < present < members", True),
        ("1 < present > members", False),
        ("0 <= present <= 8 < members", True),
        ("applicant.village == '东村'", True),
        ("applicant['tags'][1]", "党员"),
        ("applicant.tags[-1] in ('党员', '团员')", True),
        ("'低保' not in applicant.tags", False),
        ("note is None and applicant is not None", True),
        ("present * 3 >= members * 2", True),
        ("amount_fen // 100 % 7 - 1", 1500 % 7 - 1),
        ("amount_fen / 100", 1500.0),
        ("-present + +members", 3),
        ("not present", False),
        ("present or 1/0", 8),
        ("note and 1/0", None),
        ("'town' if amount_fen >= rule('four_deliberations.min_amount_fen') else 'village'", "town"),
        ("present / members >= rule('quorum')", True),
        ("len(items) == 3 and sum(items) == 6 and max(items) == 3 and min(items) == 1", True),
        ("abs(-2) + round(2.567, 2) + int('3') + float('0.5')", 2 + 2.57 + 3 + 0.5),
        ("str(present) + '人'", "8人"),
        ("bool(0) or any([0, 1]) and all([1, 2])", True),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("(1, 'a')", (1, "a")),
        ("{'a': present}['a']", 8),
        ("applicant.name[:1]", "张"),
        ("f'{applicant.name}的申请'", "张三的申请"),
        ("'ab' * 3", "ababab"),
        ("True and None is None", True),
    ],
)
def test_allowed_constructs_evaluate_like_python(text: str, expected: object) -> None:
    assert evaluate(text) == expected


def test_compiled_expression_names_its_variables_and_functions() -> None:
    expression = compile_expression("amount_fen >= rule('x') and applicant.village == v and len(items)")
    assert expression.names == {"amount_fen", "applicant", "v", "items"}
    assert expression.functions == {"rule", "len"}
    assert expression.text == "amount_fen >= rule('x') and applicant.village == v and len(items)"


def test_compile_is_cached_and_evaluation_reads_any_mapping() -> None:
    assert compile_expression("a + 1") is compile_expression("a + 1")
    assert compile_expression("a + b").evaluate(ChainMap({"a": 1}, {"a": 5, "b": 2})) == 3


def test_expression_spanning_lines_is_accepted() -> None:
    assert evaluate("\n  present > 1\n  and members > 1\n") is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing > 1", "name 'missing' is not defined"),
        ("nope(1)", "function 'nope' is not defined"),
        ("present / 0", "division by zero"),
        ("applicant.village < 1", "not supported"),
        ("applicant.age", "no key 'age'"),
        ("present.value", "reads a key of a mapping"),
        ("items[7]", "out of range"),
        ("items['a']", "index must be an integer"),
        ("rule('unknown.key')", "KeyError"),
        ("min()", "TypeError"),
    ],
)
def test_evaluation_errors_become_expression_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(text)
    assert message in str(caught.value)
    assert caught.value.expression == text
    assert isinstance(caught.value, PowerlistError)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "().__class__.__base__.__subclasses__()",
        "open('/etc/passwd')",
        "[x for x in ()]",
        "{x: 1 for x in ()}",
        "(x for x in ())",
        "lambda: 1",
        "getattr(a, 'b')",
        "a.__class__",
        "a._private",
        "_hidden",
        "'a' * 10 ** 9",
        "2 ** 8",
        "eval('1')",
        "exec('x')",
        "globals()",
        "locals()",
        "vars()",
        "compile('1', 'x', 'eval')",
        "type(a)",
        "(1).real",
        "'abc'.upper()",
        "applicant.keys()",
        "items.pop()",
        "(y := 1)",
        "len(*items)",
        "max(items, key=abs)",
        "f'{present!r}'",
        "f'{present:>99999999}'",
        "{1, 2}",
        "b'bytes'",
        "1j",
        "~present",
        "present << 1",
        "present is 1",
        "[*items]",
        "{**applicant}",
        "...",
        "a if b else c if d else (yield)",
        "not " * 200 + "1",
        "x" * 10_001,
        "",
        "amount >",
    ],
)
def test_hostile_or_unsupported_input_is_rejected_at_compile_time(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_rejection_names_what_and_where() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("present > 1 and open('/etc/passwd')")
    assert "function 'open' is not allowed" in str(caught.value)
    assert caught.value.offset == 17
    with pytest.raises(ExpressionError) as caught:
        compile_expression("[x for x in items]")
    assert "list comprehension is not allowed" in str(caught.value)
    assert caught.value.offset == 1


def test_values_from_task_data_are_never_called() -> None:
    called = []

    def spy(*args: object) -> None:
        called.append(args)

    expression = compile_expression("f('id')")
    with pytest.raises(ExpressionError, match="function 'f' is not defined"):
        expression.evaluate({"f": spy})
    with pytest.raises(ExpressionError, match="reads a key of a mapping"):
        compile_expression("x.system").evaluate({"x": __import__("os")})
    assert called == []


def test_caller_cannot_reenable_python_builtins() -> None:
    with pytest.raises(ExpressionError, match="'eval' is not allowed"):
        compile_expression("eval('1')")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("'a' * 1_000_000", {}),
        ("s * 100_000", {"s": "ab"}),
        ("s + s", {"s": "x" * 60_000}),
        ("n * n", {"n": 2**600}),
        ("'%999999999d' % 1", {}),
        ("round(7, -1000000)", {}),
        ("sum([[1], [2]], [])", {}),
    ],
)
def test_huge_results_are_refused_while_evaluating(text: str, names: dict) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text).evaluate(names)


def test_script_assigns_in_order_and_reads_earlier_assignments() -> None:
    script = compile_script(
        """
        tier = "town" if amount_fen >= rule("four_deliberations.min_amount_fen") else "village"
        label = f"{tier}级"; count = len(items)
        """
    )
    data = dict(DATA)
    script.run(data, {"rule": rule})
    assert (data["tier"], data["label"], data["count"]) == ("town", "town级", 3)
    assert script.targets == ("tier", "label", "count")
    assert script.names == {"amount_fen", "items"}


def test_script_runtime_error_names_the_line() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_script("a = 1\nb = missing + a").run({})
    assert caught.value.line == 2
    assert "line 2" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("import os", 1),
        ("a = 1\n__import__('os').system('id')", 2),
        ("a = 1\nb = 2\nx = open('/etc/passwd')", 3),
        ("a.b = 1", 1),
        ("a['k'] = 1", 1),
        ("a += 1", 1),
        ("a = b = 1", 1),
        ("_a = 1", 1),
        ("def f(): pass", 1),
        ("for i in items: pass", 1),
        ("a = (1", 1),
        ("while True: pass", 1),
    ],
)
def test_script_statements_other_than_assignments_are_rejected(text: str, line: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_script(text)
    assert caught.value.line == line


@pytest.mark.parametrize(
    "text",
    ["P3D", "PT48H", "P1Y2M10DT2H30M", "P2W", "PT0.5S", "2026-01-01T00:00:00+08:00", "R3/PT1H", "R/P1D"],
)
def test_bare_iso8601_timer_values_are_recognised(text: str) -> None:
    assert is_iso8601_timer(text)


@pytest.mark.parametrize(
    "text",
    ["P", "PT", "P3X", '"P3D"', "amount", "3 days", "P1W2D", "R3/PT1H/PT1H", "2026-13-01T00:00:00Z", ""],
)
def test_other_text_is_not_an_iso8601_timer(text: str) -> None:
    assert not is_iso8601_timer(text)


def test_durations() -> None:
    assert parse_duration("P1W") == timedelta(days=7)
    assert parse_duration("P2DT3H4M5S") == timedelta(days=2, hours=3, minutes=4, seconds=5)
    with pytest.raises(ExpressionError, match="no fixed length"):
        parse_duration("P1M")
    start = datetime(2026, 1, 31, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert add_duration(start, "P1M") == datetime(2026, 2, 28, 9, 0, tzinfo=start.tzinfo)
    assert add_duration(start, "P1Y2DT1H") == datetime(2027, 2, 2, 10, 0, tzinfo=start.tzinfo)


# SafeScriptEngine inside a real SpiffWorkflow run


def _workflow(bpmn: Path | bytes, process_id: str, threshold: int = 20_000) -> BpmnWorkflow:
    parser = BpmnParser()
    if isinstance(bpmn, Path):
        parser.add_bpmn_file(str(bpmn))
    else:
        parser.add_bpmn_str(bpmn)
    engine = SafeScriptEngine({"rule": lambda key: {"min_amount_fen": threshold}[key]})
    return BpmnWorkflow(parser.get_spec(process_id), script_engine=engine)


def _start(workflow: BpmnWorkflow, **data: object) -> None:
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()


def _ready(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)]


def _move_clock(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + delta

    monkeypatch.setattr(spiff_timer, "datetime", Later)


def test_gateway_script_and_bare_timer_run_on_the_safe_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _workflow(FIXTURES / "safe_engine.bpmn", "safe_engine")
    _start(workflow, amount_fen=30_000, items=[1, 2], applicant={"village": "东村"})

    assert _ready(workflow) == ["town_review"]
    task = workflow.get_tasks(state=TaskState.READY)[0]
    assert (task.data["tier"], task.data["label"], task.data["count"]) == ("town", "town级", 2)
    [event] = workflow.waiting_events()
    due = datetime.fromisoformat(event.value)
    assert timedelta(days=3) - timedelta(minutes=5) < due - datetime.now(UTC) <= timedelta(days=3)

    _move_clock(monkeypatch, timedelta(days=4))
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    ended = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert "end_overdue" in ended and "town_review" not in ended


def test_default_flow_and_quoted_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _workflow(FIXTURES / "safe_engine.bpmn", "safe_engine")
    _start(workflow, amount_fen=100, items=[], applicant={"village": "东村"})

    assert _ready(workflow) == ["village_review"]
    [event] = workflow.waiting_events()
    due = datetime.fromisoformat(event.value)
    assert timedelta(hours=47) < due - datetime.now(UTC) <= timedelta(hours=48)

    workflow.get_tasks(state=TaskState.READY)[0].run()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["tier"] == "village"


def test_condition_error_reports_the_gateway_task() -> None:
    workflow = _workflow(FIXTURES / "safe_engine.bpmn", "safe_engine")
    with pytest.raises(WorkflowTaskException) as caught:
        _start(workflow, amount_fen=30_000, items=[], applicant={})  # no applicant.village
    assert caught.value.task.task_spec.bpmn_id == "route"
    assert "no key 'village'" in str(caught.value)


def test_hostile_script_task_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="hostile" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evil" />
    <bpmn:scriptTask id="evil">
      <bpmn:script>__import__('os').system('touch {marker}')</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()
    workflow = _workflow(bpmn, "hostile")
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "only assignments" in str(caught.value)
    assert caught.value.line_number == 1
    assert not marker.exists()


# --- calendar months: month_span and months ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("month_span('2026-03-31', '2026-04-01')", 2),  # two days, two months started
        ("month_span('2026-04-01', '2026-04-30')", 1),
        ("month_span('2026-04-10', '2026-04-10')", 1),
        ("month_span('2026-04-10', '2026-04-09')", 0),  # the end before the start
        ("month_span('2026-04-10', '2026-03-31')", 0),
        ("month_span('2025-12-20', '2026-01-20')", 2),  # over the new year
        ("month_span('2025-04-15', '2026-06-28')", 15),
        ("month_span('2024-02-29', '2024-02-29')", 1),
        ("months(['2026-04-30', '2025-12-01', '2026-04-01', '2026-01-15'])", ["2025-12", "2026-01", "2026-04"]),
        ("months(('2026-04-30',))", ["2026-04"]),
        ("months([])", []),
        (
            "len(months(['2025-04-20', '2025-04-28', '2025-06-25'])) >= month_span('2025-04-15', '2025-06-28')",
            False,
        ),  # three inspections in three months, but May has none
        (
            "len(months(['2025-04-28', '2025-05-20', '2025-06-25'])) >= month_span('2025-04-15', '2025-06-28')",
            True,
        ),
    ],
)
def test_calendar_months_of_dates(text: str, expected: object) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "names", "message"),
    [
        ("month_span('x', '2026-01-01')", {}, "month_span() takes ISO dates (YYYY-MM-DD), not 'x'"),
        ("month_span('2026-02-30', '2026-03-01')", {}, "not '2026-02-30'"),  # no such day
        ("month_span('20260301', '2026-03-01')", {}, "not '20260301'"),  # compact form
        ("month_span('2026-03-01T08:00:00', '2026-03-01')", {}, "ISO dates"),  # a time
        ("month_span('２０２６-０３-０１', '2026-03-01')", {}, "ISO dates"),  # full-width digits
        ("month_span(None, '2026-03-01')", {}, "not NoneType"),
        ("month_span(20260301, '2026-03-01')", {}, "not int"),
        ("month_span(s, '2026-03-01')", {"s": "2" * 100_000}, "not '2222"),
        ("month_span('2026-03-01')", {}, "TypeError"),
        ("months('2026-03-01')", {}, "months() takes a list of ISO dates"),
        ("months(d)", {"d": {"a": "2026-03-01"}}, "months() takes a list of ISO dates"),
        ("months(['2026-03-01', 'later'])", {}, "months() takes ISO dates (YYYY-MM-DD), not 'later'"),
        ("months([['2026-03-01']])", {}, "not list"),
        ("months(d)", {"d": ["2026-03-01"] * 100_001}, "months() takes at most 100000 dates"),
    ],
)
def test_calendar_month_functions_refuse_what_is_not_a_date(text: str, names: dict, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text).evaluate(names)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 500, "a huge value is not written out in the error"


def test_the_months_of_many_dates_count_against_the_evaluation_budget() -> None:
    dates = [f"{1000 + i // 12:04d}-{i % 12 + 1:02d}-01" for i in range(50_000)]
    assert len(compile_expression("months(d)").evaluate({"d": dates})) == len(dates)
    with pytest.raises(ExpressionError, match="MB"):
        compile_expression("len(months(d)) + len(months(d))").evaluate({"d": dates})
