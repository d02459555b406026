"""Expressions that would build huge values are refused before the memory is spent."""

from __future__ import annotations

import resource
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definitions.validate import validate_bpmn
from engine.errors import FormInvalid
from engine.expressions import ExpressionError, SafeEnvironment, compile_expression, compile_script
from engine.expressions.limits import MAX_BUILT_BYTES, text_of
from engine.runtime.forms import validate_form
from tests.engine.definitions.test_validate import straight

MB = 1024 * 1024
CEILING = MAX_BUILT_BYTES + 2 * MB  # the budget plus the interpreter's own small change
GUARD = 512 * MB


class Peak:
    bytes = 0


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def measured() -> Iterator[Peak]:
    """The peak of memory allocated inside the ``with``.

    The process may grow by at most :data:`GUARD` meanwhile, so an unbounded evaluation ends in
    MemoryError (and a failed assertion) instead of taking the machine's memory.
    """
    peak = Peak()
    limits = resource.getrlimit(resource.RLIMIT_AS)
    size = _address_space()
    if size is not None:
        cap = size + GUARD if limits[1] == resource.RLIM_INFINITY else min(size + GUARD, limits[1])
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, limits)


def refused_within_budget(run: Callable[[], Any]) -> ExpressionError:
    with measured() as peak, pytest.raises(ExpressionError) as caught:
        run()
    assert peak.bytes < CEILING, f"{peak.bytes / MB:.1f} MB allocated before refusing"
    return caught.value


BIG_LIST = [0] * 100_000
# Unbounded, each of these would build tens to hundreds of MB: enough to see, not to exhaust a machine.
BOMBS = [
    "f\"{['x'*100000]*2000}\"",
    "str(['x'*100000]*2000)",
    "f'{[[0]*100000]*300}'",
    "len(str([[[0]*1000]*100]*100))",
    "f'{[BIG]*300}' != ''",
    "[" + "[0]*99999, " * 40 + "]",
    "[" + "'x'*99999, " * 60 + "]",
    "[" + "BIG[::1], " * 40 + "]",
    "[" + "BIG + [1], " * 40 + "]",
    "[[0]*100000]*100000",
    "'x'*10**9",
    "[1]*10**9",
    "'ab'*99999*99999",
    "[[x for x in BIG] for y in BIG]",
]


@pytest.mark.parametrize("text", BOMBS)
def test_memory_bombs_are_refused_before_allocating(text: str) -> None:
    error = refused_within_budget(lambda: compile_expression(text).evaluate({"BIG": BIG_LIST}))
    assert error.expression is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f\"{['x'*100000]*2000}\"", "longer than 100000 characters"),
        ("[" + "[0]*99999, " * 40 + "]", "more than 4 MB"),
        ("[[0]*100000]*100000", "larger than 1000000 items"),
        ("'ab'*99999*99999", "longer than 100000 items"),
    ],
)
def test_refusal_says_which_limit(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_expression(text).evaluate({})


def test_a_script_shares_one_budget_over_its_statements() -> None:
    lines = "\n".join(f"a{i} = [0] * 99999" for i in range(40))
    error = refused_within_budget(lambda: compile_script(lines).run({}))
    assert error.line is not None and error.line < 40


def test_a_script_cannot_store_a_value_that_doubles_line_by_line() -> None:
    lines = ["v0 = [0] * 1000"] + [f"v{i} = [v{i - 1}, v{i - 1}]" for i in range(1, 40)]
    data: dict[str, Any] = {}
    error = refused_within_budget(lambda: compile_script("\n".join(lines)).run(data))
    assert "when written out" in str(error)
    assert "v39" not in data


def test_gateway_evaluation_through_spiffworkflow_is_bounded() -> None:
    environment = SafeEnvironment()
    refused_within_budget(lambda: environment.evaluate("len(f\"{['x'*100000]*2000}\") > 0", {}))


def test_form_check_bomb_is_a_field_error() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "x-checks": [{"expr": "len(str([['x'*100000]*2000])) > n", "fields": ["n"], "message": "太大"}],
    }
    with measured() as peak, pytest.raises(FormInvalid) as caught:
        validate_form("step", schema, {"n": 1})
    assert peak.bytes < CEILING
    assert caught.value.errors[0].field == "n"


def timer(value: str) -> bytes:
    return straight(
        '<bpmn:userTask id="step" pl:role="cadre" />'
        '<bpmn:boundaryEvent id="late" attachedToRef="step" cancelActivity="false">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{value}</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="end" />'
    )


@pytest.mark.parametrize(
    "value",
    [
        "f\"{['x'*100000]*2000}\"",
        "f'{[[0]*100000]*300}'",
        "[" + "[0]*99999, " * 40 + "]",
        "P" + "9" * 5000 + "D",
    ],
)
def test_uploaded_timer_bomb_is_a_problem_on_its_element(value: str) -> None:
    with measured() as peak:
        report = validate_bpmn(timer(value.replace('"', "&quot;")))
    assert peak.bytes < CEILING + 8 * MB  # parsing and checking the whole file included
    assert [(p.code, p.element_id) for p in report.problems] == [("bad-timer", "late")]


def test_ordinary_values_still_work() -> None:
    names = {"amount": 1200, "tags": ["低保", "党员"], "who": {"name": "张三"}}
    shown = "1200元 ['低保', '党员'] {'name': '张三'}"
    assert compile_expression("f'{amount}元 {tags} {who}'").evaluate(names) == shown
    assert compile_expression("str((1,)) + str(None) + str(1.5)").evaluate({}) == "(1,)None1.5"
    assert compile_expression("len('x' * 100000)").evaluate({}) == 100_000
    assert compile_expression("tags[::-1]").evaluate(names) == ["党员", "低保"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_text_of_a_value_is_what_python_writes(value: Any) -> None:
    assert text_of(value) == str(value)


NUMBERS = st.sampled_from([0, 1, 2, 3, 7, 1000, 50_000, 99_999, 100_000, 200_000]).map(str)
SEQUENCE_ATOMS = st.sampled_from(['"x"', '"ab"', '"中文"', '""', "[0]", "[1, 2]", "()", "(0,)"])


def _grow(sequences: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    numbers = NUMBERS | sequences.map(lambda e: f"len({e})")
    pairs = st.tuples(sequences, sequences)
    return st.one_of(
        st.tuples(sequences, numbers).map(lambda p: f"({p[0]} * {p[1]})"),
        st.tuples(numbers, sequences).map(lambda p: f"({p[0]} * {p[1]})"),
        pairs.map(lambda p: f"({p[0]} + {p[1]})"),
        pairs.map(lambda p: f"[{p[0]}, {p[1]}]"),
        sequences.map(lambda e: f"str({e})"),
        sequences.map(lambda e: f"({e})[::1]"),
    )


SEQUENCES = st.recursive(SEQUENCE_ATOMS, _grow, max_leaves=10)
TEXTS = SEQUENCES | SEQUENCES.map(lambda e: f"f'{{{e}}} {{{e}}}'")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_random_repetitions_never_allocate_past_the_limit(text: str) -> None:
    expression = compile_expression(text)
    with measured() as peak:
        try:
            expression.evaluate({})
        except ExpressionError:
            pass
    assert peak.bytes < CEILING, f"{text}: {peak.bytes / MB:.1f} MB"
