"""The access matrix: every action on a matter, for every kind of user, through every adapter.

The actions come from the app's URL map (every POST rule of the cadre pages and of the API under
/api/v1) and from the command line (every command that acts as someone on a task, a matter, an
approval or a flow); a route or command the matrix does not know fails
``test_the_matrix_knows_every_route_and_command``. Each case is one action, one user and one
adapter (page, API, command line). The access policy (``engine.policy.may`` / ``require``) is the
oracle: the answer must be the one it gives (404 for a matter the user may not see, 403 for one
they see but may not act on, done otherwise), so every adapter gives the same verdict for the same
action and user; and a refused action must leave the database as it was (history, open steps,
added approvals, reminders, copies, uploads, matters).

Refused cases share one matter per database; a case the policy allows runs on a matter of its own,
since it consumes the step.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.conftest import DATABASES, MINI, fresh_database
from tests.support.files import PDF
from tests.support.world import demo_county, new_database

PASSWORD = "powerlist-demo"
FLOW = "mini_decision"
VILLAGE = "QX0101"
REASON = "请按规定重新办理"

SECRETARY = "shangtang.secretary"  # did the first step (提议) of every matter here
CHAIR = "shangtang.chair"  # holds the open step (决议)
SECOND_CHAIR = "shangtang.chair2"  # another holder of the same role: the step is transferred to them
BOOKKEEPER = "shangtang.bookkeeper"  # the added approver
SUPERVISOR = "shangtang.supervisor"
FORMER = "former.chair"  # held the step's role; every role of theirs was revoked

# The kinds of user, by the user standing for each.
ROLE_USERS = {
    "holder": CHAIR,
    "same_village": "shangtang.cadre",
    "supervisor": SUPERVISOR,
    "other_village": "xiatang.secretary",  # a village of the same town
    "other_town_agency": "xiling.agency",
    "town_agency": "dongxi.agency",  # forcing
    "auditor": "county.auditor",
    "admin": "admin",
    "revoked": FORMER,
}
# Who "holds" an action that is not a step's: the first step's role starts, whoever did the
# latest step withdraws it, the named approver decides.
HOLDERS = {"start": SECRETARY, "withdraw": SECRETARY, "decide": BOOKKEEPER}

# Each action: the engine command's policy action.
ACTIONS = {
    "start": "matter.start",
    "complete": "task.act",
    "force": "task.force",
    "reject": "task.act",
    "return": "task.act",
    "transfer": "task.act",
    "add_approver": "task.act",
    "remind": "task.remind",
    "withdraw": "matter.withdraw",
    "copy": "matter.copy",
    "decide": "approval.decide",
    "upload": "file.upload",
}
# The routes that do each action, by endpoint.
WEB_ENDPOINTS = {
    "cadre.start_item": "start",
    "cadre.submit": "complete",
    "cadre.reject": "reject",
    "cadre.return_to": "return",
    "cadre.transfer": "transfer",
    "cadre.add_approver": "add_approver",
    "cadre.remind": "remind",
    "cadre.withdraw": "withdraw",
    "cadre.copy": "copy",
    "cadre.approval": "decide",
}
API_ENDPOINTS = {
    "api.start": "start",
    "api.complete": "complete",
    "api.reject": "reject",
    "api.return_to": "return",
    "api.transfer": "transfer",
    "api.add_approver": "add_approver",
    "api.remind": "remind",
    "api.withdraw": "withdraw",
    "api.copy": "copy",
    "api.decide": "decide",
    "api.upload": "upload",
}
# POST routes that do no action on a matter, and why.
NOT_ACTIONS = {
    "cadre.check": "shows the form's live checks; writes nothing",
    "api.check": "answers the form's checks; writes nothing",
    "api.upload_definition": "flow administration (tests/web/admin/test_web_admin.py)",
    "api.retire": "flow administration (tests/web/admin/test_web_admin.py)",
    "cadre.register": "the decision register, not a matter (tests/web/cadre/test_web_register.py)",
    "cadre.ledger_imports": "the village accounts, not a matter "
    "(tests/engine/public/test_wallet.py, tests/web/public/test_web_wallet.py)",
    "cadre.subsidy_rosters": "subsidy rosters, not a matter "
    "(tests/engine/public/test_subsidies.py, tests/web/cadre/test_web_subsidies.py)",
    "cadre.disclosures": "三务公开, not a matter "
    "(tests/engine/public/test_disclosures.py, tests/web/public/test_web_disclosures.py)",
    "api.issue_document": "a supervisor's document, not a matter (tests/web/supervise/test_documents.py)",
    "api.document_receipt": "a document's receipt, not a matter (tests/web/supervise/test_documents.py)",
    "api.talk_record": "a supervisor's talk, not a matter (tests/web/supervise/test_documents.py)",
    "api.violation_action": "handling a violation warning, not a matter (tests/web/supervise/test_violation_matrix.py)",
    "cadre.save_task_draft": "a draft, never part of the record (tests/web/cadre/test_drafts.py)",
    "cadre.save_start_draft": "a draft, never part of the record (tests/web/cadre/test_drafts.py)",
    "api.save_task_draft": "a draft, never part of the record (tests/web/cadre/test_drafts.py)",
}
# The commands that do each action, by their path.
CLI_COMMANDS = {
    ("start",): "start",
    ("complete",): "complete",
    ("force",): "force",
    ("reject",): "reject",
    ("return",): "return",
    ("transfer",): "transfer",
    ("approver", "add"): "add_approver",
    ("remind",): "remind",
    ("withdraw",): "withdraw",
    ("copy",): "copy",
    ("approval", "decide"): "decide",
}
# A command acting as someone (a required --as) on one of these is an action on a matter.
MATTER_ARGUMENTS = {"task_id", "instance_id", "approval_id", "key"}

# Allowed by the policy, refused by the command for the matter's state: one's own step is not
# reminded; only whoever did the latest step withdraws it.
REFUSED = {
    ("remind", "holder"): "remind.own_step",
    ("withdraw", "same_village"): "matter.not_withdrawable",
    ("withdraw", "supervisor"): "matter.not_withdrawable",
    ("withdraw", "town_agency"): "matter.not_withdrawable",
}
# Cases that show a bug; each fails until it is fixed (strict xfail), see the reason.
KNOWN: dict[tuple[str, str, str], str] = {}

PROPOSE = {"subject": "修缮村道", "amount_fen": 500000}
RESOLVE = {"members": 5, "present": 5, "votes_for": 4, "votes_against": 1, "abstain": 0}


def post_endpoints(app) -> dict[str, str]:
    """Every POST rule of the cadre pages and of the API, by endpoint."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and (rule.endpoint.startswith("cadre.") or rule.rule.startswith("/api/v1/"))
    }


def acting_commands(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    """Every command that acts as someone (a required --as) on a task, a matter, an approval or a flow."""
    found: dict[tuple[str, ...], click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(acting_commands(command, (*path, name)))
            continue
        acts = any(isinstance(p, click.Option) and "--as" in p.opts and p.required for p in command.params)
        arguments = {p.name for p in command.params if isinstance(p, click.Argument)}
        if acts and arguments & MATTER_ARGUMENTS:
            found[(*path, name)] = command
    return found


def _adapters() -> dict[str, list[str]]:
    """The adapters of each action, from the URL map and the command line."""
    from powerlist.cli import main
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "routes"})
    endpoints = post_endpoints(app)
    app.extensions["powerlist.sessions"].kw["bind"].dispose()
    found: dict[str, list[str]] = {action: [] for action in ACTIONS}
    for endpoint in endpoints:
        if endpoint in WEB_ENDPOINTS:
            found[WEB_ENDPOINTS[endpoint]].append("web")
        if endpoint in API_ENDPOINTS:
            found[API_ENDPOINTS[endpoint]].append("api")
    for path in acting_commands(main):
        if path in CLI_COMMANDS:
            found[CLI_COMMANDS[path]].append("cli")
    return {action: sorted(set(adapters), key=["web", "api", "cli"].index) for action, adapters in found.items()}


ADAPTERS = _adapters()


def _cases() -> list[Any]:
    cases = []
    for action, adapters in ADAPTERS.items():
        for role in ROLE_USERS:
            for adapter in adapters:
                reason = KNOWN.get((action, role, adapter))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(pytest.param(action, role, adapter, id=f"{action}-{role}-{adapter}", marks=marks))
    return cases


CASES = _cases()


def actor_of(action: str, role: str) -> str:
    return HOLDERS.get(action, CHAIR) if role == "holder" else ROLE_USERS[role]


# --- the matrix_world: one database per module (and kind of database) --------------------------------


@dataclass(frozen=True)
class Target:
    instance: int
    task: str
    approval: int | None = None


@dataclass
class World:
    sessions: Any
    app: Any
    pages: dict[str, Any]  # a signed-in client per user
    api: Any
    tokens: dict[str, str]
    state: Any  # the command line's state, on the same database
    shared: Target  # refused cases: a matter at its 决议 step
    shared_approval: Target  # refused decisions: the same, with a pending 前加签 by the bookkeeper

    def session(self):
        return self.sessions()


@pytest.fixture(scope="module", params=DATABASES)
def matrix_db(request, tmp_path_factory) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("matrix")) as url:
        yield url


def new_matter(sessions, approval: bool = False) -> Target:
    """A matter of the mini flow in 上塘村 whose 决议 step (the chair's) is open."""
    from engine.workspace import operations

    with sessions() as session, session.begin():
        started = operations.start(session, FLOW, VILLAGE, SECRETARY, {}, "修缮村道")
    with sessions() as session, session.begin():
        done = operations.complete(session, started.opened[0]["id"], SECRETARY, dict(PROPOSE))
    (resolve,) = done.opened
    assert resolve["step"] == "resolve"
    approval_id = None
    if approval:
        from engine.workspace.models import AddedApproval

        with sessions() as session, session.begin():
            operations.add_approver(session, resolve["id"], CHAIR, BOOKKEEPER, "before", "请报账员先把关")
            approval_id = session.scalar(select(AddedApproval.id).where(AddedApproval.task_id == resolve["id"]))
    return Target(started.instance_id, resolve["id"], approval_id)


@pytest.fixture(scope="module")
def matrix_world(matrix_db, tmp_path_factory) -> Iterator[World]:
    from engine.org.passwords import hash_password
    from engine.org.service import ensure_user, get_unit, grant
    from engine.workspace import people, tokens
    from powerlist.cli import State
    from web import create_app

    folder = tmp_path_factory.mktemp("matrix-files")
    engine, sessions = new_database(matrix_db)
    demo_county(sessions, MINI)
    with sessions() as session, session.begin():
        unit = get_unit(session, VILLAGE)
        secret = hash_password(PASSWORD)
        for username, name in ((SECOND_CHAIR, "上塘村副主任"), (FORMER, "上塘村原主任")):
            grant(session, ensure_user(session, username, name, password_hash=secret), "committee_chair", unit)
    users = sorted(set(ROLE_USERS.values()) | set(HOLDERS.values()))
    with sessions() as session, session.begin():
        names = {user: tokens.create(session, user, "matrix", None) for user in users}
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": matrix_db,
            "SECRET_KEY": "matrix",
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENTS_FOLDER": str(folder / "attachments"),
        }
    )
    pages = {}
    for user in users:
        client = app.test_client()
        answer = client.post("/login", data={"username": user, "password": PASSWORD})
        assert answer.status_code == 302, (user, answer.status_code)
        pages[user] = client
    # Signed in and holding a token, and then every role taken away.
    with sessions() as session, session.begin():
        people.revoke_role(session, None, FORMER, "committee_chair", VILLAGE)
    state = State()
    state._engine = engine
    saved = os.environ.get("POWERLIST_INSTANCE")
    os.environ["POWERLIST_INSTANCE"] = str(folder / "instance")
    try:
        yield World(
            sessions,
            app,
            pages,
            app.test_client(),
            names,
            state,
            new_matter(sessions),
            new_matter(sessions, approval=True),
        )
    finally:
        if saved is None:
            os.environ.pop("POWERLIST_INSTANCE", None)
        else:
            os.environ["POWERLIST_INSTANCE"] = saved
        app.extensions["powerlist.sessions"].kw["bind"].dispose()
        engine.dispose()


# --- what is in the database ------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    matters: tuple[tuple[int, str, int], ...]  # id, status, revision
    events: int
    open_steps: tuple[tuple[str, str, str | None], ...]  # id, step, assignee
    approvals: tuple[tuple[int, str, bool], ...]  # id, status, a submission waits
    reminders: int
    copies: int
    uploads: tuple[tuple[int, int | None], ...]  # id, matter claiming it


def _rows(session, query) -> tuple[tuple[Any, ...], ...]:
    return tuple(sorted(tuple(row) for row in session.execute(query)))


def snapshot(matrix_world: World) -> Snapshot:
    from engine.persistence.models import HistoryEvent, Matter, OpenTask
    from engine.workspace.models import AddedApproval, Attachment, MatterCopy, TaskReminder

    with matrix_world.session() as s:
        return Snapshot(
            _rows(s, select(Matter.id, Matter.status, Matter.revision)),
            s.scalar(select(func.count()).select_from(HistoryEvent)),
            _rows(s, select(OpenTask.id, OpenTask.step_id, OpenTask.assignee)),
            tuple(sorted((a.id, a.status, a.parked is not None) for a in s.scalars(select(AddedApproval)))),
            s.scalar(select(func.count()).select_from(TaskReminder)),
            s.scalar(select(func.count()).select_from(MatterCopy)),
            _rows(s, select(Attachment.id, Attachment.instance_id)),
        )


# What an allowed action must have written.
EFFECTS: dict[str, Callable[[Snapshot, Snapshot], bool]] = {
    "start": lambda before, after: len(after.matters) == len(before.matters) + 1,
    "upload": lambda before, after: len(after.uploads) == len(before.uploads) + 1,
    "copy": lambda before, after: after.copies == before.copies + 1 and after.events > before.events,
    "remind": lambda before, after: after.reminders == before.reminders + 1 and after.events > before.events,
    "add_approver": lambda before, after: len(after.approvals) == len(before.approvals) + 1,
    "transfer": lambda before, after: after.open_steps != before.open_steps and after.events > before.events,
}


def _progressed(before: Snapshot, after: Snapshot) -> bool:
    return after.events > before.events and after.matters != before.matters


# --- the oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    kind: str  # done | hidden (404) | denied (403) | refused (allowed, but not in this state)
    code: str | None = None
    message: str | None = None  # as the command line words it


def policy_target(session, action: str, target: Target) -> Any:
    from engine import policy
    from engine.definitions.deploy import latest_version
    from engine.org.service import get_village
    from engine.persistence.models import Matter, OpenTask
    from engine.runtime.loaded import loaded
    from engine.workspace.models import AddedApproval

    kind = ACTIONS[action]
    if kind == "matter.start":
        return policy.Start(loaded(latest_version(session, FLOW)), get_village(session, VILLAGE))
    if kind == "file.upload":
        return None
    if kind == "approval.decide":
        return session.get(AddedApproval, target.approval)
    if kind.startswith("task."):
        return session.get(OpenTask, target.task)
    return session.get(Matter, target.instance)


def oracle(matrix_world: World, action: str, role: str, target: Target) -> Expected:
    """What the access policy says: ``may`` and, when it refuses, the error ``require`` raises."""
    from engine import policy
    from engine.errors import NotFound, PermissionDenied
    from engine.messages import describe

    actor = actor_of(action, role)
    with matrix_world.session() as session:
        subject = policy_target(session, action, target)
        allowed = policy.may(session, actor, ACTIONS[action], subject)
        try:
            policy.require(session, actor, ACTIONS[action], subject)
            refusal = None
        except (NotFound, PermissionDenied) as exc:
            refusal = exc
    assert allowed == (refusal is None), f"policy.may and policy.require disagree for {actor} on {action}"
    if refusal is not None:
        kind = "hidden" if isinstance(refusal, NotFound) else "denied"
        return Expected(kind, refusal.code, "error: " + describe(refusal, "zh"))
    code = REFUSED.get((action, role))
    return Expected("refused", code) if code else Expected("done")


# --- the adapters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    kind: str  # done | hidden | denied | refused | exit <n> (command line) | HTTP <status>
    code: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.code or ''} {self.message or ''}".strip()


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.pop("_flashes", []))


def by_page(matrix_world: World, action: str, actor: str, target: Target) -> Observed:
    client = matrix_world.pages[actor]
    _flashes(client)
    task, matter = target.task, target.instance
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "start": (f"/start/{FLOW}", {"title": "修缮村道", "village": VILLAGE, "idempotency_key": uuid.uuid4().hex}),
        "complete": (
            f"/tasks/{task}",
            {**{k: str(v) for k, v in RESOLVE.items()}, "idempotency_key": uuid.uuid4().hex},
        ),
        "reject": (f"/tasks/{task}/reject", {"reason": REASON}),
        "return": (f"/tasks/{task}/return", {"step": "propose", "reason": REASON}),
        "transfer": (f"/tasks/{task}/transfer", {"to": SECOND_CHAIR, "reason": REASON}),
        "add_approver": (
            f"/tasks/{task}/approvers",
            {"approver": BOOKKEEPER, "position": "before", "reason": REASON},
        ),
        "remind": (f"/tasks/{task}/remind", {"note": "请尽快办理"}),
        "withdraw": (f"/matters/{matter}/withdraw", {"reason": REASON}),
        "copy": (f"/matters/{matter}/copy", {"to": [SUPERVISOR], "note": "请知悉"}),
        "decide": (f"/approvals/{target.approval}", {"decision": "agree", "comment": "同意"}),
    }
    url, data = requests[action]
    answer = client.post(url, data=data)
    status = answer.status_code
    if status == 302:
        errors = [message for category, message in _flashes(client) if category == "error"]
        return Observed("refused", message="; ".join(errors)) if errors else Observed("done")
    kinds = {404: "hidden", 403: "denied", 400: "refused", 409: "refused"}
    return Observed(kinds.get(status, f"HTTP {status}"))


def by_api(matrix_world: World, action: str, actor: str, target: Target) -> Observed:
    task, matter = target.task, target.instance
    headers = {"Authorization": f"Bearer {matrix_world.tokens[actor]}"}
    if action == "upload":
        answer = matrix_world.api.post(
            "/api/v1/attachments", headers=headers, data={"file": (io.BytesIO(PDF), "会议记录.pdf")}
        )
    else:
        requests: dict[str, tuple[str, dict[str, Any]]] = {
            "start": ("/api/v1/matters", {"key": FLOW, "village": VILLAGE, "title": "修缮村道"}),
            "complete": (f"/api/v1/tasks/{task}/complete", {"data": RESOLVE}),
            "reject": (f"/api/v1/tasks/{task}/reject", {"reason": REASON}),
            "return": (f"/api/v1/tasks/{task}/return", {"step": "propose", "reason": REASON}),
            "transfer": (f"/api/v1/tasks/{task}/transfer", {"to": SECOND_CHAIR, "reason": REASON}),
            "add_approver": (
                f"/api/v1/tasks/{task}/approvers",
                {"approver": BOOKKEEPER, "position": "before", "reason": REASON},
            ),
            "remind": (f"/api/v1/tasks/{task}/remind", {"note": "请尽快办理"}),
            "withdraw": (f"/api/v1/matters/{matter}/withdraw", {"reason": REASON}),
            "copy": (f"/api/v1/matters/{matter}/copy", {"to": [SUPERVISOR], "note": "请知悉"}),
            "decide": (f"/api/v1/approvals/{target.approval}/decide", {"agree": True, "comment": "同意"}),
        }
        url, body = requests[action]
        answer = matrix_world.api.post(url, headers=headers, json=body)
    status = answer.status_code
    if status in (200, 201):
        return Observed("done")
    error = (answer.get_json(silent=True) or {}).get("error") or {}
    kinds = {404: "hidden", 403: "denied", 400: "refused", 409: "refused"}
    return Observed(kinds.get(status, f"HTTP {status}"), error.get("code"), error.get("message"))


def by_command(matrix_world: World, action: str, actor: str, target: Target) -> Observed:
    from powerlist.cli import main

    task, matter, who = target.task, str(target.instance), ["--as", actor]
    arguments = {
        "start": ["start", FLOW, "--village", VILLAGE, *who, "--title", "修缮村道", "--json"],
        "complete": ["complete", task, *who, "--data", json.dumps(RESOLVE), "--json"],
        "force": ["force", task, *who, "--reason", REASON, "--data", json.dumps(RESOLVE)],
        "reject": ["reject", task, *who, "--reason", REASON, "--json"],
        "return": ["return", task, "--to", "propose", *who, "--reason", REASON, "--json"],
        "transfer": ["transfer", task, "--to", SECOND_CHAIR, *who, "--reason", REASON, "--json"],
        "add_approver": [
            *("approver", "add", task, "--approver", BOOKKEEPER, "--position", "before"),
            *(*who, "--reason", REASON, "--json"),
        ],
        "remind": ["remind", task, *who, "--note", "请尽快办理", "--json"],
        "withdraw": ["withdraw", matter, *who, "--reason", REASON, "--json"],
        "copy": ["copy", matter, "--to", SUPERVISOR, *who, "--note", "请知悉", "--json"],
        "decide": ["approval", "decide", str(target.approval), *who, "--agree", "--comment", "同意", "--json"],
    }[action]
    result = CliRunner().invoke(main, arguments, obj=matrix_world.state, env={"POWERLIST_LANG": "zh"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"powerlist {' '.join(arguments)} raised {result.exception!r}") from result.exception
    if result.exit_code == 0:
        return Observed("done")
    return Observed(f"exit {result.exit_code}", message=result.stderr.strip())


RUN = {"web": by_page, "api": by_api, "cli": by_command}


def agrees(adapter: str, expected: Expected, observed: Observed) -> bool:
    """Whether the adapter answered as the oracle said, in its own terms."""
    if adapter == "cli":
        if expected.kind == "done":
            return observed.kind == "exit 0" or observed.kind == "done"
        return observed.kind == "exit 1" and (expected.message is None or observed.message == expected.message)
    if observed.kind != expected.kind:
        return False
    return adapter != "api" or expected.code is None or observed.code == expected.code


# --- the tests --------------------------------------------------------------------------------


def test_the_matrix_knows_every_route_and_command(matrix_world):
    from engine import policy
    from powerlist.cli import main

    endpoints = post_endpoints(matrix_world.app)
    known = WEB_ENDPOINTS | API_ENDPOINTS | NOT_ACTIONS
    unknown = {endpoint: rule for endpoint, rule in endpoints.items() if endpoint not in known}
    assert not unknown, f"POST routes without an action in the matrix (add them to it, or to NOT_ACTIONS): {unknown}"
    assert not set(known) - set(endpoints), f"the matrix names routes that are gone: {set(known) - set(endpoints)}"
    commands = set(acting_commands(main))
    assert commands == set(CLI_COMMANDS), (
        f"commands acting on matters, not in the matrix: {commands ^ set(CLI_COMMANDS)}"
    )
    on_matters = {a for a in policy.ACTIONS if a.startswith(("matter.", "task.", "approval.", "file."))}
    assert set(ACTIONS.values()) == on_matters - {"matter.read"}, "a policy action on matters the matrix lacks"
    assert all(ADAPTERS[action] for action in ACTIONS)
    assert len(CASES) == sum(len(adapters) for adapters in ADAPTERS.values()) * len(ROLE_USERS)


@pytest.mark.parametrize(("action", "role", "adapter"), CASES)
def test_action_matrix(matrix_world, action, role, adapter):
    actor = actor_of(action, role)
    target = matrix_world.shared_approval if action == "decide" else matrix_world.shared
    expected = oracle(matrix_world, action, role, target)
    if expected.kind == "done" and action not in ("start", "upload"):
        target = new_matter(matrix_world.sessions, approval=action == "decide")
        expected = oracle(matrix_world, action, role, target)
    before = snapshot(matrix_world)
    observed = RUN[adapter](matrix_world, action, actor, target)
    after = snapshot(matrix_world)
    assert agrees(adapter, expected, observed), (
        f"{action} as {actor} ({role}) through {adapter}: the policy says {expected.kind} "
        f"{expected.code or ''}, the {adapter} answered {observed}"
    )
    if expected.kind == "done":
        effect = EFFECTS.get(action, _progressed)
        assert effect(before, after), f"{action} as {actor} through {adapter} answered done but wrote {after}"
    else:
        assert after == before, f"{action} as {actor} through {adapter} was refused ({observed}) but wrote something"


def test_forcing_past_a_step_ends_its_pending_added_approval(matrix_world):
    from engine.workspace.models import AddedApproval

    target = new_matter(matrix_world.sessions, approval=True)
    assert str(by_command(matrix_world, "force", ROLE_USERS["town_agency"], target)) == "done"
    stale = by_api(matrix_world, "decide", BOOKKEEPER, target)
    assert (stale.kind, stale.code) == ("refused", "approval.stale")
    with matrix_world.session() as session:
        assert session.get(AddedApproval, target.approval).status != "pending"
