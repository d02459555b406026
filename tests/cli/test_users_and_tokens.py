"""``powerlist user …`` and ``powerlist token create`` from the command line."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_users_and_tokens_from_the_command_line(cli, db_url):
    cli("init", check=True)
    cli("demo", "--no-matters", check=True)
    cli("unit", "add", "QX0103", "中塘村", "--level", "village", "--parent", "QX01", check=True)
    assert cli("unit", "add", "QX0104", "下塘村", "--level", "village", "--parent", "QX").code == 1
    added = cli(
        "user",
        "add",
        "zhao.liu",
        "--name",
        "赵六",
        "--generate-password",
        "--role",
        "cadre",
        "--unit",
        "QX0101",
        check=True,
    )
    password = added.out.split("password: ")[1].strip()
    assert len(password) >= 8
    assert cli("user", "add", "zhao.liu", "--name", "赵六", "--password", "another-password").code == 1
    assert cli("user", "grant", "zhao.liu", "town_agency", "QX0101").code == 1
    cli("user", "grant", "zhao.liu", "bookkeeper", "QX0103", check=True)
    cli("user", "passwd", "zhao.liu", "--password", "-", check=False)
    token = cli("token", "create", "--as", "zhao.liu", "--name", "对接", check=True).out.strip()
    assert token.startswith("plt_")
    listed = cli("token", "list", "--json", check=True).json()
    assert listed[0]["username"] == "zhao.liu" and token not in str(listed)
    cli("user", "deactivate", "zhao.liu", check=True)
    users = {u["username"]: u for u in cli("user", "list", "--json", check=True).json()}
    assert users["zhao.liu"]["active"] is False
    assert {r["role"] for r in users["zhao.liu"]["roles"]} == {"cadre", "bookkeeper"}

    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.workspace import tokens

    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        assert tokens.user_for(session, token) is None  # a deactivated user's token stops working
    engine.dispose()
    assert cli("token", "create", "--as", "nobody").code == 1
