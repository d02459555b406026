"""A household's own lookup of its receipts, by door-plate code and the head's ID check."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.persistence.db import begin_write
from engine.public.masking import mask_name
from engine.public.subsidies.households import digest
from engine.public.subsidies.kinds import period_label, rules
from engine.public.subsidies.rosters import PUBLISHED
from engine.public.subsidies.rows import HOUSEHOLD_CODE, plain
from engine.public.subsidy_models import SubsidyEntry, SubsidyHousehold, SubsidyLookupAttempt, SubsidyRoster

WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt of a household: the kind and period, the head's name masked, what was paid."""

    kind_name: str
    period: str
    period_label: str
    name: str
    people: int | None
    amount_fen: int
    paid_on: str | None


@dataclass
class Lookup:
    """The answer to a household lookup: its receipts, a mismatch ("对不上", whichever part was wrong),
    or how long to wait."""

    matched: bool = False
    wait_seconds: int = 0
    code_locked: bool = False  # too many wrong checks for this household code today, from anywhere
    receipts: list[Receipt] = field(default_factory=list)
    total_fen: int = 0


_DUMMY_SALT = "00" * 32
MIN_LOOKUP_S = 0.05  # every answer takes at least this long: an unknown code answers like a wrong check


def lookup(session: Session, village_code: str, household_code: str, check: str, address: str | None) -> Lookup:
    """A household's receipts across kinds and periods, by its door-plate code and the last four
    characters of the head's ID. Every try counts against the sender (:func:`engine.public.throttle.sender`); the
    caller commits whatever the answer."""
    from engine.public.throttle import sender, wait_seconds
    from engine.public.villages import public_village

    started = time.monotonic()
    begin_write(session)
    village = public_village(session, village_code)
    who = sender(address)
    wait = wait_seconds(session, SubsidyLookupAttempt, who, rules().tries_per_hour, WINDOW)
    if wait:
        return Lookup(wait_seconds=wait)
    now = clock.now()
    session.execute(delete(SubsidyLookupAttempt).where(SubsidyLookupAttempt.at < now - KEEP))
    code = plain(household_code or "").upper()[:32]
    last4 = plain(check or "").upper()[:4]
    attempt = SubsidyLookupAttempt(address=who, at=now, village_id=village.id, code=code, matched=False)
    session.add(attempt)
    session.flush()
    wrong = session.scalar(
        select(func.count())
        .select_from(SubsidyLookupAttempt)
        .where(
            SubsidyLookupAttempt.village_id == village.id,
            SubsidyLookupAttempt.code == code,
            SubsidyLookupAttempt.matched.is_(False),
            SubsidyLookupAttempt.at > now - KEEP,
        )
    )
    if wrong > rules().wrong_per_code_per_day:  # counted whether the code exists or not: reveals nothing
        _pad(started)
        return Lookup(code_locked=True)
    household = None
    if code and HOUSEHOLD_CODE.match(code):
        household = session.scalar(
            select(SubsidyHousehold).where(SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code)
        )
    expected = digest(household.salt if household else _DUMMY_SALT, code, last4)
    kinds = rules().kinds
    rows = session.execute(
        select(SubsidyEntry, SubsidyRoster)
        .join(SubsidyRoster, SubsidyRoster.id == SubsidyEntry.roster_id)
        .where(
            SubsidyEntry.household_id == (household.id if household else -1),
            SubsidyEntry.check_digest == expected,
            SubsidyRoster.status == PUBLISHED,
        )
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind)
    ).all()
    result = Lookup()
    if rows and len(last4) == 4:
        result.matched = True
        for entry, roster in rows:
            kind = kinds.get(roster.kind)
            result.receipts.append(
                Receipt(
                    kind_name=kind.name if kind else roster.kind,
                    period=roster.period,
                    period_label=period_label(roster.period),
                    name=mask_name(entry.recipient_name),
                    people=entry.people,
                    amount_fen=entry.amount_fen,
                    paid_on=entry.paid_on,
                )
            )
            result.total_fen += entry.amount_fen
    attempt.matched = result.matched
    _pad(started)
    return result


def _pad(started: float) -> None:
    """Every answer takes at least :data:`MIN_LOOKUP_S`: an unknown code answers like a wrong check."""
    elapsed = time.monotonic() - started
    if elapsed < MIN_LOOKUP_S:
        time.sleep(MIN_LOOKUP_S - elapsed)
