"""A step's JSON Schema as a guided form: fields to show, typed values from what was typed, and
errors and legal checks worded in Chinese for the cadre.

The engine validates the same data again when the step is completed; this module only makes the
answers arrive right the first time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import FieldError

MAX_TEXT = 20000
MAX_LINES = 200


@dataclass
class Field:
    name: str
    title: str
    help: str | None
    kind: str  # text, textarea, date, integer, number, money, boolean, choice, choices, lines, json, reference
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    depends_on: tuple[str, Any] | None = None  # (field, value) that makes this field required and shown
    required_when: str | None = None  # x-required-when: the expression over the form that makes it required
    required_message: str | None = None  # what to say when it is required and left empty
    prefill: str | None = None  # x-prefill: what of the matter fills it in at first ("title")
    cites: tuple[str, ...] = ()  # for a reference: the kinds of decision in the register it may cite


@dataclass
class Check:
    expr: str
    message: str
    fields: list[str]
    id: str = ""  # the check's name in the waiver rules: its "id", else its first field


@dataclass
class FormSpec:
    title: str | None
    description: str | None
    legal_basis: str | None
    fields: list[Field]
    checks: list[Check]
    attachments: list[dict[str, Any]]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


# Deployed forms are long-lived objects of their restored definition: what is derived from one is
# kept beside it, checked by identity, so a step does not derive it again.
_derived: dict[tuple[str, int], tuple[Any, Any]] = {}


def _kept(kind: str, schema: dict[str, Any], make: Any) -> Any:
    key = (kind, id(schema))
    found = _derived.get(key)
    if found is not None and found[0] is schema:
        return found[1]
    value = make(schema)
    if len(_derived) > 4096:
        _derived.clear()
    _derived[key] = (schema, value)
    return value


def form_spec(schema: dict[str, Any] | None) -> FormSpec:
    if not schema:
        return _form_spec({})
    return _kept("spec", schema, _form_spec)


def _form_spec(schema: dict[str, Any]) -> FormSpec:
    properties = schema.get("properties") or {}
    order = [n for n in schema.get("x-order", []) if n in properties]
    order += [n for n in properties if n not in order]
    when = required_when(schema)
    required = set(schema.get("required") or []) - set(when)
    conditional = _conditional_required(schema)
    prefill = schema.get("x-prefill") if isinstance(schema.get("x-prefill"), dict) else {}
    fields = []
    for name in order:
        prop = properties.get(name) or {}
        if not isinstance(prop, dict):
            continue
        f = _field(name, prop, name in required, conditional.get(name))
        if name in when:
            f.required_when, f.required_message = when[name]
        if isinstance(prefill.get(name), str):
            f.prefill = prefill[name]
        fields.append(f)
    checks = []
    for c in schema.get("x-checks") or []:
        if isinstance(c, dict) and isinstance(c.get("expr"), str):
            names = [str(f) for f in c.get("fields") or []]
            ident = str(c.get("id") or (names[0] if names else f"check{len(checks) + 1}"))
            checks.append(Check(c["expr"], str(c.get("message") or ""), names, ident))
    attachments = [
        {
            "name": str(a["name"]),
            "title": str(a.get("title") or a["name"]),
            "required": bool(a.get("required")),
            "accept": [str(x) for x in a.get("accept") or []],
        }
        for a in schema.get("x-attachments") or []
        if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    return FormSpec(
        _text(schema.get("title")),
        _text(schema.get("description")),
        _text(schema.get("x-legal-basis")),
        fields,
        checks,
        attachments,
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def required_when(schema: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """``x-required-when``: field -> (expression, message). A field named there is required only
    when its expression over the form's fields holds (``"payment_method != 'cash'"``); the value is
    the expression's text or ``{"when": text, "message": text}``."""
    declared = schema.get("x-required-when")
    found: dict[str, tuple[str, str | None]] = {}
    if not isinstance(declared, dict):
        return found
    for name, value in declared.items():
        if isinstance(value, str):
            found[str(name)] = (value, None)
        elif isinstance(value, dict) and isinstance(value.get("when"), str):
            message = value.get("message")
            found[str(name)] = (value["when"], message if isinstance(message, str) and message.strip() else None)
    return found


PREFILL_SOURCES = ("title",)


def declaration_problems(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(code, message) for a bad ``x-required-when`` or ``x-prefill``, each naming its field; for
    validation at deploy time beside the other ``x-`` keys."""
    from engine.expressions import ExpressionError, compile_expression

    problems: list[tuple[str, str]] = []
    properties = schema.get("properties") or {}
    declared = schema.get("x-required-when")
    if declared is not None and not isinstance(declared, dict):
        problems.append(("form-invalid", "x-required-when must map field names to expressions"))
        declared = {}
    for name, value in (declared or {}).items():
        where = f"x-required-when.{name}"
        if name not in properties:
            problems.append(("form-invalid", f"{where}: the form has no field '{name}'"))
            continue
        text = value if isinstance(value, str) else value.get("when") if isinstance(value, dict) else None
        if not isinstance(text, str):
            shape = '{"when": text, "message": text}'
            problems.append(("form-invalid", f"{where} must be an expression text or {shape}"))
            continue
        try:
            expression = compile_expression(text)
        except ExpressionError as exc:
            problems.append(("bad-expression", f"{where}: {exc}"))
            continue
        unknown_names = sorted(expression.names - set(properties) - CONDITION_CONTEXT)
        if unknown_names:
            problems.append(("bad-expression", f"{where} reads {', '.join(unknown_names)}, not fields of the form"))
        unknown = sorted(expression.functions - {"rule"} - set(_builtin_functions()))
        if unknown:
            problems.append(("bad-expression", f"{where} calls unknown function {', '.join(unknown)}"))
    prefill = schema.get("x-prefill")
    if prefill is not None:
        if not isinstance(prefill, dict):
            problems.append(("form-invalid", "x-prefill must map field names to what fills them"))
            prefill = {}
        for name, source in prefill.items():
            if name not in properties:
                problems.append(("form-invalid", f"x-prefill.{name}: the form has no field '{name}'"))
            elif source not in PREFILL_SOURCES:
                known = ", ".join(PREFILL_SOURCES)
                problems.append(("form-invalid", f"x-prefill.{name}: '{source}' is not one of {known}"))
    return problems


CONDITION_CONTEXT = frozenset({"earlier"})  # besides the form's fields: the matter's data from earlier steps


def _builtin_functions() -> Any:
    from engine.expressions import BUILTIN_FUNCTIONS

    return BUILTIN_FUNCTIONS


def prefill_values(spec: FormSpec, matter: Mapping[str, Any]) -> dict[str, Any]:
    """What the matter fills in at first (``x-prefill``): e.g. the title typed at start."""
    return {f.name: matter[f.prefill] for f in spec.fields if f.prefill and matter.get(f.prefill)}


def _conditional_required(schema: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """``if: {properties: {x: {const: v}}}, then: {required: [...]}`` -> the fields shown only when x == v."""
    condition, then = schema.get("if"), schema.get("then")
    if not isinstance(condition, dict) or not isinstance(then, dict):
        return {}
    props = condition.get("properties") or {}
    if len(props) != 1:
        return {}
    ((name, rule),) = props.items()
    if not isinstance(rule, dict) or "const" not in rule:
        return {}
    return {f: (name, rule["const"]) for f in then.get("required") or [] if isinstance(f, str)}


def _field(name: str, prop: dict[str, Any], required: bool, depends_on: tuple[str, Any] | None) -> Field:
    kind_type = prop.get("type")
    options = _options(prop)
    if kind_type == "boolean":
        kind = "boolean"
    elif kind_type == "integer" and prop.get("x-money"):
        kind = "money"
    elif kind_type == "integer":
        kind = "integer"
    elif kind_type == "number":
        kind = "number"
    elif kind_type == "array":
        items = prop.get("items") or {}
        item_options = _options(items) if isinstance(items, dict) else []
        if item_options:
            kind, options = "choices", item_options
        elif isinstance(items, dict) and items.get("type", "string") == "string":
            kind = "lines"
        else:
            kind = "json"
    elif kind_type == "object":
        kind = "json"
    elif options:
        kind = "choice"
    elif isinstance(prop.get("x-reference"), dict):
        kind = "reference"
    elif prop.get("format") == "date":
        kind = "date"
    elif (prop.get("maxLength") or 0) > 200 or (prop.get("minLength") or 0) >= 10:
        kind = "textarea"
    else:
        kind = "text"
    return Field(
        name=name,
        title=_text(prop.get("title")) or name,
        help=_text(prop.get("description")),
        kind=kind,
        required=required,
        options=options,
        minimum=prop.get("minimum") if isinstance(prop.get("minimum"), int | float) else None,
        maximum=prop.get("maximum") if isinstance(prop.get("maximum"), int | float) else None,
        min_length=prop.get("minLength") if isinstance(prop.get("minLength"), int) else None,
        max_length=prop.get("maxLength") if isinstance(prop.get("maxLength"), int) else None,
        depends_on=depends_on,
        cites=tuple(str(k) for k in (prop.get("x-reference") or {}).get("kinds") or ())
        if isinstance(prop.get("x-reference"), dict)
        else (),
    )


def _options(prop: dict[str, Any]) -> list[tuple[str, str]]:
    titles = {}
    for choice in prop.get("oneOf") or prop.get("anyOf") or []:
        if isinstance(choice, dict) and "const" in choice:
            titles[str(choice["const"])] = str(choice.get("title") or choice["const"])
    values = prop.get("enum")
    if isinstance(values, list):
        return [(str(v), titles.get(str(v), str(v))) for v in values]
    return list(titles.items())


# --- typed values from form text -------------------------------------------------------------

MONEY_RE = re.compile(r"^-?\d+(\.\d{1,2})?$")


def yuan_to_fen(text: str) -> int:
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    if not MONEY_RE.match(cleaned):
        raise ValueError("金额请填写数字，最多两位小数（单位：元）")
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation as exc:
        raise ValueError("金额请填写数字（单位：元）") from exc


def fen_to_yuan(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    sign = "-" if value < 0 else ""
    yuan, fen = divmod(abs(value), 100)
    return f"{sign}{yuan:,}.{fen:02d}"


def parse_form(spec: FormSpec, form: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[FieldError]]:
    """Values of the fields from submitted text (``form`` maps names to their submitted strings).

    Empty answers are left out, so "required" is reported by the schema with the field's title.
    """
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in spec.fields:
        values = [v for v in form.get(f.name, []) if isinstance(v, str)]
        text = values[0].strip() if values else ""
        if len(text) > MAX_TEXT:
            errors.append(FieldError(f.name, f"「{f.title}」太长了"))
            continue
        try:
            if f.kind == "choices":
                chosen = [v for v in values if v]
                if chosen:
                    data[f.name] = chosen
            elif f.kind == "lines":
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                if len(lines) > MAX_LINES:
                    raise ValueError(f"最多 {MAX_LINES} 行")
                if lines:
                    data[f.name] = lines
            elif not text and f.kind == "reference":
                data[f.name] = ""  # "cite nothing" is a choice of its own; the form's checks judge it
            elif not text:
                continue
            elif f.kind == "integer":
                if not re.fullmatch(r"-?\d{1,15}", text):
                    raise ValueError("请填写整数")
                data[f.name] = int(text)
            elif f.kind == "number":
                number = float(Decimal(text.replace(",", "")))
                if number != number or abs(number) > 1e15:
                    raise ValueError("请填写数字")
                data[f.name] = number
            elif f.kind == "money":
                data[f.name] = yuan_to_fen(text)
            elif f.kind == "boolean":
                if text not in ("true", "false"):
                    raise ValueError("请选择“是”或“否”")
                data[f.name] = text == "true"
            elif f.kind == "json":
                data[f.name] = json.loads(text)
            else:
                data[f.name] = text
        except (ValueError, InvalidOperation, json.JSONDecodeError) as exc:
            message = str(exc) if isinstance(exc, ValueError) and _is_chinese(str(exc)) else "格式不对"
            errors.append(FieldError(f.name, f"「{f.title}」{message}"))
    # Fields shown only under a condition count only when it holds.
    for f in spec.fields:
        if f.depends_on and f.name in data:
            name, value = f.depends_on
            if data.get(name) != value:
                del data[f.name]
    return data, errors


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def form_values(spec: FormSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored data back into what the form inputs show (yuan for money, one name per line…)."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if f.kind == "money":
            values[f.name] = fen_to_yuan(value).replace(",", "")
        elif f.kind == "boolean":
            values[f.name] = "true" if value is True else "false" if value is False else ""
        elif f.kind == "lines" and isinstance(value, list):
            values[f.name] = "\n".join(str(v) for v in value)
        elif f.kind == "choices" and isinstance(value, list):
            values[f.name] = [str(v) for v in value]
        elif f.kind == "json":
            values[f.name] = json.dumps(value, ensure_ascii=False)
        else:
            values[f.name] = str(value)
    return values


# --- errors and checks in Chinese -------------------------------------------------------------

_format_checker = FormatChecker()


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_text), format_checker=_format_checker)


def validate(schema: dict[str, Any] | None, data: dict[str, Any]) -> list[FieldError]:
    """Schema errors, one per field, each naming the field by its Chinese title."""
    if not schema:
        return []
    spec = form_spec(schema)
    by_name = {f.name: f for f in spec.fields}
    validator = _kept("validator", schema, lambda s: _validator(json.dumps(_without_conditions(s), sort_keys=True)))
    errors: dict[str, FieldError] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), str(e.absolute_path))):
        name, message = _explain(error, by_name, schema)
        if message is None:
            continue
        errors.setdefault(name, FieldError(name, message))
    return list(errors.values())


def _without_conditions(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the fields of ``x-required-when`` out of ``required``: their condition decides."""
    when = required_when(schema)
    if not when or not isinstance(schema.get("required"), list):
        return schema
    return {**schema, "required": [n for n in schema["required"] if n not in when]}


def _explain(error, by_name: dict[str, Field], schema: dict[str, Any]) -> tuple[str, str | None]:
    path = [str(p) for p in error.absolute_path]
    kind = error.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = ".".join(path + missing[:1])
        f = by_name.get(missing[0]) if missing else None
        return name, f"请填写「{f.title if f else name}」"
    name = path[0] if path else ""
    f = by_name.get(name)
    title = f.title if f else name or "表单"
    value = error.validator_value
    if kind in ("if", "then", "else", "allOf", "anyOf") and not path:
        return name, None  # the specific errors inside are reported instead
    if kind == "oneOf" and f is not None and f.options:
        return name, f"「{title}」请从选项中选择"
    if kind == "minLength":
        return name, f"「{title}」至少要写 {value} 个字" if value > 1 else f"请填写「{title}」"
    if kind == "maxLength":
        return name, f"「{title}」最多 {value} 个字"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        shown = f"{fen_to_yuan(value)} 元" if f is not None and f.kind == "money" else str(value)
        words = {
            "minimum": "不能小于",
            "exclusiveMinimum": "必须大于",
            "maximum": "不能大于",
            "exclusiveMaximum": "必须小于",
        }[kind]
        return name, f"「{title}」{words} {shown}"
    if kind == "format":
        return name, f"「{title}」请填写正确的日期（年-月-日）" if value == "date" else f"「{title}」格式不对"
    if kind in ("enum", "const"):
        return name, f"「{title}」请从选项中选择"
    if kind == "minItems":
        return name, f"「{title}」至少填写 {value} 项"
    if kind == "maxItems":
        return name, f"「{title}」最多填写 {value} 项"
    if kind == "type":
        return name, f"「{title}」格式不对"
    if kind == "pattern":
        return name, f"「{title}」格式不对"
    if kind == "additionalProperties":
        return name, f"表单中有不认识的项目：{error.message}"
    return name, f"「{title}」：{error.message}"


@dataclass
class CheckResult:
    message: str
    fields: list[str]
    ok: bool | None  # None: not enough answers yet to tell
    id: str = ""


def run_checks(
    schema: dict[str, Any] | None, data: dict[str, Any], context: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    """Evaluate the form's legal checks (``x-checks``) with the engine's safe expressions.

    ``context`` adds read-only names beside the form's fields (a field of the same name wins): the
    engine gives ``earlier``, the matter's data from its earlier steps (``earlier.meeting_date <=
    meeting_date``), and ``attached``, the attachment slots given files. Without them (a form
    shown before submission) the checks that read them cannot tell yet.
    """
    from engine.expressions import ExpressionError, compile_expression
    from engine.ruleset import rule

    names: dict[str, Any] = data if not context else {**context, **data}
    results = []
    for check in form_spec(schema).checks:
        try:
            ok: bool | None = bool(compile_expression(check.expr).evaluate(names, {"rule": rule}))
        except ExpressionError:
            ok = None
        except Exception:
            ok = None
        results.append(CheckResult(check.message or check.expr, check.fields, ok, check.id))
    return results


def failed_checks(
    schema: dict[str, Any] | None, data: dict[str, Any], context: Mapping[str, Any] | None = None
) -> list[FieldError]:
    return Verdict(data, [], run_checks(schema, data, context)).check_errors()


def _empty(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or value == []


def required_now(
    schema: dict[str, Any] | None, data: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> dict[str, bool | None]:
    """For each field with an ``x-required-when``: whether its condition holds for ``data`` (None:
    cannot tell yet, e.g. a field it reads has a wrong value). Fields left empty read as null."""
    from engine.expressions import compile_expression
    from engine.ruleset import rule

    spec = form_spec(schema)
    names: dict[str, Any] = {**(context or {}), **{f.name: None for f in spec.fields}}
    names.update({k: v for k, v in data.items() if not _empty(v)})
    found: dict[str, bool | None] = {}
    for f in spec.fields:
        if f.required_when is None:
            continue
        try:
            found[f.name] = bool(compile_expression(f.required_when).evaluate(names, {"rule": rule}))
        except Exception:
            found[f.name] = None
    return found


@dataclass
class Verdict:
    """Everything wrong with a form at once: field errors (required, type, range) and legal checks."""

    data: dict[str, Any]  # what is stored: empty answers to fields not required left out
    errors: list[FieldError]  # field errors, one per field
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that stop a submission: those that fail, and those that cannot tell once the
        fields are right (a check reads what a field error leaves missing: that error says it)."""
        return [c for c in self.checks if c.ok is False or (c.ok is None and not self.errors)]

    def check_errors(self) -> list[FieldError]:
        return [FieldError(c.fields[0] if c.fields else "", c.message) for c in self.failed]

    def all_errors(self) -> list[FieldError]:
        return self.errors + self.check_errors()

    def summary(self) -> dict[str, Any]:
        passed = sum(1 for c in self.checks if c.ok is True)
        failed = sum(1 for c in self.checks if c.ok is False)
        state = "ok" if passed == len(self.checks) else "fail" if failed else "pending"
        return {"passed": passed, "total": len(self.checks), "state": state}


def evaluate(
    schema: dict[str, Any] | None, data: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> Verdict:
    """The one pass over a form: which fields are required now (``required`` and the
    ``x-required-when`` that hold), the schema's types and ranges, and the legal checks, all of
    them. An empty answer ("" or []) to a field not required now is left out (not stored as
    "无"); an empty answer to a required one is refused naming the field."""
    if not schema:
        return Verdict(dict(data), [], [])
    spec = form_spec(schema)
    by_name = {f.name: f for f in spec.fields}
    holds = required_now(schema, data, context)
    errors: dict[str, FieldError] = {}
    kept: dict[str, Any] = {}
    for name, value in data.items():
        f = by_name.get(name)
        if f is None or not _empty(value):
            kept[name] = value
        elif f.required or holds.get(name):
            errors[name] = FieldError(name, f.required_message or f"请填写「{f.title}」")
    for f in spec.fields:
        if holds.get(f.name) and f.name not in data and f.name not in errors:
            errors[f.name] = FieldError(f.name, f.required_message or f"请填写「{f.title}」")
    for error in validate(schema, kept):
        errors.setdefault(error.field, error)
    return Verdict(kept, list(errors.values()), run_checks(schema, kept, context))


def live_check(
    schema: dict[str, Any] | None,
    data: Mapping[str, Any],
    parse_errors: list[FieldError] | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a page or client shows while the form is typed: every field's error at once (what could
    not be read, requiredness, types), each legal check with its state, and the summary's state
    (``ok`` only when every check passed)."""
    verdict = evaluate(schema, data, context)
    fields: dict[str, str] = {}
    for error in (parse_errors or []) + verdict.errors:
        fields.setdefault(error.field.split(".")[0], error.message)
    return {
        "fields": fields,
        "checks": [{"id": c.id, "message": c.message, "fields": c.fields, "ok": c.ok} for c in verdict.checks],
        "summary": verdict.summary(),
    }


# --- showing submitted data ------------------------------------------------------------------


def display_values(schema: dict[str, Any] | None, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs of submitted form data, in the form's order, for timelines and print."""
    spec = form_spec(schema)
    shown: list[tuple[str, str]] = []
    known = set()
    for f in spec.fields:
        known.add(f.name)
        if f.name not in data:
            continue
        value = data[f.name]
        if f.kind == "money":
            text = f"{fen_to_yuan(value)} 元"
        elif f.kind == "boolean":
            text = "是" if value is True else "否" if value is False else str(value)
        elif f.kind in ("choice", "choices"):
            labels = dict(f.options)
            items = value if isinstance(value, list) else [value]
            text = "、".join(labels.get(str(v), str(v)) for v in items)
        elif isinstance(value, list):
            text = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
        shown.append((f.title, text))
    for name, value in data.items():
        if name not in known and name != "attachments":
            shown.append((name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return shown
