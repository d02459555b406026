"""The one check of form data: a step's JSON Schema read as a form (fields, requiredness, legal
checks), and data checked against it before the engine sees it.

Every path goes through here: a page's typing shown live, the API, the command line and the
engine completing a step. Errors carry catalogue codes (``engine/texts/*/workspace.yaml``); the
web turns an HTML post into data and words what it shows.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from engine import caches
from engine.errors import FieldError, FormInvalid
from engine.texts import data, error_text, text

ATTACHMENTS = "attachments"  # reserved field: files attached to the step, recorded by content hash

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_FIELDS = 200


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
# kept beside it, checked by identity, so a step does not derive it again. Safe to share between
# databases: an entry is used only for the very form object it was derived from.
_derived: dict[tuple[str, int], tuple[Any, Any]] = {}
caches.register(_derived.clear)


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


# --- sums of yuan as typed -------------------------------------------------------------------

MONEY_RE = re.compile(r"^-?\d+(\.\d{1,2})?$")
# What may surround a typed sum and is dropped (commas, yen signs, the word yuan) is data.
MONEY_MARKS: tuple[str, ...] = tuple(data("workspace.form.money_marks"))


class AmountUnreadable(ValueError):
    """Text that is not a sum of yuan; ``str()`` is the catalogue's wording of ``code``."""

    def __init__(self, code: str):
        super().__init__(error_text(code) or code)
        self.code = code


def yuan_to_fen(typed: str) -> int:
    """A sum typed in yuan (``"120,000.50"``, ``"¥3"``) as whole fen; :class:`AmountUnreadable` otherwise."""
    cleaned_text = typed
    for mark in MONEY_MARKS:
        cleaned_text = cleaned_text.replace(mark, "")
    cleaned_text = cleaned_text.strip()
    if not MONEY_RE.match(cleaned_text):
        raise AmountUnreadable("form.money_format")
    try:
        return int(Decimal(cleaned_text) * 100)
    except InvalidOperation as exc:
        raise AmountUnreadable("form.money_number") from exc


# --- errors and checks ---------------------------------------------------------------------

_format_checker = FormatChecker()


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_text), format_checker=_format_checker)


def validate(schema: dict[str, Any] | None, data: dict[str, Any]) -> list[FieldError]:
    """Schema errors, one per field, each naming the field by its title."""
    if not schema:
        return []
    spec = form_spec(schema)
    by_name = {f.name: f for f in spec.fields}
    validator = _kept("validator", schema, lambda s: _validator(json.dumps(_without_conditions(s), sort_keys=True)))
    errors: dict[str, FieldError] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), str(e.absolute_path))):
        name, found = _explain(error, by_name)
        if found is None:
            continue
        errors.setdefault(name, found)
    return list(errors.values())


def _without_conditions(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the fields of ``x-required-when`` out of ``required``: their condition decides."""
    when = required_when(schema)
    if not when or not isinstance(schema.get("required"), list):
        return schema
    return {**schema, "required": [n for n in schema["required"] if n not in when]}


RANGE_CODES = {
    "minimum": "form.minimum",
    "exclusiveMinimum": "form.exclusive_minimum",
    "maximum": "form.maximum",
    "exclusiveMaximum": "form.exclusive_maximum",
}
# Schema keywords whose failure reads only "the field's format is wrong".
BAD_FORMAT = ("type", "pattern")


def _explain(error, by_name: dict[str, Field]) -> tuple[str, FieldError | None]:
    path = [str(p) for p in error.absolute_path]
    kind = error.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = ".".join(path + missing[:1])
        f = by_name.get(missing[0]) if missing else None
        return name, FieldError.coded(name, "form.required", title=f.title if f else name)
    name = path[0] if path else ""
    f = by_name.get(name)
    title = f.title if f else name or text("workspace.form.whole")
    value = error.validator_value

    def coded(code: str, **params: Any) -> tuple[str, FieldError]:
        return name, FieldError.coded(name, code, title=title, **params)

    if kind in ("if", "then", "else", "allOf", "anyOf") and not path:
        return name, None  # the specific errors inside are reported instead
    if kind == "oneOf" and f is not None and f.options:
        return coded("form.choose")
    if kind == "minLength":
        return coded("form.min_length", value=value) if value > 1 else coded("form.required")
    if kind == "maxLength":
        return coded("form.max_length", value=value)
    if kind in RANGE_CODES:
        if f is not None and f.kind == "money" and isinstance(value, int):
            return coded(RANGE_CODES[kind] + "_yuan", yuan=Decimal(value) / 100)
        return coded(RANGE_CODES[kind], value=value)
    if kind == "format":
        return coded("form.date" if value == "date" else "form.format")
    if kind in ("enum", "const"):
        return coded("form.choose")
    if kind == "minItems":
        return coded("form.min_items", value=value)
    if kind == "maxItems":
        return coded("form.max_items", value=value)
    if kind in BAD_FORMAT:
        return coded("form.format")
    if kind == "additionalProperties":
        return coded("form.unknown_fields", detail=error.message)
    return coded("form.schema", detail=error.message)


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

    def summary(self) -> CheckSummary:
        passed = sum(1 for c in self.checks if c.ok is True)
        failed = sum(1 for c in self.checks if c.ok is False)
        state = "ok" if passed == len(self.checks) else "fail" if failed else "pending"
        return CheckSummary(passed, len(self.checks), state)


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """How the legal checks stand: ``ok`` only when every one passed, ``fail`` when one failed,
    ``pending`` while some cannot tell yet."""

    passed: int
    total: int
    state: str


@dataclass(frozen=True, slots=True)
class CheckState:
    """One legal check as the form stands: ``ok`` None while it cannot tell yet."""

    id: str
    message: str
    fields: list[str]
    ok: bool | None


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """What a form shows while it is typed: each field's first error, each check, their summary."""

    fields: dict[str, str]
    checks: list[CheckState]
    summary: CheckSummary


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
            errors[name] = _required(f)
    for f in spec.fields:
        if holds.get(f.name) and f.name not in data and f.name not in errors:
            errors[f.name] = _required(f)
    for error in validate(schema, kept):
        errors.setdefault(error.field, error)
    return Verdict(kept, list(errors.values()), run_checks(schema, kept, context))


def _required(f: Field) -> FieldError:
    """A required field left empty: the form's own message for it, else the catalogue's."""
    if f.required_message:
        return FieldError(f.name, f.required_message, "form.required")
    return FieldError.coded(f.name, "form.required", title=f.title)


def live_check(
    schema: dict[str, Any] | None,
    data: Mapping[str, Any],
    parse_errors: list[FieldError] | None = None,
    context: Mapping[str, Any] | None = None,
) -> LiveCheck:
    """What a page or client shows while the form is typed: every field's error at once (what could
    not be read, requiredness, types), each legal check with its state, and the summary's state
    (``ok`` only when every check passed). ``dataclasses.asdict`` gives its JSON."""
    verdict = evaluate(schema, data, context)
    fields: dict[str, str] = {}
    for error in (parse_errors or []) + verdict.errors:
        fields.setdefault(error.field.split(".")[0], error.message)
    return LiveCheck(
        fields,
        [CheckState(c.id, c.message, c.fields, c.ok) for c in verdict.checks],
        verdict.summary(),
    )


# --- the check every submission passes ------------------------------------------------------


def undeclared_fields(
    step: str, schema: dict[str, Any] | None, data: Any, allowed: frozenset[str] = frozenset()
) -> None:
    """Refuse keys the step's form does not declare, and the engine's own ``attachments``.

    A step writes only what its form asks for: any other key could overwrite a variable set by a
    script, a rule or an earlier step (an amount the gateways route on, a count that escalates).
    """
    if not isinstance(data, dict):
        raise FormInvalid(step, [FieldError.coded("", "form.not_an_object")])
    if len(data) > MAX_FIELDS:
        raise FormInvalid(step, [FieldError.coded("", "form.too_many_fields", count=len(data), most=MAX_FIELDS)])
    declared = set((schema or {}).get("properties") or {}) | allowed
    errors = []
    for key in data:
        if not isinstance(key, str) or not FIELD_NAME.match(key):
            errors.append(FieldError.coded(str(key)[:64], "form.field_name"))
        elif key == ATTACHMENTS:
            errors.append(FieldError.coded(key, "form.attachments_as_data"))
        elif key not in declared:
            errors.append(FieldError.coded(key, "form.undeclared", name=key))
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
    and the legal checks (``x-checks``) in one pass (:func:`evaluate`); an empty answer to a field
    not required now is left out.
    With ``collect_checks`` the failed ``x-checks`` alone do not raise; ``(data, failed checks)``
    is returned. ``context`` holds read-only names the checks may read besides the form's fields
    (``earlier``: the matter's data so far).
    """
    undeclared_fields(step, schema, data, allowed)
    if schema is None:
        clean = cleaned(schema, data)
        return (clean, []) if collect_checks else clean
    own = {k: v for k, v in data.items() if k not in allowed}
    verdict = evaluate(schema, own, context)
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
