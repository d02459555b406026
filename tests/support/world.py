"""The demo county the tests run on: one factory for the organisation, its users and deployed flows.

``county(sessions, *flows)`` loads the demo organisation and users into a migrated database and
deploys ``flows``; ``new_database(url)`` migrates a fresh database first. The fixtures built on
them are registered for every test by ``tests/conftest.py``:

- ``demo_world``: the demo county with the mini flow and 四议两公开 deployed (the sessionmaker);
- ``mini_world``: the demo county with the mini flow only (the sessionmaker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini" / "mini_decision.bpmn"
FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"


def new_database(url: str) -> tuple[Any, Any]:
    """The engine and sessionmaker of the database at ``url``, migrated to the current schema."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine, make_sessionmaker(engine)


def deploy(sessions, *flows: Path, actor: str = "admin") -> None:
    """Deploy ``flows`` (BPMN files) in one transaction."""
    from engine import api

    with sessions() as session, session.begin():
        for flow in flows:
            api.deploy_file(session, flow, actor)


def county(sessions, *flows: Path, organisation: bool = True, shipped: bool = False) -> Any:
    """The demo county in ``sessions``: its organisation and users (unless ``organisation`` is false,
    for a database that already has them) with every shipped flow when ``shipped``, then ``flows``
    deployed; returns ``sessions``."""
    from powerlist import demo

    if organisation:
        with sessions() as session, session.begin():
            demo.load_demo(session, deploy_flows=shipped)
    deploy(sessions, *flows)
    return sessions


@pytest.fixture
def demo_world(demo_org):
    """The demo organisation with the mini flow and 四议两公开 deployed; returns the sessionmaker."""
    return county(demo_org, MINI, FOUR, organisation=False)


@pytest.fixture
def mini_world(demo_org):
    """The demo organisation with the mini flow deployed; returns the sessionmaker."""
    return county(demo_org, MINI, organisation=False)
