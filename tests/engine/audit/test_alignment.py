"""Optimal alignments against hand-computed answers on small models of every gateway kind.

Each model is written in a tiny notation (``id kind [name]`` lines and ``a -> b -> c`` flows;
``sub/x`` puts ``x`` inside subprocess ``sub``), read by the lenient reader like any BPMN file.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from datetime import timedelta

import pytest

from engine.audit import conformance
from engine.audit.alignment import align, random_run
from engine.audit.conformance import check_log
from engine.audit.descriptive import read_model
from tests.engine.audit.conftest import FULL, found, log_of

KINDS = {
    "start": "startEvent",
    "end": "endEvent",
    "task": "task",
    "user": "userTask",
    "xor": "exclusiveGateway",
    "and": "parallelGateway",
    "or": "inclusiveGateway",
    "event": "intermediateCatchEvent",
    "based": "eventBasedGateway",
    "sub": "subProcess",
    "call": "callActivity",
}


def bpmn(notation: str) -> bytes:
    """A descriptive BPMN file (no DI, not executable) from the notation."""
    children: dict[str, list[str]] = {"": []}
    flows: dict[str, list[tuple[str, str]]] = {"": []}
    n = 0
    for line in notation.strip().splitlines():
        line = line.strip()
        if "->" in line:
            chain = [part.strip() for part in line.split("->")]
            for a, b in zip(chain, chain[1:], strict=False):
                scope = a.rpartition("/")[0]
                flows.setdefault(scope, []).append((a.rpartition("/")[2], b.rpartition("/")[2]))
            continue
        ident, kind, *name = line.split()
        scope, _, ident = ident.rpartition("/")
        loop = kind.endswith("*")
        kind = kind.rstrip("*")
        attrs = f' name="{name[0]}"' if name else ""
        inner = "<standardLoopCharacteristics/>" if loop else ""
        if kind.startswith("boundary@"):
            host, _, cancel = kind[len("boundary@") :].partition(",")
            tag = "boundaryEvent"
            attrs += f' attachedToRef="{host}"' + (' cancelActivity="false"' if cancel == "nonint" else "")
            inner = "<timerEventDefinition/>"
        elif kind == "terminate":
            tag, inner = "endEvent", "<terminateEventDefinition/>"
        else:
            tag = KINDS[kind]
        children.setdefault(scope, []).append(f'<{tag} id="{ident}"{attrs}>{inner}</{tag}>')
        children.setdefault(ident, [])

    def body(scope: str) -> str:
        nonlocal n
        parts = []
        for element in children.get(scope, []):
            ident = element.split('id="')[1].split('"')[0]
            if element.startswith("<subProcess"):
                tail = "</subProcess>"
                element = element[: -len(tail)] + body(ident) + tail
            parts.append(element)
        for a, b in flows.get(scope, []):
            n += 1
            parts.append(f'<sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>')
        return "".join(parts)

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">'
        f'<process id="p" isExecutable="false">{body("")}</process></definitions>'
    ).encode()


def model_of(notation: str):
    return read_model(bpmn(notation), "t.bpmn").model


def cost(model, steps: str, ended: bool = True) -> int:
    trace = tuple(model.index[s] for s in steps.split())
    return align(model.net, trace, ended).cost


def findings(model, cases: dict[str, str], ended: bool = True):
    return found(check_log(log_of({c: s.split() for c, s in cases.items()}, ended=ended), model))


DIAMOND = (
    "s start\na task\nx {kind}\nb task\nc task\nm {kind}\nd task\ne end\ns -> a -> x -> b -> m -> d -> e\nx -> c -> m"
)
SEQUENCE = model_of("s start\na task\nb task\nc task\ne end\ns -> a -> b -> c -> e")
XOR = model_of(DIAMOND.format(kind="xor"))
AND = model_of(DIAMOND.format(kind="and"))
OR = model_of(DIAMOND.format(kind="or"))
LOOP = model_of("s start\na task\nm xor\nb task\nx xor\nc task\ne end\ns -> a -> m -> b -> x -> c -> e\nx -> m")
SUBPROCESS = model_of(
    "s start\na task\nsub sub\nsub/i start\nsub/x task\nsub/y task\nsub/o end\nb task\ne end\n"
    "s -> a -> sub -> b -> e\nsub/i -> sub/x -> sub/y -> sub/o"
)
SILENT = model_of(
    "s start\na task\nw event\ng based\nt1 event\nt2 event\nb task\nc task\ne end\n"
    "s -> a -> w -> g -> t1 -> b -> e\ng -> t2 -> c -> e"
)
BOUNDARY = model_of(
    "s start\na task\nt task\nd task\ne end\nb boundary@t\nc task\ne2 end\ns -> a -> t -> d -> e\nb -> c -> e2"
)
NONINTERRUPTING = model_of(
    "s start\na task\nt task\nd task\ne end\nb boundary@t,nonint\nc task\ne2 end\ns -> a -> t -> d -> e\nb -> c -> e2"
)


@pytest.mark.parametrize(
    ("model", "runs", "misfits"),
    [
        (SEQUENCE, ["a b c"], {"a c": 1, "a b b c": 1, "a c b": 2, "b c": 1, "": 3, "a b c a": 1}),
        (XOR, ["a b d", "a c d"], {"a d": 1, "a b c d": 1, "a b c": 2, "b d": 1}),
        (AND, ["a b c d", "a c b d"], {"a b d": 1, "a d b c": 2, "a b c c d": 1}),
        (OR, ["a b d", "a c d", "a b c d", "a c b d"], {"a d": 1, "a b b d": 1}),
        (LOOP, ["a b c", "a b b b c"], {"a c": 1, "a b c b": 1, "b c": 1}),
        (SUBPROCESS, ["a x y b"], {"a y b": 1, "a x b": 1, "a y x b": 2}),
        (SILENT, ["a b", "a c"], {"a b c": 1, "a": 1}),
        (BOUNDARY, ["a t d", "a c"], {"a t c": 1, "a c d": 1}),
        (NONINTERRUPTING, ["a t d", "a c t d", "a t c d", "a c c t d"], {"a c d": 1}),
    ],
    ids=["sequence", "xor", "and", "or", "loop", "subprocess", "silent", "boundary", "noninterrupting"],
)
def test_optimal_costs_agree_with_hand_computed_ones(model, runs, misfits):
    for run in runs:
        assert cost(model, run) == 0, run
    for steps, expected in misfits.items():
        assert cost(model, steps) == expected, steps


def test_running_cases_are_prefixes():
    assert cost(SEQUENCE, "a b", ended=False) == 0
    assert cost(SEQUENCE, "a b", ended=True) == 1
    assert cost(AND, "a c", ended=False) == 0


def test_moves_become_named_findings():
    assert findings(
        SEQUENCE,
        {"ok": "a b c", "skip": "a c", "repeat": "a b b c", "swap": "a c b", "insert": "a b c a c"},
    ) == {
        "skip": [("skip", "b")],
        "repeat": [("repeat", "b")],
        "swap": [("swap", "c")],  # 办理“c”在“b”之前
        "insert": [("repeat", "a"), ("repeat", "c")],
    }
    assert findings(XOR, {"both": "a b c d", "none": "a d"}) == {
        "both": [("insert", "c")],
        "none": [("skip", "b")],  # the first branch in the model's order
    }
    result = check_log(log_of({"swap": "a c b".split()}), SEQUENCE)
    [swap] = result.by_case()["swap"]
    assert (swap.step, swap.other, swap.event) == ("c", "b", 2)
    [skip] = check_log(log_of({"s": ["a", ("c", timedelta(days=2), "wang")]}), SEQUENCE).deviations()
    assert (skip.kind, skip.step, skip.event, skip.resource) == ("skip", "b", 2, "wang")  # who went on without it


def test_ties_are_broken_the_same_way_whatever_the_order_of_cases():
    cases = {f"c{n}": steps for n, steps in enumerate(["a d", "a c b d", "a b c d", "a d b", "d a", "a a d d"])}
    first = findings(XOR, cases)
    again = findings(XOR, dict(reversed(list(cases.items()))))
    assert first == again
    fresh = model_of(DIAMOND.format(kind="xor"))
    assert findings(fresh, cases) == first
    assert first["c0"] == [("skip", "b")]


def test_random_runs_conform_and_seeded_noise_costs_what_it_should():
    rng = random.Random(3)
    for model in (XOR, AND, OR, LOOP, SUBPROCESS, SILENT, BOUNDARY):
        for _ in range(20):
            run = random_run(model.net, rng)
            assert run is not None and align(model.net, tuple(run)).cost == 0
            if run:
                dropped = tuple(run[1:])  # one step fewer: at most one move more
                assert align(model.net, dropped).cost <= 1


def test_a_case_that_hits_the_bound_is_reported_not_guessed(monkeypatch):
    monkeypatch.setattr(conformance, "align", functools.partial(align, max_states=3))
    result = check_log(log_of({"long": "a c b a".split(), "fine": ["a", "b", "c"]}), SEQUENCE)
    summary = result.summary()
    assert "long" in summary.unchecked and "bound" in summary.unchecked["long"]
    assert summary.deviating_cases == 0 and summary.timing.max_ms >= 0


def test_flows_of_our_own_agree_with_the_replay_on_whether_a_case_conforms(four):
    """四议两公开 read leniently and aligned, against the compiled state machine, case by case."""
    from bench.conformance import generate
    from tests.engine.audit.conftest import FLOW

    read = read_model(FLOW.read_bytes(), "four.bpmn").model
    assert read.steps == FULL
    log, _seeded = generate(four, 1500, 0.3, seed=11)
    replayed = check_log(log, four)
    aligned = check_log(log, read)
    assert aligned.summary().method == "alignment" and replayed.summary().method == "replay"
    ours = {r[0] for r in aligned.raw if r[1] != conformance._OVERDUE}
    theirs = {r[0] for r in replayed.raw if r[1] != conformance._OVERDUE}
    assert ours == theirs and len(ours) > 200
    counted = Counter(conformance.KINDS[r[1]] for r in aligned.raw)
    assert counted["skip"] and counted["swap"] and counted["repeat"]


def test_a_model_that_cannot_finish_is_said_so():
    stuck = model_of("s start\na task\nx xor\nb task\nc task\nj and\ne end\ns -> a -> x -> b -> j -> e\nx -> c -> j")
    result = check_log(log_of({"k": ["a", "b"]}), stuck)
    assert "cannot finish" in result.summary().unchecked["k"] and result.raw == []


def test_a_sanctioned_return_is_a_second_pass_not_a_repeat():
    from engine.audit.eventlog import RETURNED, Note

    log = log_of({"returned": "a b a b c".split(), "repeated": "a b a b c".split()})
    log.notes = {0: [Note(RETURNED, 2, log.times[1] + 60, "b", "a")]}  # 退回 from b to a before the 3rd event
    assert found(check_log(log, SEQUENCE)) == {"repeated": [("repeat", "a"), ("repeat", "b")]}
    stats = check_log(log, SEQUENCE, collect_stats=True).stats
    assert stats["a"].returned == 1 and stats["a"].count == 4 and stats["b"].reworked == 2


# --- bounded in time as well as in states ------------------------------------------------------


def wide_model(branches: int):
    """A parallel block of ``branches`` one-step branches (wider than the reader accepts)."""
    from engine.audit.alignment import AND, END, EVENT, TASK, FlowGraph, to_net
    from engine.audit.descriptive import descriptive_model

    graph = FlowGraph()
    start, split, join, end = graph.add(EVENT), graph.add(AND), graph.add(AND), graph.add(END)
    graph.starts = [start]
    graph.link(start, split)
    for k in range(branches):
        task = graph.add(TASK, k, f"t{k}")
        graph.link(split, task)
        graph.link(task, join)
    graph.link(join, end)
    steps = [f"t{k}" for k in range(branches)]
    return descriptive_model("wide", steps, steps, [(None, "calendar")] * branches, to_net(graph), set(), {})


WIDE = wide_model(50)


def test_a_wide_parallel_search_stops_at_its_time_budget_and_says_so():
    import time

    began = time.perf_counter()
    result = align(WIDE.net, tuple(range(10)), seconds=0.2)  # 40 branches skipped: 2^40 interleavings
    spent = time.perf_counter() - began
    assert result.bounded and result.timed_out and "time budget of 0.2 s" in result.reason
    assert spent < 1.5
    assert align(WIDE.net, tuple(range(50)), seconds=0.2).cost == 0  # a fitting case is found at once


def test_the_cost_of_a_state_does_not_grow_with_the_tokens():
    """50 tokens at once: a search of 10,000 states took about 5 s when a marking was a sorted tuple
    copied and counted whole for every move; read and written by place, it takes well under one."""
    import time

    began = time.perf_counter()
    result = align(WIDE.net, tuple(range(10)), max_states=10_000)
    assert result.bounded and "bound of 10000 states" in result.reason
    assert time.perf_counter() - began < 2.0


def test_a_case_past_the_time_budget_is_listed_not_guessed():
    from engine.audit.conformance import Budget

    steps = [f"t{k}" for k in range(50)]
    cases = {"fits": steps, "wide": steps[:10], "wide_again": steps[:10], "fits_too": steps[::-1]}
    result = check_log(log_of(cases), WIDE, budget=Budget(variant_seconds=0.2))
    unchecked = result.summary().unchecked
    assert set(unchecked) == {"wide", "wide_again"}  # the variant is searched once
    assert "time budget of 0.2 s" in unchecked["wide"] and result.raw == []
    spent = check_log(log_of(cases), WIDE, budget=Budget(variant_seconds=5, job_seconds=0.2)).summary()
    assert set(spent.unchecked) == {"wide", "wide_again", "fits_too"}  # the check's budget ran out at "wide"
    assert all("check's time budget of 0.2 s ran out" in reason for reason in spent.unchecked.values())
    with pytest.raises(ValueError, match="positive"):
        Budget(variant_seconds=0)
