"""The roles of the power list and the organisation level each is held at.

Their Chinese and English names are data: ``roles`` and ``levels`` of ``engine/texts/<language>/org.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.texts import texts


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    level: str  # village | town | county


# role code -> the level it is held at
_ROLE_LEVELS = {
    "party_secretary": "village",
    "committee_chair": "village",
    "supervisory_member": "village",
    "bookkeeper": "village",
    "cadre": "village",
    "town_agency": "town",
    "town_discipline": "town",
    "town_civil_affairs": "town",
    "county_discipline": "county",
    "county_civil_affairs": "county",
    "auditor": "county",
    "admin": "county",
}
_NAMES_ZH, _NAMES_EN = texts("org.roles"), texts("org.roles", "en")

ROLES: dict[str, Role] = {
    code: Role(code, _NAMES_ZH[code], _NAMES_EN[code], level) for code, level in _ROLE_LEVELS.items()
}

LEVELS = ("county", "town", "village")
LEVEL_NAMES = texts("org.levels")


def role_level(code: str) -> str:
    return ROLES[code].level
