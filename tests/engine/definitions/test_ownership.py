"""Uploads where a form could overwrite a script's variable, or a step no one may act on, are refused."""

from __future__ import annotations

from engine import api
from tests.conftest import ROOT

RECTIFICATION = ROOT / "processes" / "rectification"


def _upload(bpmn: str, forms: dict[str, bytes]):
    return api.validate_upload(bpmn.encode(), "rectification.bpmn", forms)


def _shipped() -> tuple[str, dict[str, bytes]]:
    bpmn = (RECTIFICATION / "rectification.bpmn").read_text(encoding="utf-8")
    forms = {f"forms/{p.name}": p.read_bytes() for p in (RECTIFICATION / "forms").glob("*.json")}
    return bpmn, forms


def test_a_form_declaring_a_scripts_variable_is_refused_naming_both():
    import json

    bpmn, forms = _shipped()
    check = json.loads(forms["forms/check.json"])
    check["properties"]["failed_checks"] = {"type": "integer", "title": "不合格次数"}
    forms["forms/check.json"] = json.dumps(check, ensure_ascii=False).encode()
    report = _upload(bpmn, forms)
    found = [(p.code, p.element_id, p.line is not None) for p in report.problems]
    assert found == [("form-overwrites-variable", "check", True)]
    assert "failed_checks" in report.problems[0].message and "init_count" in report.problems[0].message


def test_a_step_given_to_the_auditor_is_refused():
    bpmn, forms = _shipped()
    given = bpmn.replace(
        'pl:role="supervisory_member" pl:form="forms/check.json"', 'pl:role="auditor" pl:form="forms/check.json"'
    )
    report = _upload(given, forms)
    assert [(p.code, p.element_id) for p in report.problems] == [("role-cannot-act", "check")]


def test_the_shipped_flow_passes():
    bpmn, forms = _shipped()
    assert _upload(bpmn, forms).ok
