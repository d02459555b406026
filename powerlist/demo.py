"""Demo data: one county, two towns, four villages, a user for every role, and the shipped flows,
published to the demo county."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.definitions.deploy import deploy
from engine.definitions.validate import load_definition_file
from engine.org.passwords import hash_password
from engine.org.service import ensure_unit, ensure_user, grant

DEMO_PASSWORD = "powerlist-demo"  # noqa: S105 - printed on purpose for the demo
PROCESSES = Path(__file__).resolve().parent.parent / "processes"

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


def shipped_flows() -> list[Path]:
    return sorted(PROCESSES.glob("*/*.bpmn"))


def load_demo(session: Session, deploy_flows: bool = True) -> dict[str, Any]:
    """The demo organisation and users, and (unless ``deploy_flows`` is false) the shipped flows."""
    users: list[dict[str, str]] = []
    # Every demo user shares the printed demo password; hash it once.
    demo_hash = hash_password(DEMO_PASSWORD)

    def person(username: str, display: str, role: str, unit) -> None:
        user = ensure_user(session, username, display, password_hash=demo_hash)
        grant(session, user, role, unit)
        users.append({"username": username, "roles": f"{role}@{unit.code}"})

    county = ensure_unit(session, COUNTY[0], COUNTY[1], "county")
    for role, (username, title) in COUNTY_ROLES.items():
        person(username, f"{COUNTY[1]}{title}", role, county)
    for town_code, (town_name, villages) in TOWNS.items():
        town = ensure_unit(session, town_code, town_name, "town", county)
        slug = TOWN_SLUGS[town_code]
        for role, (suffix, title) in TOWN_ROLES.items():
            person(f"{slug}.{suffix}", f"{town_name}{title}", role, town)
        for village_code, (village_name, vslug) in villages.items():
            village = ensure_unit(session, village_code, village_name, "village", town)
            for role, (suffix, title) in VILLAGE_ROLES.items():
                person(f"{vslug}.{suffix}", f"{village_name}{title}", role, village)

    deployed, skipped = [], []
    for path in shipped_flows() if deploy_flows else []:
        report = load_definition_file(path)
        if not report.ok:
            skipped.append(f"skipped {path.name}: " + "; ".join(str(p) for p in report.problems[:3]))
            continue
        result = deploy(session, report, path.read_bytes(), actor=None, counties=[county.code])
        deployed.append(f"deployed {result.key} v{result.version}" + ("" if result.created else " (unchanged)"))
    return {"users": users, "deployed": deployed, "skipped": skipped}
