"""Accounts in the engine: reserved user names, passwords chosen by someone else, changing one's own
password, ending every session, and the sign-in rate limits per user name and per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import PowerlistError
from engine.persistence.models import AuditLog, User

SECRETARY = "shangtang.secretary"
CHAIR = "shangtang.chair"
ADMIN = "admin"
PASSWORD = "powerlist-demo"


def user_row(sessions, username: str) -> User:
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge(user)
        return user


@pytest.mark.parametrize("name", ["public", "system", "Public", "SYSTEM", " system "])
def test_the_names_the_engine_acts_under_cannot_be_taken(demo_org, name):
    from engine.org.service import ensure_user
    from engine.workspace import people

    with demo_org() as session, session.begin():
        with pytest.raises(PowerlistError, match="用户名.*系统保留") as refused:
            people.add_user(session, ADMIN, name, "冒充者", "long-enough-password")
        assert refused.value.field == "username"
        with pytest.raises(PowerlistError, match="系统保留"):
            ensure_user(session, name, "冒充者", password="long-enough-password")
    with demo_org() as session:
        assert session.scalar(select(User).where(User.username.in_(["public", "system", "Public", "SYSTEM"]))) is None


def test_every_pseudo_actor_of_the_engine_is_reserved():
    from engine.org.reserved import RESERVED_USERNAMES
    from engine.public.reports import ACTOR
    from engine.supervision.violations import SYSTEM

    assert {ACTOR, SYSTEM} <= RESERVED_USERNAMES


def test_a_user_named_like_a_pseudo_actor_cannot_sign_in(demo_org):
    """A row left from before the names were reserved is treated as no user at all."""
    from engine import clock
    from engine.org.passwords import hash_password
    from engine.workspace import logins

    with demo_org() as session, session.begin():
        session.add(
            User(username="public", display_name="x", password_hash=hash_password(PASSWORD), created_at=clock.now())
        )
    with demo_org() as session, session.begin():
        result = logins.attempt(session, "public", PASSWORD, "10.0.0.1")
    assert result.user is None and result.message == logins.WRONG


def test_a_password_someone_else_chose_must_be_changed(demo_org):
    from engine.workspace import people

    with demo_org() as session, session.begin():
        people.add_user(session, ADMIN, "wang.wu", "王五", "first-password")
        people.add_user(session, None, "zhao.liu", "赵六", "first-password")  # the command line
    assert user_row(demo_org, "wang.wu").must_change_password
    assert user_row(demo_org, "zhao.liu").must_change_password
    assert not user_row(demo_org, SECRETARY).must_change_password

    with demo_org() as session, session.begin():
        people.set_password(session, ADMIN, SECRETARY, "reset-by-admin")
    assert user_row(demo_org, SECRETARY).must_change_password
    with demo_org() as session, session.begin():
        people.set_password(session, None, CHAIR, "reset-on-the-command-line")
    assert user_row(demo_org, CHAIR).must_change_password
    with demo_org() as session, session.begin():
        people.set_password(session, ADMIN, ADMIN, "my-own-new-password")
    assert not user_row(demo_org, ADMIN).must_change_password


def test_wrong_current_password_is_counted_and_changes_nothing(demo_org):
    from engine.workspace import accounts, logins

    before = user_row(demo_org, SECRETARY)
    with demo_org() as session, session.begin():
        result = accounts.change_password(session, SECRETARY, "not-my-password", "brand-new-secret", "x", "10.0.0.9")
    assert result.user is None
    assert set(result.errors) == {"current", "repeat"}
    with demo_org() as session, session.begin():
        result = accounts.change_password(session, SECRETARY, PASSWORD, "short", "short", "10.0.0.9")
    assert set(result.errors) == {"new"} and "8" in result.errors["new"]
    with demo_org() as session, session.begin():
        result = accounts.change_password(session, SECRETARY, PASSWORD, PASSWORD, PASSWORD, "10.0.0.9")
    assert set(result.errors) == {"new"}
    after = user_row(demo_org, SECRETARY)
    assert after.password_hash == before.password_hash and after.session_generation == before.session_generation

    # Guessing the current password is limited like signing in.
    for _ in range(logins.PER_USER_AT_ADDRESS - 1):
        with demo_org() as session, session.begin():
            accounts.change_password(session, SECRETARY, "guess", "brand-new-secret", "brand-new-secret", "10.0.0.9")
    with demo_org() as session, session.begin():
        result = accounts.change_password(
            session, SECRETARY, PASSWORD, "brand-new-secret", "brand-new-secret", "10.0.0.9"
        )
    assert result.user is None and result.wait_seconds > 0 and "分钟后再试" in result.message


def test_changing_ones_own_password_ends_other_sessions_and_clears_the_flag(demo_org):
    from engine.org.passwords import check_password
    from engine.workspace import accounts, people
    from engine.workspace.access import auth_version

    with demo_org() as session, session.begin():
        people.set_password(session, ADMIN, SECRETARY, "chosen-by-admin")
    before = user_row(demo_org, SECRETARY)
    assert before.must_change_password
    with demo_org() as session, session.begin():
        result = accounts.change_password(
            session, SECRETARY, "chosen-by-admin", "only-i-know-this", "only-i-know-this", "10.0.0.9"
        )
        assert result.user is not None and result.errors == {}
    after = user_row(demo_org, SECRETARY)
    assert check_password(after.password_hash, "only-i-know-this")
    assert not after.must_change_password
    assert after.session_generation == before.session_generation + 1
    assert auth_version(after) != auth_version(before)
    with demo_org() as session:
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "password_change")).all()
    assert [(a.actor, a.subject) for a in logged] == [(SECRETARY, SECRETARY)]


def test_ending_sessions_changes_the_fingerprint_every_cookie_carries(demo_org):
    from engine.workspace import accounts
    from engine.workspace.access import auth_version

    before = user_row(demo_org, SECRETARY)
    with demo_org() as session, session.begin():
        accounts.end_sessions(session, before.id)
    after = user_row(demo_org, SECRETARY)
    assert after.session_generation == before.session_generation + 1
    assert after.password_hash == before.password_hash
    assert auth_version(after) != auth_version(before)


def attempt(sessions, username: str, password: str, address: str):
    from engine.workspace import logins

    with sessions() as session, session.begin():
        result = logins.attempt(session, username, password, address)
        return result.user is not None, result


def test_one_account_is_limited_across_every_address(demo_org):
    from engine.workspace import logins

    for n in range(logins.PER_USER):
        ok, _ = attempt(demo_org, SECRETARY, "guess", f"10.1.0.{n}")
        assert not ok
    ok, result = attempt(demo_org, SECRETARY, PASSWORD, "10.1.1.1")
    assert not ok and result.wait_seconds > 0 and result.message == logins.TOO_MANY_FOR_ACCOUNT
    assert attempt(demo_org, CHAIR, PASSWORD, "10.1.1.1")[0]  # other accounts are not affected


def test_one_address_is_limited_across_every_account(demo_org):
    from engine.workspace import logins

    names = [f"guess.{n}" for n in range(logins.PER_ADDRESS)]
    assert attempt(demo_org, CHAIR, PASSWORD, "10.2.0.1")[0]
    for name in names:
        assert not attempt(demo_org, name, "guess", "10.2.0.1")[0]
    ok, result = attempt(demo_org, SECRETARY, PASSWORD, "10.2.0.1")
    assert not ok and result.wait_seconds > 0 and result.message == logins.TOO_MANY_FROM_ADDRESS
    # Signing in successfully with an account of one's own does not lift the address's limit.
    assert not attempt(demo_org, CHAIR, PASSWORD, "10.2.0.1")[0]
    assert attempt(demo_org, SECRETARY, PASSWORD, "10.2.0.2")[0]


def test_limits_end_after_the_window(demo_org):
    from engine import clock
    from engine.workspace import logins

    start = clock.now()
    try:
        clock.clock.set(start)
        for n in range(logins.PER_USER):
            attempt(demo_org, SECRETARY, "guess", f"10.3.0.{n}")
        ok, result = attempt(demo_org, SECRETARY, PASSWORD, "10.3.1.1")
        assert not ok and 0 < result.wait_seconds <= logins.WINDOW.total_seconds() + 1
        clock.clock.set(start + logins.WINDOW + timedelta(seconds=1))
        assert attempt(demo_org, SECRETARY, PASSWORD, "10.3.1.1")[0]
    finally:
        clock.clock.set(None)
