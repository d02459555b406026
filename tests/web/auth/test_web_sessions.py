"""Sessions and sign-in security: signing out ends old cookies everywhere, sign-in renews the session,
remembered sign-in is short, the rate limits per account and per address, changing one's own
password and being made to change a password an administrator chose."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import PowerlistError
from tests.web.conftest import ADMIN, CHAIR, PASSWORD, SECRETARY

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SESSION_COOKIE = "powerlist_session"


def remember_cookie_name(app) -> str:
    return app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def login(client, username: str = SECRETARY, password: str = PASSWORD, remember: bool = False, address: str = ""):
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "1"
    environ = {"REMOTE_ADDR": address} if address else {}
    return client.post("/login", data=data, environ_base=environ)


def test_a_session_cookie_replayed_after_signing_out_is_refused(app, client):
    assert login(client).status_code == 302
    assert client.get("/desk").status_code == 200
    stolen = client.get_cookie(SESSION_COOKIE).value
    assert client.post("/logout").status_code == 302
    assert client.get("/desk").status_code == 302

    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    answer = replay.get("/desk")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_remember_cookie_replayed_after_signing_out_is_refused(app, client):
    assert login(client, remember=True).status_code == 302
    remembered = client.get_cookie(remember_cookie_name(app))
    assert remembered is not None
    # The remember cookie alone signs in (a browser restarted, its session cookie gone).
    fresh = app.test_client()
    fresh.set_cookie(remember_cookie_name(app), remembered.value)
    assert fresh.get("/desk").status_code == 200

    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie(remember_cookie_name(app), remembered.value)
    assert replay.get("/desk").status_code == 302


def test_signing_out_ends_the_users_sessions_on_every_device(app, client):
    phone = app.test_client()
    assert login(client).status_code == 302
    assert login(phone).status_code == 302
    assert phone.get("/desk").status_code == 200
    client.post("/logout")
    assert phone.get("/desk").status_code == 302
    assert login(phone).status_code == 302 and phone.get("/desk").status_code == 200


def test_signing_in_starts_a_new_session_and_csrf_secret(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    client.get("/lang/en?next=/login")
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    with client.session_transaction() as planted:
        secret_before = planted["csrf_token"]
        planted["planted_by_someone_else"] = "x"
    answer = client.post("/login", data={"username": SECRETARY, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302
    with client.session_transaction() as renewed:
        assert "planted_by_someone_else" not in renewed
        assert renewed.get("csrf_token") != secret_before
        assert renewed.get("lang") == "en"  # the language chosen stays
    # The old token no longer passes; the new page's token does.
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400
    page = client.get("/desk").data.decode()
    new_token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": new_token}).status_code == 302


def test_the_remember_cookie_lasts_two_weeks_at_most(app, client):
    assert login(client, remember=True).status_code == 302
    cookie = client.get_cookie(remember_cookie_name(app))
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.expires is not None
    assert cookie.expires <= datetime.now(UTC) + timedelta(days=14, minutes=1)
    assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=14)


def test_secure_cookies_when_asked(db_url, tmp_path, monkeypatch):
    from web import config

    monkeypatch.setenv("POWERLIST_SECURE_COOKIES", "1")
    from flask import Flask

    app = Flask(__name__, instance_path=str(tmp_path))
    config.load(app, {"DATABASE_URL": db_url, "SECRET_KEY": "x"})
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["SESSION_COOKIE_SECURE"]
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_one_account_is_locked_whatever_the_address(client):
    from engine.workspace import logins

    for n in range(logins.PER_USER):
        assert login(client, SECRETARY, "guess", address=f"10.9.0.{n}").status_code == 401
    locked = login(client, SECRETARY, PASSWORD, address="10.9.1.1")
    assert locked.status_code == 429
    assert "这个账号登录失败次数过多" in locked.data.decode()
    assert int(locked.headers["Retry-After"]) > 0
    assert login(client, CHAIR, PASSWORD, address="10.9.1.1").status_code == 302


def test_one_address_is_locked_whatever_the_account(client):
    from engine.workspace import logins

    for n in range(logins.PER_ADDRESS):
        assert login(client, f"nobody.{n}", "guess", address="10.8.0.1").status_code == 401
    locked = login(client, SECRETARY, PASSWORD, address="10.8.0.1")
    assert locked.status_code == 429 and "这个网络地址登录失败次数过多" in locked.data.decode()
    assert login(client, SECRETARY, PASSWORD, address="10.8.0.2").status_code == 302


def test_sign_in_and_password_messages_in_english(client):
    from engine.workspace import accounts, logins, people
    from web.messages import ENGLISH

    client.get("/lang/en")
    for _ in range(logins.PER_USER_AT_ADDRESS):
        login(client, SECRETARY, "guess")
    locked = login(client, SECRETARY, PASSWORD)
    assert locked.status_code == 429 and "minute" in locked.data.decode()

    messages = [*logins.MESSAGES, *accounts.MESSAGES]
    for password in ("short", "x" * 300):
        with pytest.raises(PowerlistError) as refused:
            people.check_password_strength(password)
        messages.append(str(refused.value))
    assert [m for m in messages if m not in ENGLISH] == []


def change(client, current: str, new: str, repeat: str | None = None):
    data = {"current_password": current, "new_password": new, "repeat_password": new if repeat is None else repeat}
    return client.post("/account/password", data=data)


def test_changing_ones_own_password(app, client):
    assert client.get("/account/password").status_code == 302  # signed-in users only
    login(client)
    page = client.get("/account/password")
    assert page.status_code == 200 and "修改密码" in page.data.decode()
    assert 'href="/account/password"' in client.get("/desk").data.decode()  # in the user menu

    wrong = change(client, "not-my-password", "only-i-know-this")
    assert wrong.status_code == 400 and "当前密码不对" in wrong.data.decode()
    mismatch = change(client, PASSWORD, "only-i-know-this", "only-i-know-thus")
    assert mismatch.status_code == 400 and "两次输入的新密码不一样" in mismatch.data.decode()
    weak = change(client, PASSWORD, "short")
    assert weak.status_code == 400 and "密码至少" in weak.data.decode()

    other_device = app.test_client()
    login(other_device)
    assert other_device.get("/desk").status_code == 200
    done = change(client, PASSWORD, "only-i-know-this")
    assert done.status_code == 302
    assert client.get("/desk").status_code == 200  # this session goes on
    assert other_device.get("/desk").status_code == 302  # the others end
    client.post("/logout")
    assert login(client, SECRETARY, PASSWORD).status_code == 401
    assert login(client, SECRETARY, "only-i-know-this").status_code == 302


def test_a_password_an_administrator_chose_must_be_changed_first(app, client, auth):
    login(client, ADMIN)
    reset = client.post(f"/admin/users/{SECRETARY}/password").data.decode()
    chosen = re.search(r'id="secret">([^<]+)<', reset).group(1)
    token_page = client.post(f"/admin/users/{SECRETARY}/tokens", data={"name": "对接"}).data.decode()
    token = re.search(r'id="secret">([^<]+)<', token_page).group(1)
    client.post("/logout")

    assert login(client, SECRETARY, chosen).status_code == 302
    for path in ("/desk", "/", f"/admin/users/{SECRETARY}"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/password"), path
    assert client.get("/account/password").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/lang/en?next=/account/password").status_code == 302
    # The API (bearer tokens) is not affected.
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.get_json()["username"] == SECRETARY

    assert change(client, chosen, "only-i-know-this").status_code == 302
    assert client.get("/desk").status_code == 200
    assert client.post("/logout").status_code == 302


def test_signing_out_is_possible_before_the_password_is_changed(client, demo_world):
    from engine.workspace import people

    with demo_world() as session, session.begin():
        people.set_password(session, ADMIN, SECRETARY, "chosen-by-admin")
    login(client, SECRETARY, "chosen-by-admin")
    assert client.get("/desk").status_code == 302
    answer = client.post("/logout")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
