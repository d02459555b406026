"""Signing in: passwords, the rate limit, cookies, CSRF, ending sessions, the language switch."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, SECRETARY

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_login_and_logout(client, auth):
    assert client.get("/desk").status_code == 302
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.data.decode()
    wrong = auth.login(SECRETARY, "wrong-password")
    assert wrong.status_code == 401 and "用户名或密码不对" in wrong.data.decode()
    assert auth.login(SECRETARY).status_code == 302
    cookie = client.get_cookie("powerlist_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get("/desk").status_code == 200
    auth.logout()
    assert client.get("/desk").status_code == 302


def test_repeated_failures_lock_the_name_from_that_address(client, auth):
    for _ in range(5):
        assert auth.login(SECRETARY, "guess").status_code == 401
    locked = auth.login(SECRETARY, PASSWORD)
    assert locked.status_code == 429 and "分钟后再试" in locked.data.decode()
    # Another user from the same address is not locked out.
    assert auth.login("shangtang.chair", PASSWORD).status_code == 302


def test_a_changed_password_or_deactivation_ends_open_sessions(client, auth, demo_world):
    from engine.workspace import people

    auth.login(SECRETARY)
    assert client.get("/desk").status_code == 200
    with demo_world() as session, session.begin():
        people.set_password(session, None, SECRETARY, "a-new-password")
    assert client.get("/desk").status_code == 302
    assert auth.login(SECRETARY, "a-new-password").status_code == 302
    with demo_world() as session, session.begin():
        people.set_active(session, None, SECRETARY, False)
    assert client.get("/desk").status_code == 302
    assert auth.login(SECRETARY, "a-new-password").status_code == 401


def test_forms_need_the_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/login", data={"username": SECRETARY, "password": PASSWORD})
    assert refused.status_code == 400 and "页面已过期" in refused.data.decode()
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    accepted = client.post("/login", data={"username": SECRETARY, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_the_secret_key_is_generated_once_into_the_instance_folder(db_url, tmp_path, monkeypatch):
    from web import create_app

    monkeypatch.delenv("POWERLIST_SECRET_KEY", raising=False)
    monkeypatch.setenv("POWERLIST_INSTANCE", str(tmp_path / "instance"))
    first = create_app({"DATABASE_URL": db_url}).config["SECRET_KEY"]
    second = create_app({"DATABASE_URL": db_url}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_english_on_request_and_remembered(client, auth):
    page = client.get("/login").data.decode()
    assert "用户名" in page and 'lang="zh-CN"' in page
    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    page = client.get("/login").data.decode()
    assert "User name" in page and 'lang="en"' in page
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
