"""The demo county the tests run on: one factory for the organisation, its users and deployed flows.

``demo_county(sessions, *flows)`` loads the demo organisation and users into a migrated database and
deploys ``flows``; ``new_database(url)`` migrates a fresh database first. The fixtures built on
them are registered for every test by ``tests/conftest.py``:

- ``demo_world``: the demo county with the mini flow and 四议两公开 deployed (the sessionmaker);
- ``mini_world``: the demo county with the mini flow only (the sessionmaker);
- ``world``: a :class:`World` that drives matters of the demo village through the engine API, the
  mini flow deployed and the engine clock at ``T0`` (``now`` moves it); ``rectification_flow``
  adds the shipped 整改 flow.

Fixtures of one module that build a county of their own are named after what they hold
(``matrix_world``, ``fields_world``, ``audited`` ...) and build it with these functions too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import api, clock, queries
from engine.persistence.models import OpenTask, RoleAssignment, User
from tests.conftest import MINI, ROOT
from tests.support import files

FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
# Monday 2 November 2026, 09:00 China time: no holiday within the next weeks.
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

VILLAGE = "QX0101"
STARTER = "shangtang.secretary"


def new_database(url: str) -> tuple[Any, Any]:
    """The engine and sessionmaker of the database at ``url``, migrated to the current schema."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine, make_sessionmaker(engine)


def deploy(sessions, *flows: Path, actor: str = "admin") -> None:
    """Deploy ``flows`` (BPMN files) in one transaction."""
    with sessions() as session, session.begin():
        for flow in flows:
            api.deploy_file(session, flow, actor)


def demo_county(sessions, *flows: Path, organisation: bool = True, shipped: bool = False) -> Any:
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
    return demo_county(demo_org, MINI, FOUR, organisation=False)


@pytest.fixture
def mini_world(demo_org):
    """The demo organisation with the mini flow deployed; returns the sessionmaker."""
    return demo_county(demo_org, MINI, organisation=False)


def shipped(key: str) -> Path:
    """A shipped flow, or skip the test when it is not (yet) in processes/ or does not validate."""
    path = ROOT / "processes" / key / f"{key}.bpmn"
    if not path.is_file():
        pytest.skip(f"processes/{key} is not there yet")
    report = api.validate_file(path)
    if not report.ok:
        pytest.skip(f"processes/{key} does not validate yet: {report.problems[0]}")
    return path


@dataclass
class World:
    """Drives matters of the demo village through the engine API, one transaction per call."""

    sessions: Any
    engine: Any

    def deploy(self, *paths: Path) -> None:
        deploy(self.sessions, *paths)

    def start(self, key: str, data: dict | None = None, village: str = VILLAGE) -> int:
        with self.sessions() as session, session.begin():
            return api.start(session, key, village, STARTER, data).instance_id

    def tasks(self, instance_id: int) -> list[dict]:
        with self.sessions() as session:
            return [t for t in queries.open_tasks(session) if t.instance == instance_id]

    def task(self, instance_id: int, step: str | None = None) -> dict:
        found = [t for t in self.tasks(instance_id) if step is None or t.step == step]
        assert found, f"no open task {step or ''} in instance {instance_id}: {self.tasks(instance_id)}"
        return found[0]

    def holder(self, task_id: str) -> str:
        """A demo user who may do the task: holds its role in its unit."""
        with self.sessions() as session:
            return session.scalar(
                select(User.username)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .join(
                    OpenTask,
                    (OpenTask.role == RoleAssignment.role) & (OpenTask.org_unit_id == RoleAssignment.org_unit_id),
                )
                .where(OpenTask.id == task_id)
                .order_by(User.username)
                .limit(1)
            )

    def complete(self, instance_id: int, step: str, data: dict, actor: str | None = None, waive: str | None = None):
        task = self.task(instance_id, step)
        actor = actor or self.holder(task.id)
        with self.sessions() as session, session.begin():
            return files.complete(session, task.id, actor, data, waive)

    def force(self, instance_id: int, step: str, reason: str, data: dict | None = None, actor: str = "dongxi.agency"):
        task = self.task(instance_id, step)
        with self.sessions() as session, session.begin():
            return api.force(session, task.id, actor, reason, data)

    def run(self, instance_id: int, steps: dict[str, dict]) -> None:
        for step, data in steps.items():
            self.complete(instance_id, step, data)

    def sweep(self, when: datetime | None = None):
        from engine.supervision.sweep import sweep

        if when is not None:
            clock.clock.set(when)
        return sweep(self.engine)

    def violations(self, instance_id: int | None = None, code: str | None = None) -> list[dict]:
        from engine.supervision.queries import list_violations

        with self.sessions() as session:
            rows = list_violations(session, instance_id=instance_id)
        return [asdict(v) for v in rows if code is None or v.code == code]

    def detail(self, violation_id: int) -> dict:
        from engine.supervision.queries import violation_detail

        with self.sessions() as session:
            return asdict(violation_detail(session, violation_id))

    def history(self, instance_id: int) -> list[dict]:
        with self.sessions() as session:
            return queries.history(session, instance_id)

    def sole_holders(self, *usernames: str) -> None:
        """Make each user the only holder of their roles: the demo gives every role a second holder
        (``<username>2``), and a warning names a person only where one person holds the role."""
        from sqlalchemy import delete

        with self.sessions() as session, session.begin():
            seconds = session.scalars(select(User.id).where(User.username.in_([f"{u}2" for u in usernames])))
            session.execute(delete(RoleAssignment).where(RoleAssignment.user_id.in_(list(seconds))))

    def timers(self, **where) -> list:
        from engine.supervision.models import SupervisionTimer

        with self.sessions() as session:
            query = select(SupervisionTimer).order_by(SupervisionTimer.id)
            for name, value in where.items():
                query = query.where(getattr(SupervisionTimer, name) == value)
            return list(session.scalars(query))


@pytest.fixture
def now():
    """The engine clock at T0; call it with a time or an offset from T0 to move it."""
    clock.install()

    def move(when: datetime | timedelta) -> datetime:
        target = T0 + when if isinstance(when, timedelta) else when
        clock.clock.set(target)
        return target

    move(T0)
    yield move
    clock.clock.set(None)


@pytest.fixture
def world(demo_org, db_engine, now) -> World:
    from engine.supervision import rules

    rules.reset()
    return World(demo_county(demo_org, MINI, organisation=False), db_engine)


@pytest.fixture
def rectification_flow(world) -> World:
    world.deploy(shipped("rectification"))
    return world
