"""Who may open what: every page and API route against every kind of user (on SQLite).

A cadre of another village (or town) gets 404 for a matter, its steps and its attachments, so a
matter's id reveals nothing; a user who may see a matter but not act on a step gets 403 there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.world import demo_county, new_database
from tests.web.conftest import FOUR, MINI, PASSWORD, png_bytes

ANONYMOUS = None
HOLDER = "shangtang.secretary"  # holds the open step
SAME_VILLAGE = "shangtang.cadre"  # sees the matter, may not act
OTHER_VILLAGE = "lingtou.secretary"  # another town's village
OTHER_TOWN = "xiling.agency"  # town agency of the other town
ADMIN = "admin"
USERS = [ANONYMOUS, HOLDER, SAME_VILLAGE, OTHER_VILLAGE, OTHER_TOWN, ADMIN]


@dataclass
class World:
    app: object
    matter: int
    task: str
    sha256: str
    tokens: dict


@pytest.fixture(scope="module")
def world_app(tmp_path_factory):
    from engine import api
    from engine.workspace import attachments, inbox, operations, tokens
    from web import create_app

    folder = tmp_path_factory.mktemp("access")
    url = f"sqlite:///{folder / 'access.sqlite'}"
    engine, sessions = new_database(url)
    demo_county(sessions, FOUR, MINI)
    files = folder / "attachments"
    with sessions() as session, session.begin():
        result = api.start(session, "four_deliberations", "QX0101", HOLDER, {}, "村道硬化")
        upload = attachments.store_upload(session, files, png_bytes(), "方案.png", HOLDER)
        operations.complete(
            session,
            result.opened[0]["id"],
            HOLDER,
            {
                "matter_title": "村道硬化工程",
                "proposal_source": "cadre_proposal",
                "matter_content": "硬化村道两公里，方便村民出行",
                "estimated_amount_fen": 8000000,
                "proposed_on": "2026-01-05",
                "proposer_name": "张三",
                "dual_role": False,
            },
            {"proposal": [upload.id]},
        )
        sha256 = upload.sha256
    with sessions() as session, session.begin():
        task = next(t for t in inbox.todo(session, HOLDER) if t["step"] == "discuss")
        names = {u: tokens.create(session, u, "test", None) for u in USERS if u}
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENTS_FOLDER": str(files),
        }
    )
    return World(app, result.instance_id, task["id"], sha256, names)


@pytest.fixture(scope="module")
def client_as(world_app):
    """A signed-in client per user, signed in once for the whole module."""
    clients = {}

    def make(username):
        if username not in clients:
            client = world_app.app.test_client()
            if username:
                answer = client.post("/login", data={"username": username, "password": PASSWORD})
                assert answer.status_code == 302, username
            clients[username] = client
        return clients[username]

    return make


# expected status per user: anonymous, holder, same village, other village, other town, admin
PAGES = {
    "/desk": (302, 200, 200, 200, 200, 200),
    "/done": (302, 200, 200, 200, 200, 200),
    "/started": (302, 200, 200, 200, 200, 200),
    "/start": (302, 200, 200, 200, 200, 200),
    "/start/four_deliberations": (302, 200, 200, 200, 403, 403),  # the town agency and the admin start none
    "/matters/{matter}": (302, 200, 200, 404, 404, 200),
    "/matters/{matter}/diagram.svg": (302, 200, 200, 404, 404, 200),
    "/matters/{matter}/attachments/{sha256}": (302, 200, 200, 404, 404, 200),
    "/tasks/{task}": (302, 200, 403, 404, 404, 403),
    "/admin/flows": (302, 403, 403, 403, 403, 200),
    "/admin/flows/upload": (302, 403, 403, 403, 403, 200),
    "/admin/flows/four_deliberations": (302, 403, 403, 403, 403, 200),
    "/admin/flows/four_deliberations/1/diagram.svg": (302, 403, 403, 403, 403, 200),
    "/admin/users": (302, 403, 403, 403, 403, 200),
    "/admin/users/shangtang.cadre": (302, 403, 403, 403, 403, 200),
    "/admin/org": (302, 403, 403, 403, 403, 200),
}
# POSTs that must be refused (nothing changes): the holder's own steps are exercised elsewhere.
REFUSED_POSTS = {
    "/tasks/{task}": (302, None, 403, 404, 404, 403),
    "/tasks/{task}/reject": (302, None, 403, 404, 404, 403),
    "/tasks/{task}/return": (302, None, 403, 404, 404, 403),
    "/tasks/{task}/transfer": (302, None, 403, 404, 404, 403),
    "/tasks/{task}/approvers": (302, None, 403, 404, 404, 403),
    "/matters/{matter}/copy": (302, None, None, 404, 404, 403),  # administrators read but do not act
    "/matters/{matter}/withdraw": (302, None, None, 404, 404, 403),
    "/admin/flows/four_deliberations/1/retire": (302, 403, 403, 403, 403, None),
    "/admin/users/shangtang.cadre/password": (302, 403, 403, 403, 403, None),
    "/admin/users/shangtang.cadre/active": (302, 403, 403, 403, 403, None),
    "/admin/users": (302, 403, 403, 403, 403, None),
}
API = {
    "/api/v1/me": (401, 200, 200, 200, 200, 200),
    "/api/v1/tasks": (401, 200, 200, 200, 200, 200),
    "/api/v1/tasks/{task}": (401, 200, 403, 404, 404, 403),
    "/api/v1/matters/{matter}": (401, 200, 200, 404, 404, 200),
    "/api/v1/matters/{matter}/history": (401, 200, 200, 404, 404, 200),
    "/api/v1/matters/{matter}/diagram.svg": (401, 200, 200, 404, 404, 200),
    "/api/v1/matters/{matter}/attachments/{sha256}": (401, 200, 200, 404, 404, 200),
    "/api/v1/definitions": (401, 403, 403, 403, 403, 200),
    "/api/v1/definitions/four_deliberations": (401, 403, 403, 403, 403, 200),
}


def _url(template: str, world: World) -> str:
    return template.format(matter=world.matter, task=world.task, sha256=world.sha256)


def _cases(table):
    return [
        pytest.param(route, user, status, id=f"{route}-{user or 'anonymous'}")
        for route, statuses in table.items()
        for user, status in zip(USERS, statuses, strict=True)
        if status is not None
    ]


@pytest.mark.parametrize(("route", "user", "status"), _cases(PAGES))
def test_pages(world_app, client_as, route, user, status):
    answer = client_as(user).get(_url(route, world_app))
    assert answer.status_code == status
    if status == 302:
        assert "/login" in answer.headers["Location"]


@pytest.mark.parametrize(("route", "user", "status"), _cases(REFUSED_POSTS))
def test_refused_changes(world_app, client_as, route, user, status):
    data = {
        "reason": "我想试试看",
        "to": HOLDER,
        "step": "propose",
        "approver": ADMIN,
        "position": "before",
        "active": "0",
        "username": "intruder",
        "display_name": "x",
    }
    answer = client_as(user).post(_url(route, world_app), data=data)
    assert answer.status_code == status


@pytest.mark.parametrize(("route", "user", "status"), _cases(API))
def test_api(world_app, route, user, status):
    client = world_app.app.test_client()
    headers = {"Authorization": f"Bearer {world_app.tokens[user]}"} if user else {}
    answer = client.get(_url(route, world_app), headers=headers)
    assert answer.status_code == status
    if status >= 400:
        assert answer.is_json and "message" in answer.get_json()["error"]


def test_nothing_was_changed_by_the_refused_requests(world_app, client_as):
    page = client_as(HOLDER).get(f"/matters/{world_app.matter}").data.decode()
    assert 'class="status running"' in page and "intruder" not in page
    assert client_as(HOLDER).get(f"/tasks/{world_app.task}").status_code == 200
