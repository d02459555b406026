"""The scheduler anchors the history once a day, just before midnight China time."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import scheduler
from engine.audit.models import HistoryAnchor
from engine.calendar import CST


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_daily_anchor_job(db_engine, sessions):
    running = scheduler.start_scheduler(db_engine, interval_s=3600)
    try:
        job = running.get_job(scheduler.ANCHOR_JOB_ID)
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 22, 10, 0, tzinfo=CST))
        assert fire == datetime(2026, 11, 22, 23, 55, tzinfo=CST)
    finally:
        running.shutdown(wait=False)
    scheduler._anchor(db_engine)
    scheduler._anchor(db_engine)  # a second scheduler finds it made
    with sessions() as session:
        assert len(session.scalars(select(HistoryAnchor)).all()) == 1


def test_supervision_is_the_violation_source_of_the_audit_views(demo_org):
    from engine import api
    from engine.audit import replay
    from tests.conftest import MINI

    sessions = demo_org
    with sessions() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
        clean = api.start(session, "mini_decision", "QX0101", "shangtang.secretary").instance_id
        forced = api.start(session, "mini_decision", "QX0101", "shangtang.secretary")
    with sessions() as session, session.begin():
        api.force(session, forced.opened[0]["id"], "dongxi.agency", "提议人外出", {"subject": "修路", "amount_fen": 1})
    with sessions() as session:
        flagged = replay.matters(session, has_violations=True)
        unflagged = replay.matters(session, has_violations=False)
    assert forced.instance_id in _ids(flagged) and clean not in _ids(flagged)
    assert clean in _ids(unflagged)


def _ids(listing: dict) -> set[int]:
    return {row["id"] for row in listing["matters"]}
