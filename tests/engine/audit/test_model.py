"""The reference model compiled from BPMN specs: precedence, what may follow, loops, limits."""

from __future__ import annotations

from tests.conftest import MINI
from tests.engine.audit.conftest import compile_file, compile_text

PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:pl="urn:powerlist:bpmn:1"
                  id="d" targetNamespace="urn:test">
  <bpmn:process id="parallel_check" name="并行核查" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="apply"/>
    <bpmn:userTask id="apply" name="申请" pl:role="cadre" pl:timeLimit="P2D"/>
    <bpmn:sequenceFlow id="f2" sourceRef="apply" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="check_funds"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="sub"/>
    <bpmn:userTask id="check_funds" name="核查资金" pl:role="bookkeeper" pl:timeLimit="P3D"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="s2"/>
      <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="check_site"/>
      <bpmn:userTask id="check_site" name="现场核查" pl:role="supervisory_member"/>
      <bpmn:sequenceFlow id="g2" sourceRef="check_site" targetRef="e2"/>
      <bpmn:endEvent id="e2"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f5" sourceRef="check_funds" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="sub" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="approve"/>
    <bpmn:userTask id="approve" name="审批" pl:role="committee_chair">
      <bpmn:standardLoopCharacteristics loopMaximum="3"/>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f8" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def bits(model, value: int) -> set[str]:
    names = [*model.steps, "STOP", *model.ends]
    return {names[i] for i in range(len(names)) if value >> i & 1}


def test_four_deliberations_precedence_and_followers(four):
    assert four.sequential
    assert four.steps[:3] == ["propose", "discuss", "review"]
    i = four.index
    # 商议 may be merged into 提议 (一肩挑): only 提议 and 审议 come before every 决议
    assert bits(four, four.must[i["resolve"]]) == {"propose", "review"}
    assert bits(four, four.must[i["disclose_result"]]) == {
        "propose",
        "review",
        "resolve",
        "disclose_resolution",
        "supervise_resolution",
        "implement",
    }
    assert bits(four, four.df[four.start]) == {"propose"}
    assert bits(four, four.df[i["propose"]]) == {"discuss", "review", "STOP", "end_not_agreed"}
    assert bits(four, four.df[i["review"]]) == {"discuss", "resolve"}  # a failed review goes back
    assert bits(four, four.between[i["discuss"]][i["disclose_resolution"]]) == {"review", "resolve"}
    # the loop 商议 ⇄ 审议 makes their repeats legal, nothing else
    assert bits(four, four.loopmates[i["discuss"]]) == {"review"}
    assert four.loopmates[i["resolve"]] == 0
    assert four.limit_seconds[i["propose"]] == 7 * 86400
    assert four.time_limits[i["implement"]] == "P180D"


def test_working_day_limits_and_end_events():
    mini = compile_file(MINI)
    i = mini.index
    assert mini.working_days[i["resolve"]] == 5 and mini.limit_seconds[i["resolve"]] == 0
    assert mini.ends == ["end", "rejected"]
    assert bits(mini, mini.between[i["propose"]][mini.end_target("end")]) == {"resolve", "disclose"}
    assert mini.end_target("nowhere") == mini.stop


def test_parallel_branches_subprocess_and_loop_task():
    model = compile_text(PARALLEL)
    assert not model.sequential
    i = model.index
    assert set(model.steps) == {"apply", "check_funds", "check_site", "approve"}
    assert bits(model, model.must[i["approve"]]) == {"apply", "check_funds", "check_site"}
    assert bits(model, model.must[i["check_site"]]) == {"apply"}  # inside the inlined subprocess
    assert bits(model, model.loopmates[i["approve"]]) == {"approve"}  # standard loop: repeats are legal
    assert model.pred[i["approve"]] == sorted({i["check_funds"], i["check_site"], i["approve"]})
