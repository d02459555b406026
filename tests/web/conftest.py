"""Fixtures for the web app: an app on the test database with the demo county and two flows
(``demo_world``, tests/support/world.py), a client, and ``auth`` to sign in as anyone."""

from __future__ import annotations

import re
import struct
import uuid
import zlib

import pytest

from tests.support.webapp import served
from tests.support.world import FOUR, MINI  # noqa: F401  (the web tests import them from here)

PASSWORD = "powerlist-demo"
SECRETARY = "shangtang.secretary"  # 上塘村 (QX0101)
CHAIR = "shangtang.chair"
OTHER_VILLAGE = "lingtou.secretary"  # 岭头村 (QX0201), another town
ADMIN = "admin"


@pytest.fixture
def app(demo_world, db_url, tmp_path):
    yield from served(db_url, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = SECRETARY, password: str = PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xcc\x33\x33" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def start_mini(client, title: str = "修缮村道", village: str = "QX0101") -> str:
    """Start a mini matter as the signed-in user; returns the location answered (the first task form)."""
    data = {"title": title, "village": village, "idempotency_key": uuid.uuid4().hex}
    response = client.post("/start/mini_decision", data=data)
    assert response.status_code == 302, response.data.decode()[:500]
    return response.headers["Location"]


def task_id_from(location: str) -> str:
    found = re.search(r"/tasks/([0-9a-f-]{36})", location)
    assert found, location
    return found.group(1)


def matter_id_from(location: str) -> int:
    found = re.search(r"/matters/(\d+)", location)
    assert found, location
    return int(found.group(1))
