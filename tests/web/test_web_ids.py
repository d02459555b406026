"""Ids larger than the database holds are "not found", on every route and on the command line."""

from __future__ import annotations

import re
import uuid

import pytest

from engine.errors import NotFound
from engine.persistence.ids import MAX_BIG_ID, MAX_ID, parse_id, require_id, valid_id
from tests.web.conftest import ADMIN, SECRETARY, start_mini, task_id_from

HUGE = ["99999999999999999999", str(2**63), str(MAX_BIG_ID), str(2**31), str(MAX_ID), "0", "9" * 5000]
VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
OTHER_VALUES = {
    "key": "mini_decision",
    "username": ADMIN,
    "code": "QX0101",
    "sha256": "0" * 64,
    "task_id": str(uuid.UUID(int=1)),
    "receipt": "ABCD-EFGH-JKLM",
}


def id_routes(app) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) of every route taking an ``int`` part."""
    found = []
    for rule in app.url_map.iter_rules():
        if not any(m.group("converter") == "int" for m in VARIABLE.finditer(rule.rule)):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method, rule.endpoint))
    return found


def url_with(rule: str, number: str) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group("converter") == "int":
            return number
        return OTHER_VALUES.get(match.group("name"), "x")

    return VARIABLE.sub(value, rule)


def test_every_id_route_answers_a_huge_id_with_a_client_error(app, client, auth, demo_world):
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        bearer = {u: tokens.create(session, u, "ids", None) for u in (ADMIN, SECRETARY)}
    routes = id_routes(app)
    assert len(routes) >= 10, routes
    for user in (ADMIN, SECRETARY):
        auth.logout()
        assert auth.login(user).status_code in (302, 303)
        headers = {"Authorization": f"Bearer {bearer[user]}"}
        for rule, method, endpoint in routes:
            for number in HUGE:
                url = url_with(rule, number)
                if url.startswith("/api/"):
                    answer = client.open(url, method=method, headers=headers, json={})
                else:
                    answer = client.open(url, method=method, data={})
                assert answer.status_code < 500, (user, method, url[:120], endpoint, answer.status_code)
                if number not in (str(MAX_ID),):
                    assert answer.status_code in (401, 403, 404, 405), (user, method, url[:120], answer.status_code)


def test_ordinary_ids_still_reach_their_pages(client, auth, demo_world):
    from engine import queries

    auth.login(SECRETARY)
    task = task_id_from(start_mini(client))
    with demo_world() as session:
        matter = next(t.instance for t in queries.open_tasks(session) if t.id == task)
    assert client.get(f"/matters/{matter}").status_code == 200
    assert client.get(f"/matters/{matter:05d}").status_code == 200
    assert client.get(f"/matters/{matter + 1_000_000}").status_code == 404
    assert client.get("/matters/-1").status_code == 404
    assert client.get("/matters/٣").status_code == 404


def test_id_helpers() -> None:
    assert valid_id(1) and valid_id(MAX_BIG_ID) and not valid_id(MAX_BIG_ID + 1)
    assert valid_id(MAX_ID, big=False) and not valid_id(MAX_ID + 1, big=False)
    assert not valid_id(0) and not valid_id(True) and not valid_id("1")
    assert parse_id(" 0042 ") == 42 and parse_id("42") == 42 and parse_id(42) == 42
    for bad in ("", "-1", "1e3", "４２", "٣", "9" * 5000, str(2**63), None, 1.0, 2**63):
        assert parse_id(bad) is None, bad
    assert parse_id(str(2**31), big=False) is None and parse_id(str(2**31)) == 2**31
    with pytest.raises(NotFound, match="no matter 99999"):
        require_id("99999999999999999999", "matter")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_refuses_huge_ids_as_invalid_input(cli, demo_world):
    for args in (
        ("history", "99999999999999999999"),
        ("history", str(2**63)),
        ("verify", "--instance", str(2**63)),
        ("receipt", "9223372036854775808"),
        ("history", "0"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert "is not an id" in result.err
    assert cli("history", str(MAX_BIG_ID)).code == 1
