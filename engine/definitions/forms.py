"""The JSON Schema forms a flow's user tasks name in ``pl:form``: find, read and check them."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.definitions.conventions import FLOW_FUNCTIONS, pl
from engine.definitions.document import BpmnDocument, Element
from engine.errors import Problem
from engine.expressions import ExpressionError, compile_expression

MAX_FORM_BYTES = 1024 * 1024
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

FormLoader = Callable[[str], bytes | None]  # normalised relative path -> content, None if absent


class FormRefused(Exception):
    """A pl:form path that may not be followed (absolute, or leading out of the flow's folder)."""


def normalize_form_path(raw: str) -> str:
    path = raw.strip().replace("\\", "/")
    if not path:
        raise FormRefused("empty pl:form path")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or "://" in path:
        raise FormRefused(f"pl:form '{raw}' must be a path relative to the BPMN file")
    normalized = posixpath.normpath(path)
    if normalized == ".." or normalized.startswith("../"):
        raise FormRefused(f"pl:form '{raw}' leads outside the flow's folder")
    return normalized


def mapping_loader(forms: Mapping[str, bytes] | None) -> FormLoader:
    """Forms uploaded beside the BPMN file, keyed by their path relative to it."""
    by_path: dict[str, bytes] = {}
    for key, content in (forms or {}).items():
        try:
            by_path[normalize_form_path(key)] = content
        except (FormRefused, AttributeError):
            continue
    return by_path.get


def folder_loader(folder: Path) -> FormLoader:
    """Forms read from disk below ``folder``; symlinks leading out of it are refused."""
    base = folder.resolve()

    def load(path: str) -> bytes | None:
        target = (base / path).resolve()
        if not target.is_relative_to(base):
            raise FormRefused(f"pl:form '{path}' leads outside the flow's folder")
        if not target.is_file():
            return None
        with target.open("rb") as handle:
            return handle.read(MAX_FORM_BYTES + 1)

    return load


def load_forms(doc: BpmnDocument, loader: FormLoader) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """Schemas of every form the user tasks name (path -> schema), and the problems found."""
    schemas: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for task in [*doc.find("userTask"), *doc.find("startEvent")]:
        raw = task.get(pl("form"))
        if raw is None:
            continue
        try:
            path = normalize_form_path(raw)
        except FormRefused as exc:
            problems.append(doc.problem("form-path", str(exc), task))
            continue
        if path in seen:
            continue
        seen.add(path)
        try:
            content = loader(path)
        except FormRefused as exc:
            problems.append(doc.problem("form-path", str(exc), task))
            continue
        except OSError as exc:
            problems.append(doc.problem("form-missing", f"form '{path}' cannot be read: {exc.strerror}", task))
            continue
        if content is None:
            problems.append(doc.problem("form-missing", f"form '{path}' was not found beside the BPMN file", task))
            continue
        schema, found = read_form(content, path, task)
        problems.extend(found)
        if schema is not None and not found:
            schemas[path] = schema
    return schemas, problems


def read_form(content: bytes, path: str, task: Element) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The parsed schema (None if unreadable) and its problems, reported against ``task``."""

    def problem(code: str, message: str, line: int | None = None) -> Problem:
        return Problem(code, message, task.get("id"), task.get("name"), line, path)

    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, bytes | bytearray):
        return None, [problem("form-invalid", f"form content must be bytes, not {type(content).__name__}")]
    if len(content) > MAX_FORM_BYTES:
        return None, [problem("form-invalid", f"form larger than {MAX_FORM_BYTES} bytes")]
    try:
        schema = json.loads(bytes(content).decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return None, [problem("form-invalid", "form is not UTF-8 text")]
    except json.JSONDecodeError as exc:
        return None, [problem("form-invalid", f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno)]
    except (ValueError, RecursionError) as exc:
        return None, [problem("form-invalid", f"invalid JSON: {exc or 'nested too deeply'}")]
    if not isinstance(schema, dict):
        return None, [problem("form-invalid", "a form must be a JSON Schema object")]
    problems = [problem(code, message) for code, message in _schema_problems(schema)]
    return schema, problems


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _schema_problems(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    declared = schema.get("$schema")
    if declared is not None and str(declared).rstrip("#") != DRAFT_2020_12:
        yield "form-invalid", f"forms use JSON Schema draft 2020-12, not {declared}"
    if schema.get("type") != "object":
        yield "form-invalid", 'a form schema needs "type": "object" at its root'
    try:
        errors = sorted(
            Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema),
            key=lambda e: e.json_path,
        )
        for error in errors:
            yield "form-invalid", f"not a valid JSON Schema at {error.json_path}: {error.message}"
        for ref in _references(schema):
            yield "form-invalid", f"only references inside the form (#/…) are allowed, not '{ref}'"
    except RecursionError:
        yield "form-invalid", "schema nested too deeply"
        return
    yield from _extension_problems(schema)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _extension_problems(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    checks = schema.get("x-checks", [])
    if not isinstance(checks, list):
        yield "form-invalid", "x-checks must be a list"
        checks = []
    for index, check in enumerate(checks):
        where = f"x-checks[{index}]"
        if not isinstance(check, dict) or not isinstance(check.get("expr"), str):
            yield "form-invalid", f'{where} must be an object with an "expr" text'
            continue
        if not isinstance(check.get("message"), str):
            yield "form-invalid", f'{where} needs a "message" text'
        try:
            expression = compile_expression(check["expr"])
        except ExpressionError as exc:
            yield "bad-expression", f"{where}.expr: {exc}"
            continue
        unknown = sorted(expression.functions - FLOW_FUNCTIONS)
        if unknown:
            yield "bad-expression", f"{where}.expr calls unknown function {', '.join(unknown)}"
    attachments = schema.get("x-attachments", [])
    if not isinstance(attachments, list) or not all(
        isinstance(a, dict) and isinstance(a.get("name"), str) for a in attachments
    ):
        yield "form-invalid", 'x-attachments must be a list of objects with a "name"'
    order = schema.get("x-order", [])
    if not isinstance(order, list) or not all(isinstance(name, str) for name in order):
        yield "form-invalid", "x-order must be a list of field names"
    from engine.runtime.forms import declaration_problems

    yield from declaration_problems(schema)
