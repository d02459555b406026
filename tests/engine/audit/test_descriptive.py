"""The lenient reader: every model of the real corpus reads and its runs conform; what a reader of
descriptive models must tolerate; what it cannot understand is named by element and line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.audit.alignment import align, random_run
from engine.audit.descriptive import read_model, read_model_file
from engine.audit.mapping import ActivityMapper
from engine.errors import DefinitionInvalid
from tests.conftest import ROOT

CORPUS = sorted((ROOT.parent / "shared" / "corpus").glob("**/*.bpmn"))
DATA = Path(__file__).resolve().parents[2] / "data" / "conformance"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:x="urn:vendor"'
    ' id="d" targetNamespace="t">\n'
)


def doc(body: str) -> bytes:
    return (HEAD + body + "\n</definitions>").encode()


@pytest.mark.skipif(not CORPUS, reason="the shared corpus is not beside the checkout")
def test_every_model_of_the_corpus_reads_and_its_runs_conform():
    rng = random.Random(7)
    for path in CORPUS:
        read = read_model_file(path)
        assert read.tasks > 0 and read.model.net.transitions, path.name
        runs = [r for r in (random_run(read.model.net, rng) for _ in range(15)) if r is not None]
        assert runs, path.name
        for run in runs:
            assert align(read.model.net, tuple(run)).cost == 0, (path.name, run)


def test_the_big_descriptive_model_is_the_generated_one_and_reads():
    from bench.conformance import generated_model

    text = (DATA / "descriptive_27.bpmn").read_text(encoding="utf-8")
    assert text == generated_model(3)  # the test file is what the benchmark generates
    assert 'isExecutable="false"' in text and "bpmndi" not in text and "signavio:" in text
    assert text.count("<exclusiveGateway ") >= 20 and text.count("<parallelGateway ") >= 6
    read = read_model_file(DATA / "descriptive_27.bpmn")
    assert read.tasks == 27 and len(read.model.steps) == 27 and read.notes == []


TOLERATED = doc(
    """
  <collaboration id="c">
    <participant id="pa" name="村委会" processRef="small"/>
    <participant id="pb" name="乡镇" processRef="main"/>
    <messageFlow id="m" sourceRef="pa" targetRef="pb"/>
  </collaboration>
  <process id="small" isExecutable="false"><task id="lonely" name="孤单"/></process>
  <process id="main" isExecutable="false">
    <extensionElements><x:anything/></extensionElements>
    <laneSet><lane id="l1" name="会计"/></laneSet>
    <task id="apply" name=" 申请 "><x:color>red</x:color></task>
    <sendTask id="notify" name="通知"><multiInstanceLoopCharacteristics isSequential="true"/></sendTask>
    <callActivity id="call" calledElement="checks"/>
    <task id="again" name="申请"/>
    <manualTask id="no_name"/>
    <subProcess id="events" triggeredByEvent="true">
      <startEvent id="es"/><task id="complain" name="投诉"/><sequenceFlow id="e1" sourceRef="es" targetRef="complain"/>
    </subProcess>
    <sequenceFlow id="f1" sourceRef="apply" targetRef="notify"/>
    <sequenceFlow id="f2" sourceRef="notify" targetRef="call"/>
    <sequenceFlow id="f3" sourceRef="call" targetRef="again"/>
    <sequenceFlow id="f4" sourceRef="again" targetRef="no_name"/>
    <textAnnotation id="a"><text>说明</text></textAnnotation>
  </process>
  <process id="checks" isExecutable="false">
    <startEvent id="cs"/><userTask id="check" name="核查"/><endEvent id="ce"/>
    <sequenceFlow id="c1" sourceRef="cs" targetRef="check"/><sequenceFlow id="c2" sourceRef="check" targetRef="ce"/>
  </process>"""
)


def test_what_descriptive_models_carry_is_tolerated():
    read = read_model(TOLERATED, "drawn.bpmn")
    model = read.model
    assert read.process_id == "main" and "村委会" in " ".join(read.processes)  # the one with most tasks
    assert any("checked main" in note for note in read.notes)
    assert model.names == ["申请", "通知", "核查", "no_name", "投诉"]  # same name, one activity; id when unnamed
    assert ActivityMapper(model)("again") == "apply" and ActivityMapper(model)("申请") == "apply"
    i = model.index
    trace = ["apply", "notify", "notify", "check", "apply", "no_name"]  # no start event: starts where no flow leads
    assert align(model.net, tuple(i[s] for s in trace)).cost == 0
    assert model.free == 1 << i["complain"]  # an event subprocess may happen at any time
    chosen = read_model(TOLERATED, "drawn.bpmn", process="村委会")
    assert chosen.process_id == "small" and chosen.model.names == ["孤单"]


def test_what_cannot_be_understood_is_named_by_element_and_line():
    broken = doc(
        """<process id="p">
  <startEvent id="s"/>
  <task id="a" name="甲"/>
  <complexGateway id="cx"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  <sequenceFlow id="f2" sourceRef="a" targetRef="ghost"/>
</process>"""
    )
    with pytest.raises(DefinitionInvalid) as raised:
        read_model(broken, "broken.bpmn")
    problems = {(p.code, p.element_id, p.line) for p in raised.value.problems}
    assert problems == {("complex-gateway", "cx", 6), ("flow-missing-end", "f2", 8)}
    assert "broken.bpmn:8 f2" in str(raised.value)
    for content, code in [
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d/>', "xml-doctype"),
        (b"<definitions", "xml-syntax"),
        (b'<x xmlns="urn:other"/>', "not-bpmn"),
        (doc('<process id="p"/>'), "no-process"),
    ]:
        with pytest.raises(DefinitionInvalid) as raised:
            read_model(content, "f.bpmn")
        assert [p.code for p in raised.value.problems] == [code]
    with pytest.raises(DefinitionInvalid, match="no process 'nope'"):
        read_model(TOLERATED, "drawn.bpmn", process="nope")


def _parallel(width: int, split: str = "parallelGateway") -> bytes:
    """A split into ``width`` one-task branches; ``split`` "task": the branches leave a task (uncontrolled)."""
    tasks = "".join(f'<task id="t{k}" name="步骤{k}"/>' for k in range(width))
    flows = "".join(
        f'<sequenceFlow id="o{k}" sourceRef="fork" targetRef="t{k}"/>'
        f'<sequenceFlow id="i{k}" sourceRef="t{k}" targetRef="join"/>'
        for k in range(width)
    )
    return doc(
        f'<process id="p">\n<startEvent id="s"/>\n<{split} id="fork"/>\n<parallelGateway id="join"/>\n'
        f'<endEvent id="e"/>{tasks}<sequenceFlow id="a" sourceRef="s" targetRef="fork"/>{flows}'
        '<sequenceFlow id="b" sourceRef="join" targetRef="e"/></process>'
    )


def test_a_model_wider_than_the_exact_search_can_take_is_refused_by_element_and_line():
    from engine.audit.descriptive import MAX_PARALLEL_WIDTH

    assert read_model(_parallel(MAX_PARALLEL_WIDTH)).tasks == MAX_PARALLEL_WIDTH
    for split in ("parallelGateway", "task"):
        with pytest.raises(DefinitionInvalid) as raised:
            read_model(_parallel(MAX_PARALLEL_WIDTH + 1, split), "wide.bpmn")
        [problem] = raised.value.problems
        assert (problem.code, problem.element_id, problem.line) == ("too-wide", "fork", 5)
        assert f"{MAX_PARALLEL_WIDTH + 1} branches" in problem.message
    starts = "".join(f'<task id="t{k}"/>' for k in range(MAX_PARALLEL_WIDTH + 1))  # no start event: all start
    with pytest.raises(DefinitionInvalid) as raised:
        read_model(doc(f'<process id="many">{starts}</process>'), "starts.bpmn")
    assert [(p.code, p.element_id) for p in raised.value.problems] == [("too-wide", "many")]
