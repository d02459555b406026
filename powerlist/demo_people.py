"""The demo county: its towns and villages, and which demo user holds each role in them."""

from __future__ import annotations

COUNTY = ("QX", "清溪县")
TOWNS = {
    "QX01": ("东溪镇", {"QX0101": ("上塘村", "shangtang"), "QX0102": ("下塘村", "xiatang")}),
    "QX02": ("西岭镇", {"QX0201": ("岭头村", "lingtou"), "QX0202": ("岭脚村", "lingjiao")}),
}
TOWN_SLUGS = {"QX01": "dongxi", "QX02": "xiling"}
VILLAGE_ROLES = {
    "party_secretary": ("secretary", "书记"),
    "committee_chair": ("chair", "主任"),
    "supervisory_member": ("supervisor", "监委会成员"),
    "bookkeeper": ("bookkeeper", "报账员"),
    "cadre": ("cadre", "村干部"),
}
TOWN_ROLES = {
    "town_agency": ("agency", "三资中心"),
    "town_discipline": ("discipline", "镇纪委"),
    "town_civil_affairs": ("civil", "民政办"),
}
COUNTY_ROLES = {
    "county_discipline": ("county.discipline", "县纪委"),
    "county_civil_affairs": ("county.civil", "民政局"),
    "auditor": ("county.auditor", "审计员"),
    "admin": ("admin", "管理员"),
}
VILLAGES = [code for _name, villages in TOWNS.values() for code in villages]


def holder(role: str, village: str, second: bool = False) -> str:
    """The demo user holding ``role`` for a matter of ``village`` (the first, or the second, of the two)."""
    for town, (_name, villages) in TOWNS.items():
        if village in villages:
            if role in VILLAGE_ROLES:
                name = f"{villages[village][1]}.{VILLAGE_ROLES[role][0]}"
            elif role in TOWN_ROLES:
                name = f"{TOWN_SLUGS[town]}.{TOWN_ROLES[role][0]}"
            else:
                name = COUNTY_ROLES[role][0]
            return name + "2" if second else name
    raise LookupError(f"no demo village {village}")
