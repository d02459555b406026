"""Who writes each variable of a flow: a form field never shares its name with a script's variable,
and every step belongs to a role that acts in matters.

A step writes only the fields its form declares; if a form declared a variable a script task
sets (a count that escalates, a total the gateways route on), whoever fills the form could
overwrite it. Those files are refused at upload, naming the task and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.definitions.conventions import bpmn, pl
from engine.definitions.document import BpmnDocument
from engine.definitions.forms import FormRefused, normalize_form_path
from engine.errors import Problem
from engine.expressions import ExpressionError
from engine.expressions.script import compile_script


def script_variables(doc: BpmnDocument) -> dict[str, Any]:
    """Variable name -> the first script task that assigns it."""
    found: dict[str, Any] = {}
    for task in doc.find("scriptTask"):
        script = task.find(bpmn("script"))
        try:
            targets = compile_script(script.text or "").targets if script is not None else ()
        except ExpressionError:
            continue  # reported by the script check
        for name in targets:
            found.setdefault(name, task)
    return found


def check_form_fields(doc: BpmnDocument, schemas: dict[str, dict[str, Any]]) -> Iterator[Problem]:
    variables = script_variables(doc)
    if not variables:
        return
    for element in [*doc.find("userTask"), *doc.find("startEvent")]:
        raw = element.get(pl("form"))
        try:
            path = normalize_form_path(raw) if raw else None
        except FormRefused:
            continue
        schema = schemas.get(path or "") or {}
        for name in schema.get("properties") or {}:
            script = variables.get(name)
            if script is not None:
                yield doc.problem(
                    "form-overwrites-variable",
                    f"form field '{name}' is set by script task '{script.get('id')}'; a form may not overwrite it",
                    element,
                )


def check_step_roles(doc: BpmnDocument) -> Iterator[Problem]:
    from engine.policy.rules import access_rules

    acting = access_rules().roles("acting")
    for task in doc.find("userTask"):
        role = doc.role(task)
        if role and role not in acting and role in _known_roles():
            yield doc.problem(
                "role-cannot-act",
                f"role '{role}' reads or administers but does not act in matters; give the step to one of: "
                + ", ".join(sorted(acting)),
                task,
            )


def _known_roles() -> frozenset[str]:
    from engine.org.roles import ROLES

    return frozenset(ROLES)
