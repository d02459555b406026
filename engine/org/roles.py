"""The roles of the power list and the organisation level each is held at.

Their Chinese and English names are data: ``roles`` and ``levels`` of ``engine/texts/<language>/org.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.persistence.enums import Level
from engine.texts import texts


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    level: Level


# role code -> the level it is held at
_ROLE_LEVELS: dict[str, Level] = {
    "party_secretary": Level.VILLAGE,
    "committee_chair": Level.VILLAGE,
    "supervisory_member": Level.VILLAGE,
    "bookkeeper": Level.VILLAGE,
    "cadre": Level.VILLAGE,
    "town_agency": Level.TOWN,
    "town_discipline": Level.TOWN,
    "town_civil_affairs": Level.TOWN,
    "county_discipline": Level.COUNTY,
    "county_civil_affairs": Level.COUNTY,
    "auditor": Level.COUNTY,
    "admin": Level.COUNTY,
}
_NAMES_ZH, _NAMES_EN = texts("org.roles"), texts("org.roles", "en")

ROLES: dict[str, Role] = {
    code: Role(code, _NAMES_ZH[code], _NAMES_EN[code], level) for code, level in _ROLE_LEVELS.items()
}

LEVELS = tuple(Level)
LEVEL_NAMES = texts("org.levels")


def role_level(code: str) -> str:
    return ROLES[code].level
