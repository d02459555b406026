"""Every shipped flow in processes/ validates and follows docs/bpmn-conventions.md to the letter."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.definitions.conventions import BPMNDI_NS, bpmn
from engine.definitions.descriptions import ParsedDefinition
from engine.definitions.document import FLOW_NODES, BpmnDocument, local_name, text_of
from engine.definitions.safe_xml import parse_xml
from engine.definitions.validate import load_definition_file
from engine.org.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
RULE_VALUES = yaml.safe_load((ROOT / "rules" / "defaults" / "flows.yaml").read_text(encoding="utf-8"))
FLOWS = sorted(PROCESSES.glob("*/*.bpmn"))
IDS = [path.stem for path in FLOWS]
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
SMALL_CONSTANTS = {0, 1, 2, 3}
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

pytestmark = pytest.mark.parametrize("path", FLOWS, ids=IDS)


@cache
def parsed(path: Path) -> ParsedDefinition:
    report = load_definition_file(path)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return report.definition


@cache
def document(path: Path) -> BpmnDocument:
    root, problems = parse_xml(path.read_bytes(), str(path))
    assert root is not None, problems
    return BpmnDocument(root, str(path))


def expressions(path: Path) -> Iterator[tuple[str, str]]:
    """(where, expression) for every condition, script line and form check of the flow."""
    doc = document(path)
    for flow in doc.find("sequenceFlow"):
        condition = text_of(flow.find(bpmn("conditionExpression")))
        if condition:
            yield f"condition of {flow.get('id')}", condition
    for task in doc.find("scriptTask"):
        for line in (text_of(task.find(bpmn("script"))) or "").splitlines():
            if line.strip():
                yield f"script of {task.get('id')}", line.split("=", 1)[1]
    for form_path, schema in parsed(path).forms.items():
        for check in schema.get("x-checks", []):
            yield f"check of {form_path}", check["expr"]


def rule_keys(expression: str) -> Iterator[Any]:
    for node in ast.walk(ast.parse(expression.strip(), mode="eval")):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "rule":
            yield node.args[0].value if len(node.args) == 1 and isinstance(node.args[0], ast.Constant) else None


def fields(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named field of a form, nested objects and arrays of objects included."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{prefix}{name}", prop
        yield from fields(prop, f"{prefix}{name}.")
        if isinstance(prop.get("items"), dict):
            yield from fields(prop["items"], f"{prefix}{name}[].")


def test_validates_with_its_forms(path: Path) -> None:
    definition = parsed(path)
    assert definition.key == path.stem == path.parent.name
    used = {step.form for step in definition.steps} | ({definition.start_form} if definition.start_form else set())
    on_disk = {str(p.relative_to(path.parent)) for p in (path.parent / "forms").glob("*.json")}
    assert used == on_disk, f"forms no step uses, or steps without a form file: {sorted(used ^ on_disk)}"


def test_process_metadata(path: Path) -> None:
    definition = parsed(path)
    assert definition.category and definition.number and definition.responsible_body
    assert definition.legal_basis and definition.description
    assert CHINESE.search(definition.name)


def test_every_user_task_is_documented(path: Path) -> None:
    for step in parsed(path).steps:
        missing = [name for name in ("form", "time_limit", "legal_basis", "documentation") if not getattr(step, name)]
        assert not missing, f"user task '{step.id}' lacks {missing}"
        assert CHINESE.search(step.name), step.id


def test_diagram_shows_every_node_and_flow(path: Path) -> None:
    doc = document(path)
    shapes = {
        s.get("bpmnElement"): s
        for s in doc.root.iter(f"{{{BPMNDI_NS}}}BPMNShape")
        if s.find(f"{{{DC_NS}}}Bounds") is not None
    }
    edges = {
        e.get("bpmnElement")
        for e in doc.root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")
        if len(e.findall(f"{{{DI_NS}}}waypoint")) >= 2
    }
    nodes = [e.get("id") for e in doc.scoped if local_name(e) in FLOW_NODES]
    lanes = [lane.get("id") for lane in doc.find("lane")]
    assert [n for n in nodes + lanes if n not in shapes] == []
    assert [f.get("id") for f in doc.find("sequenceFlow") if f.get("id") not in edges] == []


def test_one_lane_per_role(path: Path) -> None:
    doc = document(path)
    lanes: dict[str, list[str]] = {}
    for lane in doc.find("lane"):
        lanes.setdefault(lane.get("{urn:powerlist:bpmn:1}role"), []).append(lane.get("id"))
    roles = {step.role for step in parsed(path).steps}
    assert roles <= set(ROLES)
    assert set(lanes) == roles, f"lanes by role {lanes}, roles of the steps {sorted(roles)}"
    assert all(len(ids) == 1 for ids in lanes.values()), lanes
    for task in doc.find("userTask"):
        lane = doc.lane(task)
        assert lane is not None and lane.get("{urn:powerlist:bpmn:1}role") == doc.role(task), task.get("id")


def test_rule_keys_exist(path: Path) -> None:
    for where, expression in expressions(path):
        for key in rule_keys(expression):
            assert key in RULE_VALUES, f"{where}: rule({key!r}) has no value in rules/defaults/flows.yaml"


def test_gateway_conditions_take_thresholds_from_rules(path: Path) -> None:
    for where, expression in expressions(path):
        if where.startswith("check of"):
            continue
        literals = [
            node.value
            for node in ast.walk(ast.parse(expression.strip(), mode="eval"))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
            and node.value not in SMALL_CONSTANTS
        ]
        assert not literals, f'{where}: numeric literals {literals} in `{expression}`; use rule("…")'


def test_form_fields_are_snake_case_with_chinese_titles(path: Path) -> None:
    for form_path, schema in parsed(path).forms.items():
        assert CHINESE.search(schema.get("title", "")), f"{form_path} has no Chinese title"
        for name, prop in fields(schema):
            assert SNAKE_CASE.match(name.rsplit(".", 1)[-1].removesuffix("[]")), f"{form_path}: field {name}"
            assert CHINESE.search(prop.get("title", "")), f"{form_path}: field {name} has no Chinese title"
        for check in schema.get("x-checks", []):
            assert CHINESE.search(check["message"]), f"{form_path}: check `{check['expr']}` message"
            assert set(check.get("fields", [])) <= set(schema["properties"]), f"{form_path}: {check}"
        assert set(schema.get("x-order", [])) == set(schema["properties"]), f"{form_path}: x-order"


def test_forms_are_valid_json_schema_files(path: Path) -> None:
    for form in (path.parent / "forms").glob("*.json"):
        schema = json.loads(form.read_text(encoding="utf-8"))
        assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", form.name
        assert schema.get("type") == "object", form.name
