"""Warnings in two towns for the supervisors' worklist, on the supervision World."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from engine import api, clock
from engine.persistence.models import OrgUnit
from engine.supervision.violations import Finding, book_for_village, raise_violation
from tests.engine.supervision.conftest import World

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
AGENCY = {"QX0101": "dongxi.agency", "QX0102": "dongxi.agency", "QX0201": "xiling.agency"}
STARTERS = {"QX0101": "shangtang.secretary", "QX0102": "xiatang.secretary", "QX0201": "lingtou.secretary"}


def start(world: World, village: str, title: str) -> int:
    with world.sessions() as session, session.begin():
        instance = api.start(session, "mini_decision", village, STARTERS[village], None, title).instance_id
    world.complete(instance, "propose", PROPOSE)
    return instance


def forced(world: World, village: str, title: str) -> tuple[int, int]:
    """A matter whose 决议 step was forced: (matter, its red warning, which starts with the town)."""
    instance = start(world, village, title)
    world.force(instance, "resolve", "会议无法召开", {"votes_for": 1, "present": 1}, actor=AGENCY[village])
    return instance, world.violations(instance, "step_forced")[0]["id"]


def warning(world: World, instance: int, village: str, code: str = "step_overdue", key: str = "") -> int:
    """A warning of ``code`` on the matter, as a detector raises it (its colour from the rules)."""
    with world.sessions() as session, session.begin():
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == village))
        found = raise_violation(
            session,
            book_for_village(session, unit.id),
            Finding(
                code=code,
                village_id=unit.id,
                dedup_key=f"test:{code}:{instance}:{key}",
                message=f"测试预警 {code}",
                instance_id=instance,
                step_id="resolve",
                responsible_role="committee_chair",
            ),
            clock.now(),
        )
        return found.id


@dataclass
class Warnings:
    world: World
    matter: int  # 上塘村道修缮 in QX0101 (上塘村, town QX01)
    red: int  # on it, with the town from the start
    yellow: int  # on it, with the village committee
    blue: int  # on it, with the village committee
    neighbour: int  # yellow, QX0102 (下塘村, same town)
    far: int  # yellow, QX0201 (岭头村, town QX02)


@pytest.fixture
def warnings(world, now) -> Warnings:
    from datetime import timedelta

    matter, red = forced(world, "QX0101", "上塘村道修缮")
    now(timedelta(hours=1))
    yellow = warning(world, matter, "QX0101")
    now(timedelta(hours=2))
    blue = warning(world, matter, "QX0101", "step_due_soon")
    neighbour = warning(world, start(world, "QX0102", "下塘水渠"), "QX0102")
    far = warning(world, start(world, "QX0201", "岭头桥梁"), "QX0201")
    return Warnings(world, matter, red, yellow, blue, neighbour, far)
