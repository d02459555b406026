"""Checks of a rule set's meaning that a JSON Schema cannot express: expressions, keys, roles, order."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.calendar import parse_time_limit
from engine.expressions import BUILTIN_FUNCTIONS, ExpressionError, compile_expression
from engine.org.roles import ROLES
from engine.persistence.enums import Level
from engine.ruleset import rule_values
from engine.supervision.facts import FUNCTIONS
from engine.supervision.models import Severity

# Codes the engine raises by itself; a rule set must describe each of them.
BUILTIN_CODES = (
    "step_due_soon",
    "step_overdue",
    "step_completed_late",
    "step_forced",
    "payment_before_approval",
    "payment_without_approval",
    "payment_without_voucher",
    "voucher_without_payment",
    "split_payment",
    "quorum_not_met",
    "vote_rule_not_met",
    "posting_too_short",
    "legal_check_waived",
)
SEVERITIES = (Severity.BLUE, Severity.YELLOW, Severity.RED)
LEVEL_ORDER = (Level.VILLAGE, Level.TOWN, Level.COUNTY)
COMPLEXITIES = ("general", "complex", "special")  # 一般 / 复杂 / 重大 (三级联动)
DEFAULT_STEP_CODE = "incompatible_steps_one_person"


def role_is_village(role: str) -> bool:
    return role in ROLES and ROLES[role].level == Level.VILLAGE


def check_duty_rules(rules: dict[str, Any]) -> list[str]:
    """What the schema cannot see: unknown roles, roles of different levels, repeated ids, codes
    that name no violation."""
    problems: list[str] = []
    ids: set[str] = set()
    for index, record in enumerate(rules.get("incompatible_roles") or []):
        where = f"incompatible_roles/{index} ({record['id']})"
        if record["id"] in ids:
            problems.append(f"{where}: id '{record['id']}' is used twice")
        ids.add(record["id"])
        named = [*record["roles"], *record["with"]]
        unknown = [r for r in named if r not in ROLES]
        if unknown:
            problems.append(f"{where}: unknown role(s) {', '.join(unknown)}")
            continue
        if len({ROLES[r].level for r in named}) > 1:
            problems.append(f"{where}: the roles are held at different levels; only roles of one unit can clash")
        if set(record["roles"]) & set(record["with"]):
            problems.append(f"{where}: a role cannot be incompatible with itself")
    ids = set()
    codes = set(rules.get("violations") or {})
    for index, record in enumerate(rules.get("incompatible_steps") or []):
        where = f"incompatible_steps/{index} ({record['id']})"
        if record["id"] in ids:
            problems.append(f"{where}: id '{record['id']}' is used twice")
        ids.add(record["id"])
        if len(set(record["steps"])) != len(record["steps"]):
            problems.append(f"{where}: a step is named twice")
        code = record.get("code", DEFAULT_STEP_CODE)
        if record.get("on_conflict", "refuse") != "refuse" and code not in codes:
            problems.append(f"{where}/code: no violation '{code}' in violations")
    return problems


def check_semantics(rules: dict[str, Any]) -> list[str]:
    return list(_problems(rules))


def _problems(rules: dict[str, Any]) -> Iterator[str]:
    known_keys = rule_values()
    codes = set(rules["violations"])
    for code in BUILTIN_CODES:
        if code not in codes:
            yield f"violations: the engine raises '{code}'; describe it (title, severity, points, legal_basis)"
    for code, spec in rules["violations"].items():
        owner = spec.get("owner", "responsible")
        if owner != "responsible" and not role_is_village(owner):
            yield f"violations/{code}/owner: '{owner}' is neither 'responsible' nor a village role"
        yield from _durations(f"violations/{code}", spec, ("rectify_within",))
    seen_deadlines = set()
    for index, row in enumerate(rules["deadlines"]):
        where = f"deadlines/{index}"
        key = (row["item"], row["step"])
        if key in seen_deadlines:
            yield f"{where}: item {row['item']!r} step {row['step']!r} appears twice"
        seen_deadlines.add(key)
        yield from _durations(where, row, ("limit", "red_after"))
    for index, meeting in enumerate(rules["meetings"]):
        for name in ("quorum", "in_favour"):
            yield from _expression(f"meetings/{index}/{name}", meeting[name], known_keys)
    for index, posting in enumerate(rules["postings"]):
        key = posting["min_days"]
        if key not in known_keys:
            yield f"postings/{index}/min_days: no rule value '{key}' in the flow rule values (rules/defaults/*.yaml)"
        elif not isinstance(known_keys[key], int):
            yield f"postings/{index}/min_days: rule value '{key}' is not a number of days"
    ids = set()
    for index, check in enumerate(rules["checks"]):
        where = f"checks/{index} ({check['id']})"
        if check["id"] in ids:
            yield f"{where}: id '{check['id']}' is used twice"
        ids.add(check["id"])
        if check["code"] not in codes:
            yield f"{where}/code: no violation '{check['code']}' in violations"
        yield from _expression(f"{where}/when", check["when"], known_keys)
    for field_name, code in rules["waived_checks"].items():
        if code not in codes:
            yield f"waived_checks/{field_name}: no violation '{code}' in violations"
    for item, text in rules["payments"]["approved"].items():
        yield from _expression(f"payments/approved/{item}", text, known_keys)
    split = rules["payments"]["split"]
    for key in split["thresholds"]:
        if key not in known_keys:
            yield f"payments/split/thresholds: no rule value '{key}' in the flow rule values"
    yield from _durations("payments/split", split, ("window",))
    if "register" in rules:
        yield from _register(rules["register"], codes, known_keys)
    if "hugging" in rules:
        hugging = rules["hugging"]
        if "threshold_hugging" not in codes:
            yield "violations: the hugging rules raise 'threshold_hugging', so describe it"
        for key in [hugging["near"]] + [k for w in hugging["watch"] for k in (*w.get("below", []), *w.get("upto", []))]:
            if key not in known_keys:
                yield f"hugging: no rule value '{key}' in the flow rule values (rules/defaults/*.yaml)"
    yield from _chain(rules["escalation"])
    if "complaints" in rules:
        yield from _complaints(rules["complaints"], rules["escalation"])
    rectification = rules["rectification"]
    yield from _durations("rectification", rectification, ("within",))
    if not role_is_village(rectification["default_owner"]):
        yield f"rectification/default_owner: '{rectification['default_owner']}' is not a village role"
    yield from _grades(rules["scoring"]["grades"])


def _register(register: dict[str, Any], codes: set[str], known_keys: dict[str, Any]) -> Iterator[str]:
    kinds = set(register["kinds"])
    for index, row in enumerate(register["decisions"]):
        where = f"register/decisions/{index}"
        if row["kind"] not in kinds:
            yield f"{where}/kind: no kind '{row['kind']}' in register/kinds"
        for name in ("when", "amount", "purpose", "passed_on"):
            if name in row:
                yield from _expression(f"{where}/{name}", row[name], known_keys)
    for index, row in enumerate(register["uses"]):
        for name in ("cites", "amount"):
            yield from _expression(f"register/uses/{index}/{name}", row[name], known_keys)
    reconciliation = register["reconciliation"]
    for stage, code in reconciliation["over"].items():
        if code not in codes:
            yield f"register/reconciliation/over/{stage}: no violation '{code}' in violations"
    for item, text in (reconciliation.get("approved_amount") or {}).items():
        yield from _expression(f"register/reconciliation/approved_amount/{item}", text, known_keys)
    for item, row in (register.get("unpaid_vouchers") or {}).items():
        where = f"register/unpaid_vouchers/{item}"
        if row["within"] not in known_keys:
            yield f"{where}/within: no rule value '{row['within']}' in the flow rule values"
        yield from _expression(f"{where}/paid", row["paid"], known_keys)


def _durations(where: str, record: dict[str, Any], names: tuple[str, ...]) -> Iterator[str]:
    for name in names:
        value = record.get(name)
        if value is None:
            continue
        try:
            parse_time_limit(value)
        except ValueError as exc:
            yield f"{where}/{name}: {exc}"


def _expression(where: str, text: str, known_keys: dict[str, Any]) -> Iterator[str]:
    try:
        compiled = compile_expression(text)
    except ExpressionError as exc:
        yield f"{where}: {exc}"
        return
    unknown = sorted(compiled.functions - set(FUNCTIONS) - set(BUILTIN_FUNCTIONS))
    if unknown:
        yield f"{where}: unknown function(s) {', '.join(unknown)} (allowed: rule, days_between, date and the built-ins)"
    for call in ast.walk(ast.parse(text.strip(), mode="eval")):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "rule":
            argument = call.args[0] if call.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                if argument.value not in known_keys:
                    yield f"{where}: rule('{argument.value}') names no rule value of rules/defaults/*.yaml"


def _chain(escalation: dict[str, Any]) -> Iterator[str]:
    levels = []
    for index, row in enumerate(escalation["chain"]):
        role = row["role"]
        if role not in ROLES:
            yield f"escalation/chain/{index}: unknown role '{role}'"
        elif ROLES[role].level != row["level"]:
            yield f"escalation/chain/{index}: role '{role}' is held in a {ROLES[role].level}, not a {row['level']}"
        levels.append(LEVEL_ORDER.index(row["level"]))
    if levels != sorted(set(levels)):
        yield "escalation/chain: levels must go up, village before town before county, each once"
    in_chain = {row["level"] for row in escalation["chain"]}
    for severity, level in (escalation.get("starts_at") or {}).items():
        if level not in in_chain:
            yield f"escalation/starts_at/{severity}: no level '{level}' in escalation/chain"
    for severity, value in escalation["unhandled_after"].items():
        if severity not in SEVERITIES:
            yield f"escalation/unhandled_after: unknown colour '{severity}'"
        if isinstance(value, dict):
            for level in value:
                if level not in in_chain:
                    yield f"escalation/unhandled_after/{severity}/{level}: no level '{level}' in escalation/chain"
            yield from _durations(f"escalation/unhandled_after/{severity}", value, tuple(value))
        else:
            yield from _durations("escalation/unhandled_after", {severity: value}, (severity,))


def _complaints(complaints: dict[str, Any], escalation: dict[str, Any]) -> Iterator[str]:
    """Every complaint level is a level of the chain and rises with the complexity."""
    in_chain = {row["level"] for row in escalation["chain"]}
    levels = complaints["levels"]
    for complexity, level in levels.items():
        if level not in in_chain:
            yield f"complaints/levels/{complexity}: no level '{level}' in escalation/chain"
    ranks = [LEVEL_ORDER.index(levels[c]) for c in COMPLEXITIES]
    if ranks != sorted(ranks):
        yield "complaints/levels: a more complex report never goes to a lower level (general ≤ complex ≤ special)"


def _grades(grades: list[dict[str, Any]]) -> Iterator[str]:
    minimums = [g.get("min") for g in grades]
    if minimums[-1] is not None or any(m is None for m in minimums[:-1]):
        yield "scoring/grades: every grade but the last needs 'min', and the last takes every lower score"
    numbers = [m for m in minimums if m is not None]
    if numbers != sorted(numbers, reverse=True) or len(set(numbers)) != len(numbers):
        yield "scoring/grades: 'min' must go down from the best grade to the worst"


def lint_against_flows(rules: dict[str, Any], processes: Path) -> list[str]:
    """Warnings (not errors) for rows naming steps that the shipped flow of their item does not have."""
    from engine.definitions.validate import load_definition_file

    named: dict[str, set[str]] = {}
    for section in ("deadlines", "postings"):
        for row in rules[section]:
            named.setdefault(row["item"], set()).add(row["step"])
    for section in ("meetings", "checks"):
        for row in rules[section]:
            named.setdefault(row["item"], set()).update(row["steps"])
    warnings = []
    for item, steps in sorted(named.items()):
        path = processes / item / f"{item}.bpmn"
        if item == "*" or not path.is_file():
            continue
        report = load_definition_file(path)
        if report.definition is None:
            continue
        known = {s.id for s in report.definition.steps}
        for step in sorted(steps - known - {"*"}):
            warnings.append(f"{item}: the rules name step '{step}', which {path.name} does not have")
    return warnings
