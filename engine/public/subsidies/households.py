"""Households by door-plate code, and the digest that lets a household look up its own receipts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.persistence.models import OrgUnit
from engine.public.subsidies.rows import plain
from engine.public.subsidy_models import SubsidyEntry, SubsidyHousehold


def digest(salt: str, household_code: str, last4: str) -> str:
    """HMAC-SHA256, under the household's salt, of its code and the last four characters of the head's ID."""
    message = f"{household_code}|{plain(last4).upper()}".encode()
    return hmac.new(bytes.fromhex(salt), message, hashlib.sha256).hexdigest()


def _new_household(session: Session, village: OrgUnit, code: str | None, now: datetime) -> SubsidyHousehold:
    if code is None:
        count = session.scalar(select(func.count(SubsidyHousehold.id)).where(SubsidyHousehold.village_id == village.id))
        number = (count or 0) + 1
        while True:
            code = f"{village.code}-{number:04d}"
            taken = session.scalar(
                select(SubsidyHousehold.id).where(
                    SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code
                )
            )
            if taken is None:
                break
            number += 1
    household = SubsidyHousehold(village_id=village.id, code=code, salt=secrets.token_hex(32), created_at=now)
    session.add(household)
    session.flush()
    return household


def household_for(
    session: Session, village: OrgUnit, code: str, name: str, last4: str, now: datetime, made: dict[str, Any]
) -> SubsidyHousehold:
    """The household by its code (made when new); without a code, the village's household whose earlier
    entry has the same name and head's check, else a new one with a code of the system's."""
    if code:
        if code in made:
            return made[code]
        household = session.scalar(
            select(SubsidyHousehold).where(SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code)
        )
        made[code] = household or _new_household(session, village, code, now)
        return made[code]
    candidates = session.execute(
        select(SubsidyHousehold, SubsidyEntry.check_digest)
        .join(SubsidyEntry, SubsidyEntry.household_id == SubsidyHousehold.id)
        .where(SubsidyHousehold.village_id == village.id, SubsidyEntry.recipient_name == name)
    ).all()
    for household, check in candidates:
        if hmac.compare_digest(check, digest(household.salt, household.code, last4)):
            return household
    return _new_household(session, village, None, now)


def masked_id(number: str) -> str:
    return number[:6] + "*" * (len(number) - 6)
