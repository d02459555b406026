"""One SQLite database for the auditor pages, built once: the demo county, 四议两公开 and the mini
flow, and matters driven through the engine with the clock set (see tests/engine/audit/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.engine.audit.conftest import T0, drive
from tests.support.world import demo_county, new_database
from tests.web.conftest import FOUR, MINI, PASSWORD, png_bytes

AUDITORS = {
    "village": "shangtang.supervisor",  # 上塘村 (QX0101) supervisory committee
    "town": "dongxi.discipline",  # 东溪镇 (QX01: 上塘村, 下塘村)
    "other_town": "xiling.discipline",  # 西岭镇 (QX02: 岭头村, 岭脚村)
    "county": "county.discipline",
    "auditor": "county.auditor",
}


@dataclass
class World:
    app: object
    url: str
    folder: Path
    ok: int  # 上塘村, conforming
    slow: int  # 下塘村, 商议 12 days: overdue
    loop: int  # 岭头村, failed review, went back to 商议
    running: int  # 上塘村, stopped after 商议
    attached: int  # 上塘村, 提议 with a photo
    sha256: str


def build_world(folder: Path, url: str | None = None) -> World:
    """Seed a database (a SQLite file in ``folder`` unless ``url`` names another) and make the app."""
    from engine import api, clock
    from engine.workspace import attachments, operations
    from web import create_app

    url = url or f"sqlite:///{folder / 'audit.sqlite'}"
    engine, sessions = new_database(url)
    demo_county(sessions, FOUR, MINI)
    ok = drive(sessions)
    slow = drive(sessions, village="QX0102", gaps={"discuss": timedelta(days=12)})
    loop = drive(sessions, village="QX0201", fail_review=True)
    running = drive(sessions, start=T0 + timedelta(days=20), stop_after="discuss")
    files = folder / "attachments"
    try:
        clock.clock.set(T0 + timedelta(days=30))
        with sessions() as session, session.begin():
            started = api.start(session, "four_deliberations", "QX0101", "shangtang.secretary", {}, "村道硬化")
            upload = attachments.store_upload(session, files, png_bytes(), "方案.png", "shangtang.secretary")
            from tests.engine.audit.conftest import form

            operations.complete(
                session, started.opened[0]["id"], "shangtang.secretary", form("propose"), {"proposal": [upload.id]}
            )
    finally:
        clock.clock.set(None)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "audit",
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENTS_FOLDER": str(files),
            "AUDIT_IMPORTS_FOLDER": str(folder / "imports"),
            "AUDIT_LOG_MAX_BYTES": 200_000,
        }
    )
    return World(app, url, folder, ok, slow, loop, running, started.instance_id, upload.sha256)


@pytest.fixture(scope="session")
def audited(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("auditor"))


@pytest.fixture(scope="session")
def client_as(audited):
    """A signed-in client per user, signed in once."""
    clients = {}

    def make(username: str | None):
        if username not in clients:
            client = audited.app.test_client()
            if username:
                answer = client.post("/login", data={"username": username, "password": PASSWORD})
                assert answer.status_code == 302, username
            clients[username] = client
        return clients[username]

    return make
