"""The access rules as data: ``rules/defaults/access.yaml``, read once and checked on reading."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.errors import PowerlistError
from engine.org.roles import ROLES

ACCESS_FILE = Path(__file__).resolve().parent.parent.parent / "rules" / "defaults" / "access.yaml"
SETS = ("acting", "read_only", "administering", "forcing", "supervising", "registering")


@dataclass(frozen=True)
class Confidential:
    """A flow whose matters only the roles that handle them see."""

    read: frozenset[str]
    conflicted: dict[str, frozenset[str]]  # what a matter concerns -> roles in its village kept out


@dataclass(frozen=True)
class AccessRules:
    role_sets: dict[str, frozenset[str]]
    read_matters: frozenset[str]
    start: dict[str, frozenset[str]]
    start_default: frozenset[str]
    confidential: dict[str, Confidential]

    def roles(self, name: str) -> frozenset[str]:
        return self.role_sets[name]


def _roles(where: str, names: Any, sets: dict[str, frozenset[str]]) -> frozenset[str]:
    """Role codes, where a role-set name stands for all of its roles."""
    if not isinstance(names, list):
        raise PowerlistError(f"{ACCESS_FILE.name}: {where} must be a list of roles or role sets")
    found: set[str] = set()
    for name in names:
        if name in sets:
            found |= sets[name]
        elif name in ROLES:
            found.add(name)
        else:
            raise PowerlistError(f"{ACCESS_FILE.name}: {where} names '{name}', which is neither a role nor a role set")
    return frozenset(found)


def parse(data: dict[str, Any]) -> AccessRules:
    raw_sets = data.get("role_sets") or {}
    missing = [name for name in SETS if name not in raw_sets]
    if missing:
        raise PowerlistError(f"{ACCESS_FILE.name}: role_sets lacks {', '.join(missing)}")
    sets: dict[str, frozenset[str]] = {}
    for name, roles in raw_sets.items():
        sets[name] = _roles(f"role_sets.{name}", roles, {})
    if sets["acting"] & (sets["read_only"] | sets["administering"]):
        raise PowerlistError(f"{ACCESS_FILE.name}: a read-only or administering role may not also act")
    confidential = {
        key: Confidential(
            _roles(f"confidential.{key}.read", value.get("read", []), sets),
            {
                concern: _roles(f"confidential.{key}.conflicted.{concern}", roles, sets)
                for concern, roles in (value.get("conflicted") or {}).items()
            },
        )
        for key, value in (data.get("confidential") or {}).items()
    }
    return AccessRules(
        role_sets=sets,
        read_matters=_roles("read_matters", data.get("read_matters", []), sets),
        start={key: _roles(f"start.{key}", roles, sets) for key, roles in (data.get("start") or {}).items()},
        start_default=_roles("start_default", data.get("start_default", []), sets),
        confidential=confidential,
    )


@lru_cache(maxsize=1)
def access_rules() -> AccessRules:
    return parse(yaml.load(ACCESS_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {})
