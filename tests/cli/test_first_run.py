"""The first run: the command line refuses to make a new empty database in the wrong folder; the demo
loads a year of matters with each kind of violation once (a second run adds nothing) and gives every
role two holders in each unit, so 转办 has someone to go to."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine import clock
from engine.definitions import listing
from engine.persistence.models import (
    AuditLog,
    DefinitionVersion,
    HistoryEvent,
    Matter,
    OpenTask,
    OrgUnit,
    RoleAssignment,
    User,
)
from engine.supervision.models import Violation, ViolationEvent
from tests.conftest import Cli

VIOLATIONS = {
    "step_forced",
    "step_overdue",
    "payment_before_approval",
    "split_payment",
    "cash_above_limit",
    "paid_above_approved",
}


def _bare(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``powerlist ARGS`` run in ``folder`` with no POWERLIST_* variable: the default database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERLIST_")}
    return subprocess.run(
        [*Cli("sqlite://", folder).command, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_command_in_another_folder_refuses_instead_of_making_an_empty_database(tmp_path):
    expected = tmp_path / "instance" / "powerlist.sqlite"
    for args in (("tasks",), ("definitions", "--json")):
        refused = _bare(tmp_path, *args)
        assert refused.returncode == 1, (args, refused.stderr)
        assert str(expected) in refused.stderr and "POWERLIST_INSTANCE" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        assert not expected.exists(), f"powerlist {args[0]} made {expected}"
    # the demo (like init) creates it, says where, and says what it made
    made = _bare(tmp_path, "demo", "--size", "small")
    assert made.returncode == 0, made.stderr
    assert f"creating the database {expected}" in made.stderr and expected.exists()
    assert "demo matters:" in made.stdout and "step_forced" in made.stdout, made.stdout
    assert "shangtang.chair2" in made.stdout
    listed = _bare(tmp_path, "tasks", "--village", "QX0101")
    assert listed.returncode == 0 and listed.stdout.strip(), listed.stderr


def test_the_demo_makes_a_year_of_matters_once(db_engine, tmp_path):
    from engine.persistence.db import make_sessionmaker
    from powerlist import demo

    sessions = make_sessionmaker(db_engine)

    def counts() -> dict[str, int]:
        with sessions() as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (User, RoleAssignment, Matter, OpenTask, HistoryEvent, Violation, ViolationEvent)
            }

    with sessions() as session, session.begin():
        demo.load_demo(session)
    first = demo.load_matters(db_engine, "small", folder=tmp_path / "files")
    assert not first.already and not first.failed, first.failed
    made = counts()
    assert first.matters == made["Matter"]
    again = demo.load_matters(db_engine, "small", folder=tmp_path / "files")
    assert again.already and again.matters == made["Matter"]
    assert counts() == made, "a second demo added to the first"
    with sessions() as session, session.begin():
        demo.load_demo(session)  # the flows again: unchanged, and shown to villagers once
        shown = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "villager_list"))
        assert set(listing.listed(session)) == {path.stem for path in demo.shipped_flows()}
    assert shown == len(demo.shipped_flows())

    with sessions() as session:
        statuses = dict(
            session.execute(select(Matter.status, func.count()).group_by(Matter.status)).all()
        )
        keys = set(
            session.scalars(
                select(DefinitionVersion.key)
                .join(Matter, Matter.definition_version_id == DefinitionVersion.id)
                .distinct()
            )
        )
        started = session.scalars(select(Matter.started_at)).all()
        villages = set(
            session.scalars(
                select(OrgUnit.code).join(Matter, Matter.village_id == OrgUnit.id).distinct()
            )
        )
        codes = set(session.scalars(select(Violation.code).distinct()))
        handled = set(session.execute(select(Violation.status, Violation.outcome)).all())
    assert statuses.get("completed", 0) >= 15 and statuses.get("running", 0) >= 10, statuses
    assert len(keys) >= 8, keys  # (nearly) every shipped flow, in every demo village
    assert villages == {"QX0101", "QX0102", "QX0201", "QX0202"}
    spread = max(started) - min(started)
    assert spread > timedelta(days=200), f"the matters span only {spread}"
    assert clock.as_utc(max(started)) <= clock.now() and not clock.clock.simulated
    assert VIOLATIONS <= codes, VIOLATIONS - codes
    states = {status for status, _outcome in handled}
    assert {"acknowledged", "closed"} <= states and ("closed", "rectified") in handled, handled


def test_every_role_has_two_holders_in_each_unit_so_a_step_can_be_transferred(db_engine):
    from engine.persistence.db import make_sessionmaker
    from engine.workspace import operations
    from powerlist import demo

    sessions = make_sessionmaker(db_engine)
    with sessions() as session, session.begin():
        demo.load_demo(session, deploy_flows=False)
    with sessions() as session:
        holders = session.execute(
            select(OrgUnit.code, RoleAssignment.role, func.count())
            .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
            .group_by(OrgUnit.code, RoleAssignment.role)
        ).all()
    roles = {**demo.VILLAGE_ROLES, **demo.TOWN_ROLES, **demo.COUNTY_ROLES}
    units = 1 + len(demo.TOWNS) + sum(len(villages) for _name, villages in demo.TOWNS.values())
    assert {count for _unit, _role, count in holders} == {2}, holders
    assert len(holders) == len(demo.COUNTY_ROLES) + 2 * len(demo.TOWN_ROLES) + 4 * len(demo.VILLAGE_ROLES)
    assert units == 7 and set(roles) == {role for _unit, role, _count in holders}

    from engine import api
    from tests.web.conftest import FOUR

    with sessions() as session, session.begin():
        api.deploy_file(session, FOUR, "admin")
        started = api.start(session, "four_deliberations", "QX0101", "shangtang.secretary", {}, "村道硬化")
    with sessions() as session:
        task = session.scalars(select(OpenTask).where(OpenTask.instance_id == started.instance_id)).first()
        holder = demo.holder(task.role, "QX0101")
        others = [c["username"] for c in operations.transfer_candidates(session, task.id, holder)]
    assert others == [demo.holder(task.role, "QX0101", second=True)], others
