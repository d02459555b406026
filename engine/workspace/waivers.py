"""Which failed legal checks a cadre may still submit past with a written reason (仍要提交).

Rule data an auditor can read: ``rules/defaults/waivers.yaml``, then ``waivers.yaml`` in the
deployment's rule folder (``POWERLIST_RULES_DIR``, the county's rule set) holding only what it
changes; both validated by ``rules/waivers.schema.json``. A check is named by its flow and its id
(the ``id`` of the form's ``x-checks`` entry, else the first field it names); a check that
enforces a statutory rule admits no exception and says on which legal basis.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.errors import PowerlistError
from engine.ruleset import DEFAULTS, deep_merge, parse_rule_text

DEFAULT_FILE = DEFAULTS / "waivers.yaml"
SCHEMA_FILE = DEFAULTS.parent / "waivers.schema.json"
OVERRIDE_NAME = "waivers.yaml"
ANY = "*"


class WaiversInvalid(PowerlistError):
    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the waiver rules are invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Waiver:
    waivable: bool
    basis: str | None


def parse_text(text: str, name: str = OVERRIDE_NAME) -> dict[str, Any]:
    return parse_rule_text(text, name, "waivers", "a waiver file", WaiversInvalid)


merge = deep_merge


@lru_cache(maxsize=1)
def _schema_validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def validate(data: dict[str, Any]) -> list[str]:
    """Every problem of a whole waiver rule set, each with where it is."""
    errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The effective waiver rules: the defaults with the county's override folder applied, validated."""
    data = parse_text(DEFAULT_FILE.read_text(encoding="utf-8"), str(DEFAULT_FILE))
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / OVERRIDE_NAME).is_file():
        path = Path(folder) / OVERRIDE_NAME
        data = merge(data, parse_text(path.read_text(encoding="utf-8"), str(path)))
    problems = validate(data)
    if problems:
        raise WaiversInvalid(problems)
    return data["waivers"]


def reset() -> None:
    """Forget the loaded rules (after the files or POWERLIST_RULES_DIR changed)."""
    rules.cache_clear()


def waiver(flow: str, check_id: str) -> Waiver:
    """Whether the check ``check_id`` of ``flow`` may be waived, and the legal basis if not."""
    table = rules()
    for key in (flow, ANY):
        entry = (table.get("flows") or {}).get(key, {}).get(check_id)
        if entry is not None:
            return Waiver(bool(entry["waivable"]), entry.get("basis"))
    return Waiver(bool(table.get("default", True)), None)


def waivable(flow: str, check_ids: list[str]) -> bool:
    """Whether every one of the failed checks may be waived (the page offers 仍要提交 only then)."""
    return all(waiver(flow, c).waivable for c in check_ids)


def offered(session: Any, instance_id: int, check_ids: list[str]) -> bool:
    """Whether a page may offer 仍要提交 for these failed checks of the matter ``instance_id``: only
    when each of them may be waived in the matter's flow (read-only)."""
    from engine.persistence.models import Matter

    instance = session.get(Matter, instance_id)
    return bool(check_ids) and instance is not None and waivable(instance.definition.key, check_ids)
