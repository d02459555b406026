"""The rule data of supervision documents and talks (``rules/defaults/notices.yaml``): the templates
and their placeholders, who issues each kind of document and who records each kind of talk.

:mod:`engine.supervision.notices` fills the templates; :mod:`engine.policy` applies who may act.
"""

from __future__ import annotations

import copy
import json
import os
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import PowerlistError
from engine.org.roles import ROLES
from engine.org.units import unit_chain
from engine.policy.rules import access_rules
from engine.ruleset import DEFAULTS, deep_merge, parse_rule_text
from engine.texts import texts

KINDS = ("warning", "rectification", "order")
DEFAULT_FILE = DEFAULTS / "notices.yaml"
SCHEMA_FILE = DEFAULTS.parent / "notices.schema.json"
OVERRIDE_NAME = "notices.yaml"
MAX_FACTS = 2000
MAX_NAME = 100
MAX_NOTE = 500

# The placeholders each kind of template may use.
NUMBER_KEYS = frozenset({"short", "body", "county", "town", "village", "year", "seq", "colour"})
BODY_KEYS = frozenset({"village", "town", "county"})
TEXT_KEYS = frozenset(
    {
        "village",
        "town",
        "county",
        "body",
        "short",
        "number",
        "date",
        "matter_title",
        "receipt",
        "step",
        "amount",
        "rule",
        "legal_basis",
        "message",
        "detected",
        "severity",
        "colour",
        "points",
        "rectify_by",
        "reply_by",
        "facts",
        "period",
        "grade",
        "score",
        "deducted",
        "violations",
    }
)


class TemplatesInvalid(PowerlistError):
    """A notices rule file that cannot be used; the first problem is the message, all are listed."""

    exit_code = 2
    default_code = "notice.templates_invalid"

    def __init__(self, problems: list[str], key: str | None = None, where: str | None = None):
        self.problems = problems
        super().__init__(
            "the document templates are invalid:\n" + "\n".join(f"  {p}" for p in problems),
            params={"problem": problems[0] if problems else "", "key": key or "", "where": where or ""},
            field=where,
        )


# --- safe templates --------------------------------------------------------------------------


_FORMATTER = string.Formatter()


def placeholders(text: str) -> list[str]:
    """The placeholder names of a template, refusing anything but ``{name}`` (no ``{a.b}``,
    ``{a[0]}``, ``{a!r}`` or ``{a:>10}``); ``{{`` and ``}}`` are literal braces."""
    names = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ValueError(f"unbalanced braces ({exc})") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"{{{shown}}} is not a plain {{name}}")
        names.append(name)
    return names


def fill(text: str, values: dict[str, str]) -> str:
    """The template with each ``{name}`` replaced by ``values[name]`` as plain text (never evaluated)."""
    out = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if name is not None:
            out.append(str(values.get(name, "")))
    return "".join(out)


# --- rule data -------------------------------------------------------------------------------


merge = deep_merge


def parse_text(text: str, name: str = "notices.yaml") -> dict[str, Any]:
    return parse_rule_text(text, name, "notices", "a notices file", TemplatesInvalid)


@lru_cache(maxsize=1)
def _schema_validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _template_problems(where: str, text: str, allowed: frozenset[str]) -> list[tuple[str, str, str]]:
    """(problem, key, where) for each placeholder of ``text`` not in ``allowed``."""
    try:
        names = placeholders(text)
    except ValueError as exc:
        return [(f"{where}: {exc}", "", where)]
    return [
        (f"{where}: unknown placeholder {{{name}}} (known: {', '.join(sorted(allowed))})", name, where)
        for name in names
        if name not in allowed
    ]


def problems_of(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every problem of a whole notices file as (message, placeholder key, where): shape, then meaning."""
    errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        found = []
        for error in errors:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            found.append((f"{where}: {error.message}", "", where))
        return found
    rules = data["notices"]
    found: list[tuple[str, str, str]] = []
    for section, entries in (
        ("issuers", rules["issuers"]),
        ("talks", {k: v["roles"] for k, v in rules["talks"].items()}),
    ):
        for kind, roles in entries.items():
            for role in roles:
                if role not in ROLES:
                    where = f"notices.{section}.{kind}"
                    found.append((f"{where}: no role '{role}'", "", where))
    for level, body in rules["bodies"].items():
        for part in ("name", "short"):
            found += _template_problems(f"notices.bodies.{level}.{part}", body[part], BODY_KEYS)
    for kind, template in rules["kinds"].items():
        base = f"notices.kinds.{kind}"
        found += _template_problems(f"{base}.number", template["number"], NUMBER_KEYS)
        if "seq" not in placeholders_or_empty(template["number"]):
            found.append((f"{base}.number: the number must contain {{seq}}", "seq", f"{base}.number"))
        found += _template_problems(f"{base}.title", template["title"], TEXT_KEYS)
        found += _template_problems(f"{base}.addressee", template["addressee"], TEXT_KEYS)
        for part in ("paragraphs", "grade_paragraphs", "signature"):
            for index, line in enumerate(template.get(part) or []):
                found += _template_problems(f"{base}.{part}[{index}]", line, TEXT_KEYS)
    for county, override in (rules.get("counties") or {}).items():
        merged = copy.deepcopy(data)
        merged["notices"].pop("counties", None)
        merged = merge(merged, {"notices": override})
        found += [(f"counties.{county}: {p}", key, f"counties.{county}.{w}") for p, key, w in problems_of(merged)]
    return found


def placeholders_or_empty(text: str) -> list[str]:
    try:
        return placeholders(text)
    except ValueError:
        return []


def check(data: dict[str, Any]) -> None:
    """Refuse a notices file with any problem, naming the first placeholder at fault and where."""
    found = problems_of(data)
    if found:
        keyed = next((f for f in found if f[1]), found[0])
        raise TemplatesInvalid([f[0] for f in found], key=keyed[1], where=keyed[2])


@lru_cache(maxsize=1)
def base_data() -> dict[str, Any]:
    """The defaults with the deployment's override folder (``POWERLIST_RULES_DIR/notices.yaml``), checked."""
    data = parse_text(DEFAULT_FILE.read_text(encoding="utf-8"), str(DEFAULT_FILE))
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / OVERRIDE_NAME).is_file():
        path = Path(folder) / OVERRIDE_NAME
        data = merge(data, parse_text(path.read_text(encoding="utf-8"), str(path)))
    check(data)
    return data


def reset() -> None:
    base_data.cache_clear()


def rules_for(county_code: str | None) -> dict[str, Any]:
    """The notices rules of a county: the defaults, then what the county changes under ``counties``."""
    rules = base_data()["notices"]
    override = (rules.get("counties") or {}).get(county_code or "")
    return merge(rules, override) if override else rules


# --- who acts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Issuing (or receiving, or recording a talk of) ``kind`` in the village ``village_id``."""

    kind: str
    village_id: int


def reach(session: Session, village_id: int) -> set[int]:
    return {unit.id for unit in unit_chain(session, village_id)}


def readers() -> frozenset[str]:
    rules = access_rules()
    return rules.roles("supervising") | rules.roles("read_only")


def roles_for(session: Session, action: str, target: Target) -> list[str]:
    rules = rules_for(unit_chain(session, target.village_id)[-1].code)
    if action.startswith("talk."):
        return list(rules["talks"][target.kind]["roles"])
    return list(rules["issuers"][target.kind])


def kind_name(kind: str) -> str:
    """How a kind of document is named (预警通知书, 整改通知书, 督查令)."""
    return texts("supervision.notices.kinds").get(kind, kind)


def talk_name(kind: str) -> str:
    """How a kind of talk is named (约谈, 提醒谈话)."""
    return texts("supervision.talks.kinds").get(kind, kind)
