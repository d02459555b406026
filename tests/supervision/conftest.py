"""Supervision fixtures: a settable clock, flows deployed on demand, and a small driver for matters."""

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

DATA = Path(__file__).resolve().parent / "data"
TIMED = DATA / "timed" / "timed_posting.bpmn"
# Monday 2 November 2026, 09:00 China time: no holiday within the next weeks.
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

VILLAGE = "QX0101"
STARTER = "shangtang.secretary"


@pytest.fixture(autouse=True)
def _county_allows_waivers(monkeypatch):
    """Waived checks as a county whose waiver rules admit every exception records them: the violations
    they raise are what these tests read (by default a statutory check admits none, see test_runtime)."""
    from engine.workspace import waivers

    monkeypatch.setattr(waivers, "rules", lambda: {"default": True, "flows": {}})


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
        with self.sessions() as session, session.begin():
            for path in paths:
                api.deploy_file(session, path, "admin")

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
    result = World(demo_org, db_engine)
    result.deploy(MINI)
    return result


@pytest.fixture
def rectification_flow(world) -> World:
    world.deploy(shipped("rectification"))
    return world
