"""The sweeping scheduler: APScheduler only says "sweep now"; the timers themselves live in the database.

Its job store is in memory and holds one interval job, so any number of web and scheduler processes
may run one each (APScheduler job stores must never be shared). Every tick is one cheap index probe
when nothing is due, so ticking every second keeps the lag from due time to firing under two seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from engine import bootstrap
from engine.calendar import CST
from engine.supervision.sweep import sweep

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
JOB_ID = "powerlist-sweep"
ANCHOR_JOB_ID = "powerlist-anchor"
HOURLY_ANCHOR_JOB_ID = "powerlist-anchor-hourly"

# Libraries whose INFO lines would drown the sweep's own: SpiffWorkflow writes one per task state
# change ("spiff", "spiff.task", "spiff.workflow", ...), APScheduler one per tick.
QUIET_LOGGERS = ("spiff", "apscheduler")


def quiet_libraries() -> None:
    """Log only warnings and errors of the noisy libraries, however the process set up its logging."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
        for child, logger in list(logging.root.manager.loggerDict.items()):
            if child.startswith(f"{name}.") and isinstance(logger, logging.Logger):
                if logging.NOTSET < logger.level < logging.WARNING:  # NOTSET ones follow their parent
                    logger.setLevel(logging.WARNING)


def _tick(engine: Engine, budget_s: float) -> None:
    try:
        report = sweep(engine, budget_s=budget_s)
    except Exception:  # a failed tick is retried by the next one
        log.exception("sweep failed")
        return
    if report.fired:
        log.info("sweep fired %d timer(s)", len(report.fired))


def _anchor(engine: Engine, hourly: bool = False) -> None:
    """The day's (or, ``hourly``, this hour's) digest over all history and violation chains; every
    scheduler tries, the first one makes it."""
    from engine.audit.anchor import make_anchor
    from engine.persistence.db import make_sessionmaker

    hour = datetime.now(UTC).astimezone(CST).hour if hourly else None
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            anchor = make_anchor(session, hour=hour)
        log.info("history anchor %s: %s", anchor.label, anchor.digest)
    except Exception:  # another process made it first, or the record is broken: logged for the auditors
        log.exception("anchor failed")


def start_scheduler(engine: Engine, interval_s: float = INTERVAL_S) -> BackgroundScheduler:
    """Start a background scheduler that sweeps every ``interval_s`` seconds, beginning now, and
    anchors the history once a day just before midnight, China time, and at :55 of every hour when
    the rule value ``anchors.every`` is ``hour``."""
    bootstrap()
    quiet_libraries()
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        _tick,
        "interval",
        seconds=interval_s,
        args=[engine, max(interval_s * 0.8, 0.2)],
        id=JOB_ID,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(_anchor, "cron", hour=23, minute=55, timezone=CST, args=[engine], id=ANCHOR_JOB_ID)
    from engine.audit.anchor import period as anchor_period

    if anchor_period() == "hour":
        scheduler.add_job(_anchor, "cron", minute=55, timezone=CST, args=[engine, True], id=HOURLY_ANCHOR_JOB_ID)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine, interval_s: float = INTERVAL_S) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler = start_scheduler(engine, interval_s)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
