"""Password sign-in with a rate limit per user name and address, kept in the database so every
web process counts the same attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.org.passwords import check_password, hash_password
from engine.persistence.db import begin_write
from engine.persistence.models import User
from engine.workspace.models import LoginAttempt

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)

# Checked when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password("powerlist-no-such-user")


@dataclass
class LoginResult:
    user: User | None
    message: str | None = None  # why the login was refused
    wait_seconds: int = 0


def wait_seconds(session: Session, username: str, address: str) -> int:
    """Seconds until ``username`` may try again from ``address``; 0 when they may now."""
    now = clock.now()
    since = now - WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.address == address, LoginAttempt.success.is_(True)
        )
    )
    if last_success is not None:
        since = max(since, clock.as_utc(last_success))
    failures = list(
        session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.address == address,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > since,
            )
            .order_by(LoginAttempt.at)
        )
    )
    if len(failures) < MAX_FAILURES:
        return 0
    unlock = clock.as_utc(failures[-MAX_FAILURES]) + WINDOW
    return max(int((unlock - now).total_seconds()) + 1, 1)


def attempt(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a password login and record the attempt; commit the transaction whatever the result."""
    begin_write(session)
    username = (username or "").strip()[:64]
    address = (address or "unknown")[:64]
    wait = wait_seconds(session, username, address)
    if wait:
        minutes = (wait + 59) // 60
        return LoginResult(None, f"登录失败次数过多，请 {minutes} 分钟后再试", wait)
    user = session.scalar(select(User).where(User.username == username)) if username else None
    ok = check_password(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None
    ok = ok and user.active
    now = clock.now()
    session.add(LoginAttempt(username=username, address=address, at=now, success=ok))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    session.flush()
    if not ok:
        return LoginResult(None, "用户名或密码不对")
    return LoginResult(user)
