"""The roles of the power list and the organisation level each is held at."""

from __future__ import annotations

from dataclasses import dataclass

from engine.persistence.enums import Level


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    level: Level


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("party_secretary", "村党组织书记", "Party branch secretary", Level.VILLAGE),
        Role("committee_chair", "村委会主任", "Village committee chair", Level.VILLAGE),
        Role("supervisory_member", "村务监督委员会成员", "Supervisory committee member", Level.VILLAGE),
        Role("bookkeeper", "村报账员", "Bookkeeper", Level.VILLAGE),
        Role("cadre", "村干部", "Village cadre", Level.VILLAGE),
        Role("town_agency", "镇三资中心", "Town agency", Level.TOWN),
        Role("town_discipline", "镇纪委", "Town discipline commission", Level.TOWN),
        Role("town_civil_affairs", "乡镇民政办", "Town civil affairs office", Level.TOWN),
        Role("county_discipline", "县纪委", "County discipline commission", Level.COUNTY),
        Role("county_civil_affairs", "县民政局", "County civil affairs bureau", Level.COUNTY),
        Role("auditor", "审计员", "Auditor", Level.COUNTY),
        Role("admin", "管理员", "Administrator", Level.COUNTY),
    )
}

LEVELS = tuple(Level)
LEVEL_NAMES = {"county": "县", "town": "镇", "village": "村"}


def role_level(code: str) -> str:
    return ROLES[code].level
