"""Checking form data against a step's JSON Schema and its legal checks, before the engine sees it."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import FieldError, FormInvalid

ATTACHMENTS = "attachments"  # reserved field: files attached to the step, recorded by content hash
ATTACHMENT_LIST_SCHEMA = {
    "type": "array",
    "maxItems": 100,
    "items": {
        "type": "object",
        "required": ["sha256", "filename", "size", "type"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": 64},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "filename": {"type": "string", "maxLength": 255},
            "size": {"type": "integer", "minimum": 0},
            "type": {"type": "string", "maxLength": 100},
        },
    },
}
_attachment_validator = Draft202012Validator(ATTACHMENT_LIST_SCHEMA)

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_FIELDS = 200

_format_checker = FormatChecker()


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Draft202012Validator:
    import json

    return Draft202012Validator(json.loads(schema_text), format_checker=_format_checker)


def _path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        parts += missing[:1]
    return ".".join(parts)


def _message(error, schema: dict[str, Any]) -> str:
    if error.validator == "required":
        name = re.findall(r"'([^']+)'", error.message)
        title = schema.get("properties", {}).get(name[0], {}).get("title") if name else None
        return f"必填 (required){f': {title}' if title else ''}"
    return error.message


def validate_form(
    step: str,
    schema: dict[str, Any] | None,
    data: Any,
    schema_text: str | None = None,
    collect_checks: bool = False,
) -> Any:
    """Return a deep copy of ``data`` fit for the engine, or raise :class:`FormInvalid` naming every field.

    With ``collect_checks`` the failed ``x-checks`` do not raise; ``(data, failed checks)`` is returned.
    """
    if not isinstance(data, dict):
        raise FormInvalid(step, [FieldError("", "form data must be a JSON object")])
    errors: list[FieldError] = []
    if len(data) > MAX_FIELDS:
        raise FormInvalid(step, [FieldError("", f"too many fields ({len(data)}; at most {MAX_FIELDS})")])
    for key in data:
        if not isinstance(key, str) or not FIELD_NAME.match(key):
            errors.append(FieldError(str(key), "field names are letters, digits and _ and start with a letter"))
    fields = data
    if ATTACHMENTS in data and ATTACHMENTS not in ((schema or {}).get("properties") or {}):
        # The reserved list is checked on its own, so forms may forbid other extra fields.
        fields = {k: v for k, v in data.items() if k != ATTACHMENTS}
        for error in _attachment_validator.iter_errors(data[ATTACHMENTS]):
            path = ".".join([ATTACHMENTS, *map(str, error.absolute_path)])
            errors.append(FieldError(path, error.message))
    if schema is not None:
        import json

        validator = _validator(schema_text or json.dumps(schema, sort_keys=True))
        for error in sorted(validator.iter_errors(fields), key=lambda e: list(map(str, e.absolute_path))):
            errors.append(FieldError(_path(error), _message(error, schema)))
        properties = schema.get("properties", {})
        if not errors:
            failed_checks = _run_checks(schema, data)
            if not collect_checks:
                errors.extend(failed_checks)
    else:
        properties = {}
        failed_checks = []
    if errors:
        raise FormInvalid(step, errors)
    clean = copy.deepcopy(data)
    for name, prop in properties.items():
        # JSON allows 3.0 for an integer; keep money and counts exact integers.
        if prop.get("type") == "integer" and isinstance(clean.get(name), float):
            clean[name] = int(clean[name])
    return (clean, failed_checks) if collect_checks else clean


def _run_checks(schema: dict[str, Any], data: dict[str, Any]) -> list[FieldError]:
    from engine.expressions import ExpressionError, compile_expression
    from engine.ruleset import rule

    functions = {"rule": rule}
    errors = []
    for check in schema.get("x-checks", []):
        fields = check.get("fields") or [""]
        try:
            ok = compile_expression(check["expr"]).evaluate(data, functions)
        except ExpressionError as exc:
            errors.append(FieldError(fields[0], f"{check.get('message', '')} ({exc})".strip()))
            continue
        if not ok:
            errors.append(FieldError(fields[0], check.get("message") or f"check failed: {check['expr']}"))
    return errors
