"""The villages the public pages are about, and the power items shown to their villagers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog.catalog import CatalogItem, power_list
from engine.definitions.listing import listed
from engine.errors import NotFound
from engine.persistence.enums import Level
from engine.persistence.models import OrgUnit


def public_village(session: Session, code: str) -> OrgUnit:
    """An active village by its code; anything else (a town, a retired village, no such code) is not found."""
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == str(code)[:32]))
    if unit is None or unit.level != Level.VILLAGE or not unit.active:
        raise NotFound(f"no village with code '{code}'")
    return unit


def place_name(village: OrgUnit) -> str:
    """村 with its town: 青溪镇 上塘村."""
    town = village.parent
    return f"{town.name} {village.name}" if town is not None else village.name


def villages(session: Session) -> list[OrgUnit]:
    """Every active village, by code."""
    return list(
        session.scalars(
            select(OrgUnit).where(OrgUnit.level == Level.VILLAGE, OrgUnit.active.is_(True)).order_by(OrgUnit.code)
        )
    )


def public_items(session: Session) -> list[CatalogItem]:
    """The power list villagers see: flows an administrator reviewed and showed to them
    (:mod:`engine.definitions.listing`) that have a version in service, by number."""
    shown = listed(session)
    items = []
    for item in power_list(session):
        if item.key in shown:
            item.category, item.number = shown[item.key]
            item.versions = [v for v in item.versions or [] if not v["retired"]]
            if item.versions:
                item.name = item.versions[-1]["name"]
            items.append(item)
    return sorted(items, key=lambda item: (item.number, item.key))
