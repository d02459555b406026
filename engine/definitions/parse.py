"""Turn a checked BPMN document into a ParsedDefinition with SpiffWorkflow specs."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.definitions.conventions import DEFAULT_CALENDAR, bpmn, pl
from engine.definitions.descriptions import ParsedDefinition, StepInfo
from engine.definitions.document import BpmnDocument, Element, text_of
from engine.definitions.forms import normalize_form_path
from engine.errors import Problem


def build_definition(
    doc: BpmnDocument, forms: dict[str, dict[str, Any]]
) -> tuple[ParsedDefinition | None, list[Problem]]:
    """The definition of the document's top executable process, or the problems SpiffWorkflow found.

    Call only for a document that passed every check: the tree is fed to SpiffWorkflow's plain
    BpmnParser as is, without its own XSD validation.
    """
    tops = doc.top_processes()
    if len(tops) != 1:
        return None, [doc.problem("several-processes", "the file needs exactly one top executable process")]
    process = tops[0]
    key = process.get("id") or ""
    try:
        parser = BpmnParser()
        parser.add_bpmn_xml(doc.root, filename=doc.filename)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        return None, [_validation_problem(doc, exc)]
    except Exception as exc:
        message = f"SpiffWorkflow cannot build the flow: {type(exc).__name__}: {exc}"
        return None, [doc.problem("engine-parse", message, process)]
    definition = ParsedDefinition(
        key=key,
        name=(process.get("name") or "").strip() or key,
        category=_attribute(process, "category"),
        number=_attribute(process, "number"),
        responsible_body=_attribute(process, "responsibleBody"),
        legal_basis=_attribute(process, "legalBasis"),
        description=_documentation(process),
        steps=[_step(doc, task, forms) for task in doc.find("userTask")],
        forms=forms,
        spec=spec,
        subprocess_specs=subprocess_specs,
        has_di=doc.has_di(),
        start_form=_start_form(doc, process),
    )
    return definition, []


def _start_form(doc: BpmnDocument, process: Element) -> str | None:
    for event in doc.find("startEvent"):
        raw = _attribute(event, "form")
        if raw and event.getparent() is process:
            return normalize_form_path(raw)
    return None


def _step(doc: BpmnDocument, task: Element, forms: dict[str, dict[str, Any]]) -> StepInfo:
    raw_form = _attribute(task, "form")
    form = normalize_form_path(raw_form) if raw_form else None
    schema = forms.get(form, {}) if form else {}
    lane = doc.lane(task)
    return StepInfo(
        id=task.get("id") or "",
        name=(task.get("name") or "").strip() or task.get("id") or "",
        role=doc.role(task) or "",
        form=form,
        time_limit=_attribute(task, "timeLimit"),
        calendar=_attribute(task, "calendar") or DEFAULT_CALENDAR,
        # The form's x-legal-basis overrides the task's (docs/bpmn-conventions.md, "Forms").
        legal_basis=_text(schema.get("x-legal-basis")) or _attribute(task, "legalBasis"),
        documentation=_documentation(task),
        lane=(lane.get("name") or "").strip() or None if lane is not None else None,
        line=task.sourceline,
        operations=_operations(task),
    )


def _operations(task: Element) -> list[str] | None:
    raw = task.get(pl("operations"))
    return None if raw is None else sorted(set(raw.split()))


def _attribute(element: Element, name: str) -> str | None:
    value = element.get(pl(name))
    return value.strip() or None if value is not None else None


def _documentation(element: Element) -> str | None:
    return text_of(element.find(bpmn("documentation")))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _validation_problem(doc: BpmnDocument, exc: ValidationException) -> Problem:
    element = doc.element(getattr(exc, "id", None))
    line = element.sourceline if element is not None else None
    if line is None and isinstance(getattr(exc, "line_number", None), int):
        line = exc.line_number
    message = str(exc.args[0]) if exc.args else str(exc)
    if "RecursionError" in message:
        message = "the flow is too long or too deeply nested for the engine"
    return Problem(
        code="engine-parse",
        message=f"SpiffWorkflow cannot build the flow: {message}",
        element_id=getattr(exc, "id", None) or None,
        element_name=getattr(exc, "name", None) or None,
        line=line,
        file=doc.filename,
    )
