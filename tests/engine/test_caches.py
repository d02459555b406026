"""What the engine keeps from one database is never seen through another in the same process."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.pool import StaticPool

from engine import api, caches
from engine.org.units import unit_chain
from engine.persistence.models import DefinitionVersion, OrgUnit
from engine.runtime.loaded import loaded
from engine.supervision import rules
from tests.conftest import MINI

OVERRIDE = 'supervision:\n  version: "override"\n'


def in_memory():
    """A fresh database in memory: every such database has the same URL, ``sqlite://``."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    engine = make_engine("sqlite://", poolclass=StaticPool)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        demo.load_demo(session, deploy_flows=False)
    return engine, sessions


@pytest.fixture
def two():
    caches.clear_all()
    first, second = in_memory(), in_memory()
    yield first[1], second[1]
    first[0].dispose()
    second[0].dispose()
    caches.clear_all()


def test_org_unit_chains_are_kept_per_database(two):
    first, second = two
    with second() as session, session.begin():
        session.execute(update(OrgUnit).where(OrgUnit.code == "QX0101").values(name="另一个村"))
    with first() as session:
        village = session.scalar(select(OrgUnit).where(OrgUnit.code == "QX0101"))
        assert unit_chain(session, village.id)[0].name != "另一个村"
    with second() as session:
        assert unit_chain(session, village.id)[0].name == "另一个村"


def test_restored_definitions_are_kept_per_database(two):
    first, second = two
    with second() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
        session.execute(update(DefinitionVersion).values(version=7))
    with first() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
    with first() as session:
        assert loaded(session.scalar(select(DefinitionVersion))).version == 1
    with second() as session:
        assert loaded(session.scalar(select(DefinitionVersion))).version == 7


def test_rule_books_are_kept_per_database(two):
    first, second = two
    with first() as session, session.begin():
        rules.activate(session, OVERRIDE, "admin")
    with first() as session:
        assert rules.rules_for(session, "QX").label.startswith("override@")
    with second() as session:
        assert not rules.rules_for(session, "QX").label.startswith("override")


def test_clear_all_empties_every_registered_cache(two):
    first, _ = two
    with first() as session:
        village = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))
        chain = unit_chain(session, village)
        caches.clear_all()
        assert unit_chain(session, village) is not chain
