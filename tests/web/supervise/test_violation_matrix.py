"""The access matrix of violation handling: every handling action, for every kind of user, through
every adapter (the page's POST route, the API's, the command line).

The access policy is the oracle: a user who may not read the warning (``violation.read``) is told it
does not exist (404, ``violation.not_found``); one who reads it but may not do the action
(``violation.handle``, or ``violation.rectify`` for the owner's report) is refused (403); anyone else
gets it done. Each case works on a warning of its own, put in the state the action starts from, so
the verdict is the policy's alone; a refused case must leave the database as it was.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine import policy
from engine.errors import PowerlistError
from engine.messages import describe
from engine.supervision.handling import ACTIONS, POLICY, handle
from engine.supervision.models import SupervisionTimer, Violation, ViolationEvent
from tests.support.webapp import served
from tests.web.supervise.conftest import start, warning

PASSWORD = "powerlist-demo"
VILLAGE = "QX0101"
# The kinds of user, by the user standing for each; the warnings are in 上塘村 (QX0101, town QX01),
# with its village committee, their rectification owned by the village's committee chair.
ROLE_USERS = {
    "village_supervisor": "shangtang.supervisor",
    "other_village_supervisor": "xiatang.supervisor",
    "town_discipline": "dongxi.discipline",
    "other_town_discipline": "xiling.discipline",
    "county_discipline": "county.discipline",
    "auditor": "county.auditor",
    "owner": "shangtang.chair",
    "cadre": "shangtang.cadre",
    "admin": "admin",
}
FIELDS = {
    "assign": {"owner_role": "committee_chair", "owner_user": "shangtang.chair", "deadline": "2026-11-20"},
}
NOTE = "已核实处理"
ADAPTERS = ["web", "api", "cli"]
# Every POST route and command of the matrix, by endpoint or command path.
ROUTES = {"supervise.act": "web", "api.violation_action": "api"}
COMMANDS = {("violation", name) for name in ("ack", "assign", "rectify", "accept", "reject", "escalate", "close")}


def _expected(session, user: str, violation: Violation, action: str) -> tuple[str, PowerlistError | None]:
    """The policy's verdict: ("done", None), or the status and the error the policy raises."""
    for name, status in (("violation.read", "404"), (POLICY[action], "403")):
        try:
            policy.require(session, user, name, violation)
        except PowerlistError as exc:
            return status, exc
    return "done", None


def _snapshot(world) -> tuple:
    with world.sessions() as session:
        rows = session.execute(
            select(
                Violation.id,
                Violation.status,
                Violation.level,
                Violation.outcome,
                Violation.owner_role,
                Violation.owner_user,
                Violation.rectify_by,
                Violation.event_seq,
            ).order_by(Violation.id)
        ).all()
        events = session.scalar(select(func.count()).select_from(ViolationEvent))
        timers = session.execute(select(SupervisionTimer.key, SupervisionTimer.fired).order_by(SupervisionTimer.id))
        return tuple(rows), events, tuple(timers)


@pytest.fixture
def matrix(world, now, db_url, tmp_path):
    """One warning per (action, kind of user), in the state its action starts from."""
    from engine.workspace import tokens

    matter = start(world, VILLAGE, "上塘村道修缮")
    cases = {}
    for action in ACTIONS:
        for role in ROLE_USERS:
            cases[(action, role)] = warning(world, matter, VILLAGE, key=f"{action}:{role}")
            if action in ("accept", "reject"):
                with world.sessions() as session, session.begin():
                    handle(session, cases[(action, role)], "rectify", "shangtang.chair", note="已整改")
    with world.sessions() as session, session.begin():
        keys = {user: tokens.create(session, user, "matrix", None) for user in ROLE_USERS.values()}
    for app in served(db_url, tmp_path):
        yield world, app, cases, keys


_PAGES: dict = {}  # signed-in page clients, by app and user


def _run(adapter: str, world, app, keys, user: str, violation: int, action: str) -> tuple[str, str | None]:
    fields = {"note": NOTE, **FIELDS.get(action, {})}
    if adapter == "web":
        client = _PAGES.get((id(app), user))
        if client is None:
            client = _PAGES[(id(app), user)] = app.test_client()
            assert client.post("/login", data={"username": user, "password": PASSWORD}).status_code == 302
        answer = client.post(f"/supervise/violations/{violation}/{action}", data=fields)
        return ("done", None) if answer.status_code == 302 else (str(answer.status_code), None)
    if adapter == "api":
        answer = app.test_client().post(
            f"/api/v1/violations/{violation}/{action}", json=fields, headers={"Authorization": f"Bearer {keys[user]}"}
        )
        if answer.status_code == 200:
            return "done", None
        return str(answer.status_code), answer.get_json()["error"]["code"]
    from powerlist.cli import State, main

    state = State()
    state._engine = world.engine
    options = {"note": "--note", "owner_role": "--owner-role", "owner_user": "--owner", "deadline": "--deadline"}
    arguments = ["violation", "close", "--dismiss"] if action == "dismiss" else ["violation", action]
    arguments += [str(violation), "--as", user, "--json"]
    for name, value in fields.items():
        arguments += [options[name], value]
    result = CliRunner().invoke(main, arguments, obj=state, env={"POWERLIST_LANG": "zh"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"powerlist {' '.join(arguments)} raised {result.exception!r}") from result.exception
    return ("done", None) if result.exit_code == 0 else (f"exit {result.exit_code}", result.stderr.strip())


def _agrees(adapter: str, expected: tuple[str, PowerlistError | None], observed: tuple[str, str | None]) -> bool:
    status, error = expected
    if status == "done":
        return observed == ("done", None)
    if adapter == "web":
        return observed == (status, None)
    if adapter == "api":
        return observed == (status, error.code)
    return observed == ("exit 1", f"error: {describe(error, 'zh')}")


def test_the_matrix_knows_every_route_and_command():
    from powerlist.cli import main
    from tests.web.test_action_matrix import NOT_ACTIONS
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "routes"})
    posts = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and r.rule.endswith("/violations/<int:violation_id>/<action>")
    }
    app.extensions["powerlist.sessions"].kw["bind"].dispose()
    assert posts == set(ROUTES), posts
    assert "tests/web/supervise/test_violation_matrix.py" in NOT_ACTIONS["api.violation_action"]
    commands = {("violation", name) for name, c in main.commands["violation"].commands.items() if c.params[0].name}
    acting = {
        path
        for path in commands
        if any(p.name == "actor" and p.required for p in main.commands["violation"].commands[path[1]].params)
    }
    assert acting == COMMANDS
    assert set(ACTIONS) == {"dismiss"} | {name for _group, name in COMMANDS}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_violation_matrix(matrix, adapter):
    world, app, cases, keys = matrix
    wrong: list[str] = []
    verdicts: dict[tuple[str, str], str] = {}
    for (action, role), violation in cases.items():
        user = ROLE_USERS[role]
        with world.sessions() as session:
            expected = _expected(session, user, session.get(Violation, violation), action)
        verdicts[(action, role)] = expected[0]
        before = _snapshot(world)
        observed = _run(adapter, world, app, keys, user, violation, action)
        if not _agrees(adapter, expected, observed):
            wrong.append(f"{action} by {role} via {adapter}: expected {expected[0]} {expected[1]!r}, got {observed}")
        if expected[0] != "done" and _snapshot(world) != before:
            wrong.append(f"{action} by {role} via {adapter}: refused, yet the database changed")
    assert not wrong, "\n".join(wrong)
    # The policy's verdicts themselves: who reads and who acts on a village committee's warning.
    for action in ACTIONS:
        row = {role: verdicts[(action, role)] for role in ROLE_USERS}
        allowed = {"village_supervisor", "town_discipline", "county_discipline"} | (
            {"owner"} if action == "rectify" else set()
        )
        assert {r for r, v in row.items() if v == "done"} == allowed, (action, row)
        hidden = {"other_village_supervisor", "other_town_discipline", "cadre", "admin"}
        assert {r for r, v in row.items() if v == "404"} == hidden, (action, row)
