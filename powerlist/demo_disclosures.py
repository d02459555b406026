"""Demo periodic disclosures (三务公开) of the demo villages: a year of them, mostly on time.

Each village's cadre prepares each period a few days after it ends, its 村监会 member signs it and the
cadre posts it before the due day; in 上塘村 (QX0101) one quarter's village affairs are posted late, and
in 下塘村 (QX0102) one month's finances were never posted, so the sweep raises ``disclosure_late`` for both.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST, as_local_day
from engine.public import disclosures as area
from engine.public.disclosure_models import Disclosure

LATE = ("QX0101", "village_affairs")  # the second newest quarter, posted late
MISSING = ("QX0102", "finance")  # the third newest month, never posted


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), CST).astimezone(UTC)


def load(session: Session, now: datetime, rng: random.Random, size: str) -> None:
    """Add this area's demo data (``size``: full, small or tiny, as the matters)."""
    from powerlist.demo_people import TOWNS

    if session.scalar(select(Disclosure.id).limit(1)) is not None:
        return  # loaded before
    rules = area.calendar_rules()
    today = as_local_day(now)
    slugs = {code: slug for _town, (_name, villages) in TOWNS.items() for code, (_v, slug) in villages.items()}
    # Every village (a county's calendar binds all its villages from the first period any of them
    # prepared); the small demo only a quarter of months and two quarters back.
    months, quarters = (12, 4) if size == "full" else (3, 2)
    for code, slug in slugs.items():
        for kind, rule in rules.kinds.items():
            periods = area.periods_ended(rules, kind, today, months if rule.every == "month" else quarters)
            for index, found in enumerate(reversed(periods)):
                newest = len(periods) - 1 - index
                if (code, kind) == MISSING and newest == 2:
                    continue
                prepared = found.last + timedelta(days=rng.randint(1, 4))
                posted = min(found.due - timedelta(days=rng.randint(0, 3)), today)
                if (code, kind) == LATE and newest == 1:
                    posted = min(found.due + timedelta(days=9), today)
                if posted <= prepared or prepared >= today:
                    continue
                clock.clock.set(_at(prepared, 9))
                row = area.prepare(session, f"{slug}.cadre", code, kind, found.key)
                clock.clock.set(_at(prepared, 16))
                area.review(session, f"{slug}.supervisor", code, kind, found.key, revision=row.revision, approve=True)
                clock.clock.set(_at(posted, 10))
                area.post(session, f"{slug}.cadre", code, kind, found.key, places=list(rules.places[:2]))
    clock.clock.set(now)
