"""Checking form data against a step's JSON Schema and its legal checks, before the engine sees it."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from engine.errors import FieldError, FormInvalid

ATTACHMENTS = "attachments"  # reserved field: files attached to the step, recorded by content hash

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_FIELDS = 200


def undeclared_fields(
    step: str, schema: dict[str, Any] | None, data: Any, allowed: frozenset[str] = frozenset()
) -> None:
    """Refuse keys the step's form does not declare, and the engine's own ``attachments``.

    A step writes only what its form asks for: any other key could overwrite a variable set by a
    script, a rule or an earlier step (an amount the gateways route on, a count that escalates).
    """
    if not isinstance(data, dict):
        raise FormInvalid(step, [FieldError("", "表单数据必须是一个 JSON 对象")])
    if len(data) > MAX_FIELDS:
        raise FormInvalid(step, [FieldError("", f"表单项目太多了（{len(data)} 项，最多 {MAX_FIELDS} 项）")])
    declared = set((schema or {}).get("properties") or {}) | allowed
    errors = []
    for key in data:
        if not isinstance(key, str) or not FIELD_NAME.match(key):
            errors.append(FieldError(str(key)[:64], "项目名只能由字母、数字和下划线组成，并以字母开头"))
        elif key == ATTACHMENTS:
            errors.append(FieldError(key, "附件只能通过上传提交，不能写在表单数据里"))
        elif key not in declared:
            errors.append(FieldError(key, f"本步骤的表单没有「{key}」这一项"))
    if errors:
        raise FormInvalid(step, errors)


def validate_form(
    step: str,
    schema: dict[str, Any] | None,
    data: Any,
    schema_text: str | None = None,
    collect_checks: bool = False,
    allowed: frozenset[str] = frozenset(),
    context: Mapping[str, Any] | None = None,
) -> Any:
    """Return a deep copy of ``data`` fit for the engine, or raise :class:`FormInvalid` naming every field.

    The one check of form data, for every step and start: only fields the form declares (and
    ``allowed``) are accepted, then requiredness (``required`` and ``x-required-when``), the schema
    and the legal checks (``x-checks``) in one pass, worded in Chinese by
    :mod:`engine.workspace.formspec`; an empty answer to a field not required now is left out.
    With ``collect_checks`` the failed ``x-checks`` alone do not raise; ``(data, failed checks)``
    is returned. ``context`` holds read-only names the checks may read besides the form's fields
    (``earlier``: the matter's data so far).
    """
    from engine.workspace import formspec

    undeclared_fields(step, schema, data, allowed)
    if schema is None:
        clean = cleaned(schema, data)
        return (clean, []) if collect_checks else clean
    own = {k: v for k, v in data.items() if k not in allowed}
    verdict = formspec.evaluate(schema, own, context)
    # Field errors and failed checks together, so the cadre fixes everything in one go; with
    # ``collect_checks`` the failed checks alone do not raise (a reason may waive them).
    if verdict.errors or (verdict.failed and not collect_checks):
        raise FormInvalid(step, verdict.all_errors())
    clean = cleaned(schema, {**verdict.data, **{k: v for k, v in data.items() if k in allowed}})
    return (clean, verdict.check_errors()) if collect_checks else clean


def cleaned(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of checked data, integers kept exact (JSON allows 3.0 for an integer)."""
    clean = copy.deepcopy(data)
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if prop.get("type") == "integer" and isinstance(clean.get(name), float):
            clean[name] = int(clean[name])
    return clean
