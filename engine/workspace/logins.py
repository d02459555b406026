"""Password sign-in with rate limits kept in the database, so every web process counts the same attempts.

Three limits, each over the last :data:`WINDOW`:

- one user name from one address: :data:`PER_USER_AT_ADDRESS` failures since that pair's last success;
- one user name from any address: :data:`PER_USER` failures since the user's last success, so guesses
  spread over many addresses (a botnet) still stop;
- one address for any user name: :data:`PER_ADDRESS` failures, not lifted by a success, so one address
  cannot try every account (nor lift its own limit by signing in to an account it holds).

A refused attempt is not counted, so a lock always ends :data:`WINDOW` after the failures that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.org.passwords import check_password, hash_password
from engine.org.reserved import is_reserved
from engine.persistence.db import begin_write
from engine.persistence.models import User
from engine.texts import text
from engine.workspace.models import LoginAddressFailure, LoginAttempt

PER_USER_AT_ADDRESS = 5
PER_USER = 10
PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)

# What a refused sign-in says ({minutes}: how long to wait), as the catalogue words it.
WRONG = text("workspace.sign_in.wrong")
TOO_MANY_HERE = text("workspace.sign_in.too_many_here")
TOO_MANY_FOR_ACCOUNT = text("workspace.sign_in.too_many_for_account")
TOO_MANY_FROM_ADDRESS = text("workspace.sign_in.too_many_from_address")
MESSAGES = (WRONG, TOO_MANY_HERE, TOO_MANY_FOR_ACCOUNT, TOO_MANY_FROM_ADDRESS)

# Checked when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password("powerlist-no-such-user")


@dataclass
class LoginResult:
    user: User | None
    message: str | None = None  # why the login was refused; ``{minutes}`` is the wait
    wait_seconds: int = 0

    @property
    def wait_minutes(self) -> int:
        return (self.wait_seconds + 59) // 60

    def text(self) -> str | None:
        """The refusal in Chinese with the wait filled in."""
        return self.message.format(minutes=self.wait_minutes) if self.message else None


@dataclass(frozen=True)
class Lock:
    message: str
    wait_seconds: int


def _wait(session: Session, model: Any, where: list[Any], limit: int, since: datetime, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures matching ``where`` fall in the window; 0 when fewer now."""
    recent = list(
        session.scalars(select(model.at).where(*where, model.at > since).order_by(model.at.desc()).limit(limit))
    )
    if len(recent) < limit:
        return 0
    unlock = clock.as_utc(recent[-1]) + WINDOW
    return max(int((unlock - now).total_seconds()) + 1, 1)


def _since_success(session: Session, where: list[Any], now: datetime) -> datetime:
    since = now - WINDOW
    last = session.scalar(select(func.max(LoginAttempt.at)).where(*where, LoginAttempt.success.is_(True)))
    return max(since, clock.as_utc(last)) if last is not None else since


def lock(session: Session, username: str, address: str) -> Lock | None:
    """The longest of the limits ``username`` from ``address`` is held by now, or None."""
    now = clock.now()
    failed = LoginAttempt.success.is_(False)
    pair = [LoginAttempt.username == username, LoginAttempt.address == address]
    account = [LoginAttempt.username == username]
    waits = [
        (
            _wait(session, LoginAttempt, [*pair, failed], PER_USER_AT_ADDRESS, _since_success(session, pair, now), now),
            TOO_MANY_HERE,
        ),
        (
            _wait(session, LoginAttempt, [*account, failed], PER_USER, _since_success(session, account, now), now),
            TOO_MANY_FOR_ACCOUNT,
        ),
        (
            _wait(
                session, LoginAddressFailure, [LoginAddressFailure.address == address], PER_ADDRESS, now - WINDOW, now
            ),
            TOO_MANY_FROM_ADDRESS,
        ),
    ]
    wait, message = max(waits, key=lambda found: found[0])
    return Lock(message, wait) if wait else None


def wait_seconds(session: Session, username: str, address: str) -> int:
    """Seconds until ``username`` may try again from ``address``; 0 when they may now."""
    found = lock(session, username, address)
    return found.wait_seconds if found else 0


def record(session: Session, username: str, address: str, success: bool) -> None:
    """Count one password check of ``username`` from ``address``, and forget those older than :data:`KEEP`."""
    now = clock.now()
    session.add(LoginAttempt(username=username[:64], address=address[:64], at=now, success=success))
    if not success:
        session.add(LoginAddressFailure(address=address[:64], at=now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    session.execute(delete(LoginAddressFailure).where(LoginAddressFailure.at < now - KEEP))
    session.flush()


def attempt(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a password login and record the attempt; commit the transaction whatever the result."""
    begin_write(session)
    username = (username or "").strip()[:64]
    address = (address or "unknown")[:64]
    found = lock(session, username, address)
    if found is not None:
        return LoginResult(None, found.message, found.wait_seconds)
    user = None
    if username and not is_reserved(username):
        user = session.scalar(select(User).where(User.username == username))
    ok = check_password(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None
    ok = ok and user.active
    record(session, username, address, ok)
    if not ok:
        return LoginResult(None, WRONG)
    return LoginResult(user)
