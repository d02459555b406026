"""The roles of the power list and the organisation level each is held at."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    level: str  # village | town | county


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("party_secretary", "村党组织书记", "Party branch secretary", "village"),
        Role("committee_chair", "村委会主任", "Village committee chair", "village"),
        Role("supervisory_member", "村务监督委员会成员", "Supervisory committee member", "village"),
        Role("bookkeeper", "村报账员", "Bookkeeper", "village"),
        Role("cadre", "村干部", "Village cadre", "village"),
        Role("town_agency", "镇三资中心", "Town agency", "town"),
        Role("town_discipline", "镇纪委", "Town discipline commission", "town"),
        Role("town_civil_affairs", "乡镇民政办", "Town civil affairs office", "town"),
        Role("county_discipline", "县纪委", "County discipline commission", "county"),
        Role("county_civil_affairs", "县民政局", "County civil affairs bureau", "county"),
        Role("auditor", "审计员", "Auditor", "county"),
        Role("admin", "管理员", "Administrator", "county"),
    )
}

LEVELS = ("county", "town", "village")
LEVEL_NAMES = {"county": "县", "town": "镇", "village": "村"}


def role_level(code: str) -> str:
    return ROLES[code].level
