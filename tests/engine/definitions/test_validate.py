"""Validating uploads: a good flow becomes a ParsedDefinition; bad and hostile ones become problems."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.util.task import TaskState

from engine.definitions.descriptions import StepInfo, ValidationReport
from engine.definitions.safe_xml import MAX_BPMN_BYTES
from engine.definitions.validate import load_definition_file, validate_bpmn
from engine.expressions import SafeScriptEngine

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bpmn"
MINIMAL = FIXTURES / "minimal" / "small_purchase.bpmn"
CODE = re.compile(r"^[a-z]+(-[a-z0-9]+)*$")


def minimal_forms() -> dict[str, bytes]:
    folder = MINIMAL.parent
    return {str(p.relative_to(folder)): p.read_bytes() for p in (folder / "forms").glob("*.json")}


def codes(report: ValidationReport) -> set[str]:
    return {p.code for p in report.problems}


def flow(body: str, process_attributes: str = 'isExecutable="true"') -> bytes:
    """A one-process BPMN document around ``body``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:pl="urn:powerlist:bpmn:1" id="defs" targetNamespace="urn:test">
  <bpmn:process id="flow" name="测试" {process_attributes}>
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


def straight(middle: str) -> bytes:
    """start -> ``middle`` (an element with id "step") -> end."""
    return flow(
        f"""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step" />
    {middle}
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end" />
    <bpmn:endEvent id="end" />"""
    )


# the minimal valid flow


def test_minimal_flow_passes_and_describes_itself() -> None:
    report = load_definition_file(MINIMAL)

    assert report.problems == []
    assert report.ok
    definition = report.definition
    assert definition.key == "small_purchase"
    assert definition.name == "小额采购"
    assert definition.category == "small_funds"
    assert definition.number == "B02"
    assert definition.responsible_body == "村民委员会"
    assert definition.legal_basis == "《村民委员会组织法》第二十四条"
    assert definition.description.startswith("村里花小钱买东西")
    assert definition.has_di
    assert isinstance(definition.spec, BpmnProcessSpec)
    assert definition.spec.name == "small_purchase"
    assert definition.subprocess_specs == {}
    assert set(definition.forms) == {"forms/propose.json", "forms/review.json"}
    assert definition.forms["forms/propose.json"]["properties"]["amount_fen"]["x-money"] is True


def test_minimal_flow_steps_follow_document_order_with_inherited_roles() -> None:
    steps = load_definition_file(MINIMAL).definition.steps
    assert steps == [
        StepInfo(
            id="propose",
            name="提议",
            role="committee_chair",
            form="forms/propose.json",
            time_limit="P3D",
            calendar="working",
            legal_basis="《村民委员会组织法》第二十四条",
            documentation="写明买什么、花多少钱。",
            lane="村民委员会",
            line=32,
        ),
        StepInfo(
            id="town_review",
            name="镇审核",
            role="town_agency",
            form="forms/review.json",
            time_limit="PT48H",
            calendar="calendar",
            legal_basis="《农村集体经济组织财务制度》",  # x-legal-basis of the form wins
            documentation=None,
            lane="镇三资中心",
            line=45,
        ),
        StepInfo(
            id="supervise",
            name="监督",
            role="supervisory_member",  # on the task; its lane has no role
            lane="村务监督委员会",
            line=54,
        ),
    ]


def test_upload_with_forms_mapping_matches_the_file_on_disk() -> None:
    uploaded = validate_bpmn(MINIMAL.read_bytes(), "small_purchase.bpmn", forms=minimal_forms())
    on_disk = load_definition_file(MINIMAL)
    assert uploaded.ok
    assert uploaded.definition.steps == on_disk.definition.steps
    assert uploaded.definition.forms == on_disk.definition.forms


def test_upload_without_its_forms_reports_each_missing_form() -> None:
    report = validate_bpmn(MINIMAL.read_bytes(), "small_purchase.bpmn")
    assert not report.ok and report.definition is None
    missing = [(p.code, p.element_id) for p in report.problems]
    assert missing == [("form-missing", "propose"), ("form-missing", "town_review")]


def test_minimal_spec_serializes_and_runs_on_the_safe_engine() -> None:
    definition = load_definition_file(MINIMAL).definition
    registry = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)
    spec = registry.restore(json.loads(json.dumps(registry.convert(definition.spec))))

    engine = SafeScriptEngine({"rule": {"small_purchase.town_min_fen": 50_000}.__getitem__})
    workflow = BpmnWorkflow(spec, script_engine=engine)
    workflow.do_engine_steps()
    done = []
    while not workflow.is_completed():
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        if task.task_spec.bpmn_id == "propose":
            task.data.update(item="扫帚", amount_fen=80_000)
        done.append(task.task_spec.bpmn_id)
        task.run()
        workflow.do_engine_steps()
    assert done == ["propose", "town_review", "supervise"]


# many problems at once


def _line_of(path: Path, element_id: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if f'id="{element_id}"' in line:
            return number
    raise AssertionError(element_id)


def test_every_problem_of_a_bad_file_is_reported_with_id_and_line() -> None:
    path = FIXTURES / "many_problems.bpmn"
    report = load_definition_file(path)

    assert not report.ok and report.definition is None
    found = {(p.code, p.element_id) for p in report.problems}
    expected = {
        ("xsd", "orphan"),
        ("duplicate-id", "orphan"),
        ("no-end-event", "many_problems"),
        ("dangling-flow", "f_script"),
        ("unreachable", "orphan"),
        ("multiple-outgoing", "no_role_task"),
        ("gateway-condition", "f_cond_missing"),
        ("bad-expression", "f_cond_bad"),
        ("bad-expression", "f_cond_dunder"),
        ("bad-script", "script"),
        ("script-not-allowed", "listener_task"),
        ("bad-timer", "bad_timer"),
        ("no-role", "no_role_task"),
        ("unknown-role", "mayor_task"),
        ("bad-time-limit", "no_role_task"),
        ("bad-calendar", "no_role_task"),
        ("bad-category", "many_problems"),
        ("unknown-attribute", "mayor_task"),
        ("unsupported-element", "rules"),
        ("form-missing", "mayor_task"),
        ("form-path", "escape_task"),
    }
    assert expected <= found, expected - found
    for problem in report.problems:
        assert CODE.match(problem.code)
        assert problem.line is not None, problem
        assert problem.file == str(path)
        if problem.element_id and problem.code not in ("duplicate-id", "xsd", "unreachable"):
            assert problem.line >= _line_of(path, problem.element_id), problem
    dunder = next(p for p in report.problems if p.element_id == "f_cond_dunder")
    assert "__subclasses__" in dunder.message and "not allowed" in dunder.message


def test_descriptive_model_is_rejected_with_that_reason() -> None:
    report = validate_bpmn(straight('<bpmn:task id="step" />').replace(b'isExecutable="true"', b""))
    assert [p.code for p in report.problems] == ["not-executable"]
    assert "descriptive (non-executable) model" in report.problems[0].message
    assert report.problems[0].element_id == "flow"


# hostile uploads: problems, no exception, nothing executed


SCRIPT_TASK = '<bpmn:scriptTask id="step"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
HOSTILE_BODIES = {
    "script-import": SCRIPT_TASK.format(script="__import__('os').system('touch {marker}')"),
    "script-open": SCRIPT_TASK.format(script="x = open('{marker}', 'w')"),
    "script-exec": SCRIPT_TASK.format(script="x = exec(\"open('{marker}', 'w')\")"),
    "timer": '<bpmn:task id="step" /><bpmn:boundaryEvent id="t" attachedToRef="step">'
    "<bpmn:timerEventDefinition>"
    "<bpmn:timeDuration>__import__('os').system('touch {marker}')</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="end" />',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_scripts_are_problems_and_never_run(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    report = validate_bpmn(straight(HOSTILE_BODIES[name].format(marker=marker)))
    assert not report.ok
    assert codes(report) & {"bad-script", "bad-timer"}
    assert not marker.exists()


@pytest.mark.parametrize(
    "condition",
    [
        "().__class__.__base__.__subclasses__()[0]",
        "open('/etc/passwd').read()",
        "amount.__class__ is None",
        "[c for c in ().__class__.__mro__]",
    ],
)
def test_hostile_conditions_are_problems(condition: str) -> None:
    body = f"""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression><![CDATA[{condition}]]></bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end" />
    <bpmn:endEvent id="end" />"""
    report = validate_bpmn(flow(body))
    assert [(p.code, p.element_id) for p in report.problems] == [("bad-expression", "f_yes")]


XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&x;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""
XXE_PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t" />"""
XXE_NETWORK = """<?xml version="1.0"?>
<!DOCTYPE d SYSTEM "http://127.0.0.1:9/schema.dtd">
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t" />"""
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "ha">'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    + ']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" name="&l9;"'
    ' targetNamespace="t">&l9;</bpmn:definitions>'
)
QUADRATIC = (
    f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "{"a" * 50_000}">]>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
    + "&a;" * 20_000
    + "</bpmn:definitions>"
)


@pytest.mark.parametrize(
    "content",
    [
        XXE_FILE.encode(),
        XXE_FILE.encode("utf-16"),
        XXE_PARAMETER.encode(),
        XXE_NETWORK.encode(),
        BILLION_LAUGHS.encode(),
        BILLION_LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-32"?>').encode(
            "utf-32"
        ),
        QUADRATIC.encode(),
    ],
    ids=[
        "xxe-file",
        "xxe-file-utf16",
        "xxe-parameter",
        "xxe-network-dtd",
        "billion-laughs",
        "laughs-utf32",
        "quadratic",
    ],
)
def test_entity_attacks_are_refused_without_expansion(content: bytes) -> None:
    report = validate_bpmn(content)
    assert not report.ok
    assert codes(report) <= {"xml-doctype", "xml-syntax", "too-large"}
    assert "root:" not in " ".join(p.message for p in report.problems)  # nothing of /etc/passwd


def test_fifty_megabytes_are_refused_before_parsing(tmp_path: Path) -> None:
    content = b"<a>" + b"x" * 50_000_000 + b"</a>"
    report = validate_bpmn(content)
    assert [p.code for p in report.problems] == ["too-large"]
    assert str(MAX_BPMN_BYTES) in report.problems[0].message

    big = tmp_path / "big.bpmn"
    big.write_bytes(content)
    assert [p.code for p in load_definition_file(big).problems] == ["too-large"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff\xfe",
        b"not xml",
        b"<a/>",
        b"<bpmn:definitions",
        "text, not bytes",
        None,
        42,
        b"\xef\xbb\xbf",
    ],
)
def test_garbage_never_raises(content: object) -> None:
    report = validate_bpmn(content)  # type: ignore[arg-type]
    assert not report.ok
    assert report.problems and all(CODE.match(p.code) for p in report.problems)


def test_xml_syntax_error_carries_line() -> None:
    report = validate_bpmn(
        b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n'
        b"  <oops>\n</bpmn:definitions>"
    )
    [problem] = report.problems
    assert problem.code == "xml-syntax"
    assert problem.line == 4


# forms


def _with_form(name: str, content: bytes) -> ValidationReport:
    forms = minimal_forms()
    forms[name] = content
    return validate_bpmn(MINIMAL.read_bytes(), "small_purchase.bpmn", forms=forms)


def test_form_with_broken_json_names_its_line() -> None:
    report = _with_form("forms/propose.json", b'{\n  "type": "object",\n  "title": oops\n}')
    [problem] = report.problems
    assert (problem.code, problem.file, problem.line, problem.element_id) == (
        "form-invalid",
        "forms/propose.json",
        3,
        "propose",
    )


@pytest.mark.parametrize(
    ("schema", "code", "needle"),
    [
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "form-invalid", "$.properties.a.type"),
        ({"type": "array"}, "form-invalid", '"type": "object"'),
        (
            {"type": "object", "$ref": "https://example.com/x.json"},
            "form-invalid",
            "https://example.com/x.json",
        ),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, "form-invalid", "2020-12"),
        (
            {"type": "object", "x-checks": [{"expr": "__import__('os')", "message": "m"}]},
            "bad-expression",
            "x-checks[0]",
        ),
        ({"type": "object", "x-checks": [{"expr": "sorted(a)", "message": "m"}]}, "bad-expression", "sorted"),
        ({"type": "object", "x-checks": "a > 1"}, "form-invalid", "x-checks"),
        ({"type": "object", "x-attachments": [{"title": "no name"}]}, "form-invalid", "x-attachments"),
        ([1, 2], "form-invalid", "JSON Schema object"),
    ],
)
def test_invalid_form_schemas(schema: object, code: str, needle: str) -> None:
    report = _with_form("forms/review.json", json.dumps(schema).encode())
    assert [p.code for p in report.problems] == [code]
    assert needle in report.problems[0].message
    assert report.problems[0].file == "forms/review.json"


def test_form_path_may_not_leave_the_folder_through_a_symlink(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "object"}')
    folder = tmp_path / "flow"
    (folder / "forms").mkdir(parents=True)
    (folder / "forms" / "propose.json").symlink_to(secret)
    (folder / "forms" / "review.json").write_bytes((MINIMAL.parent / "forms" / "review.json").read_bytes())
    (folder / "small_purchase.bpmn").write_bytes(MINIMAL.read_bytes())

    report = load_definition_file(folder / "small_purchase.bpmn")
    assert [(p.code, p.element_id) for p in report.problems] == [("form-path", "propose")]


@pytest.mark.parametrize(
    "form", ["/etc/passwd", "../secret.json", "forms/../../x.json", "C:\\x.json", "http://e/x"]
)
def test_form_paths_must_stay_relative_and_inside(form: str) -> None:
    report = validate_bpmn(straight(f'<bpmn:userTask id="step" pl:role="cadre" pl:form="{form}" />'))
    assert [(p.code, p.element_id) for p in report.problems] == [("form-path", "step")]


# timers, gateways and structure


@pytest.mark.parametrize(
    ("definition", "ok"),
    [
        ("<bpmn:timeDuration>P3D</bpmn:timeDuration>", True),
        ('<bpmn:timeDuration>"P3D"</bpmn:timeDuration>', True),
        ("<bpmn:timeDuration>deadline</bpmn:timeDuration>", True),
        ("<bpmn:timeDate>2026-01-01T00:00:00+08:00</bpmn:timeDate>", True),
        ("<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>", True),
        ("<bpmn:timeDuration>P3Q</bpmn:timeDuration>", False),
        ('<bpmn:timeDuration>"3 days"</bpmn:timeDuration>', False),
        ("<bpmn:timeDuration>3</bpmn:timeDuration>", False),
        ("<bpmn:timeDate>2026-01-01T00:00:00</bpmn:timeDate>", False),
        ("<bpmn:timeDate>P3D</bpmn:timeDate>", False),
        ("<bpmn:timeCycle>P3D</bpmn:timeCycle>", False),
        ("", False),
    ],
)
def test_timer_values(definition: str, ok: bool) -> None:
    body = (
        '<bpmn:userTask id="step" pl:role="cadre" />'
        '<bpmn:boundaryEvent id="timer" attachedToRef="step" cancelActivity="false">'
        f"<bpmn:timerEventDefinition>{definition}</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:sequenceFlow id="f3" sourceRef="timer" targetRef="end" />'
    )
    report = validate_bpmn(straight(body))
    if ok:
        assert report.ok, report.problems
    else:
        assert [(p.code, p.element_id) for p in report.problems] == [("bad-timer", "timer")]


def test_gateway_with_default_needs_no_condition_on_it() -> None:
    body = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression>amount_fen &gt;= rule("x.min")</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end" />
    <bpmn:sequenceFlow id="f_other" sourceRef="gw" targetRef="end" />
    <bpmn:endEvent id="end" />"""
    report = validate_bpmn(flow(body))
    assert [(p.code, p.element_id) for p in report.problems] == [("gateway-condition", "f_other")]


def test_boundary_events_and_event_subprocesses_count_as_reachable() -> None:
    body = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step" />
    <bpmn:userTask id="step" pl:role="cadre" />
    <bpmn:boundaryEvent id="late" attachedToRef="step" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="remind" />
    <bpmn:userTask id="remind" pl:role="town_discipline" />
    <bpmn:sequenceFlow id="f_remind" sourceRef="remind" targetRef="end" />
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:subProcess id="events" triggeredByEvent="true">
      <bpmn:startEvent id="ev_start">
        <bpmn:timerEventDefinition><bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="ev_f" sourceRef="ev_start" targetRef="ev_end" />
      <bpmn:endEvent id="ev_end" />
    </bpmn:subProcess>
    <bpmn:userTask id="island" pl:role="cadre" />"""
    report = validate_bpmn(flow(body))
    assert [(p.code, p.element_id) for p in report.problems] == [("unreachable", "island")]


@pytest.mark.parametrize(
    ("limit", "ok"),
    [("P10D", True), ("PT48H", True), ("P2W", True), ("P1M", False), ("P1.5D", False), ("10", False)],
)
def test_time_limits_are_durations_the_runtime_can_count(limit: str, ok: bool) -> None:
    report = validate_bpmn(straight(f'<bpmn:userTask id="step" pl:role="cadre" pl:timeLimit="{limit}" />'))
    assert [(p.code, p.element_id) for p in report.problems] == ([] if ok else [("bad-time-limit", "step")])


def test_unsupported_elements_are_named() -> None:
    report = validate_bpmn(straight('<bpmn:complexGateway id="step" />'))
    assert [(p.code, p.element_id) for p in report.problems] == [("unsupported-element", "step")]
    assert "complex gateway" in report.problems[0].message


def test_several_top_processes_are_refused() -> None:
    content = straight('<bpmn:task id="step" />').replace(
        b"</bpmn:definitions>",
        b'<bpmn:process id="second" isExecutable="true"><bpmn:startEvent id="s2" />'
        b'<bpmn:sequenceFlow id="g" sourceRef="s2" targetRef="e2" /><bpmn:endEvent id="e2" /></bpmn:process>'
        b"</bpmn:definitions>",
    )
    assert [(p.code, p.element_id) for p in validate_bpmn(content).problems] == [
        ("several-processes", "second")
    ]


def test_called_process_is_a_subprocess_spec_not_a_second_flow() -> None:
    content = straight('<bpmn:callActivity id="step" calledElement="helper" />').replace(
        b"</bpmn:definitions>",
        b'<bpmn:process id="helper" isExecutable="true"><bpmn:startEvent id="s2" />'
        b'<bpmn:sequenceFlow id="g" sourceRef="s2" targetRef="e2" /><bpmn:endEvent id="e2" /></bpmn:process>'
        b"</bpmn:definitions>",
    )
    report = validate_bpmn(content)
    assert report.ok, report.problems
    assert report.definition.key == "flow"
    assert set(report.definition.subprocess_specs) == {"helper"}
