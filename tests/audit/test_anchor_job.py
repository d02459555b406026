"""The scheduler anchors the history once a day, just before midnight China time."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.audit.models import HistoryAnchor
from engine.calendar import CST
from engine.supervision import scheduler


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
