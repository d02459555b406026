"""Rule values that flows read with ``rule("key")``: thresholds, tiers and posting periods.

Defaults are YAML files under ``rules/defaults/``; a deployment may point
``POWERLIST_RULES_DIR`` at its own folder of overrides (a county's rule set), read after them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.errors import PowerlistError

DEFAULTS = Path(__file__).resolve().parent.parent / "rules" / "defaults"


class UnknownRule(PowerlistError):
    pass


def _read_folder(folder: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
        if not isinstance(data, dict):
            raise PowerlistError(f"{path}: a rule-value file must be a mapping of key: value")
        values.update({str(k): v for k, v in data.items() if not isinstance(v, dict)})
    return values


@lru_cache(maxsize=1)
def rule_values() -> dict[str, Any]:
    values = _read_folder(DEFAULTS) if DEFAULTS.is_dir() else {}
    override = os.environ.get("POWERLIST_RULES_DIR")
    if override:
        values.update(_read_folder(Path(override)))
    return values


def rule(key: str) -> Any:
    try:
        return rule_values()[key]
    except KeyError:
        raise UnknownRule(f"no rule value '{key}' in the rule set") from None


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base`` (a county's rule file over the defaults): mappings deeply, other
    values (lists too) replaced."""
    import copy

    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_rule_text(text: str, name: str, top: str, what: str, invalid: type[Exception]) -> dict[str, Any]:
    """A rule file's YAML: a mapping with the one key ``top``; else ``invalid([problem])`` naming the file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise invalid([f"{name}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get(top), dict):
        raise invalid([f"{name}: {what} is a mapping with one key '{top}'"])
    return data


class AreaRulesInvalid(PowerlistError):
    """A rule file of one area is not what the area reads; ``problems`` name the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems), code="rules.invalid", params={"problems": "; ".join(problems)})
        self.problems = problems


def area_rules(file_name: str, top: str, what: str) -> dict[str, Any]:
    """The rules under ``top`` of ``rules/defaults/<file_name>``, with the same file of the deployment's
    rule folder (``POWERLIST_RULES_DIR``) merged over it: a county writes only what it changes.

    Not cached: callers cache what they derive, and tests that change the folder see the change.
    """
    path = DEFAULTS / file_name
    data = parse_rule_text(path.read_text(encoding="utf-8"), str(path), top, what, AreaRulesInvalid)[top]
    folder = os.environ.get("POWERLIST_RULES_DIR")
    if folder and (Path(folder) / file_name).is_file():
        override = Path(folder) / file_name
        text = override.read_text(encoding="utf-8")
        data = deep_merge(data, parse_rule_text(text, str(override), top, what, AreaRulesInvalid)[top])
    return data
