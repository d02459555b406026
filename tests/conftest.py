"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), sessions, the CLI, actors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from engine import bootstrap

bootstrap()  # the built-in hooks and sources, as the app, the command line and the scheduler install them

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MINI = DATA / "mini" / "mini_decision.bpmn"
pytest_plugins = ["tests.support.world"]

PG_URL = os.environ.get("POWERLIST_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    if os.environ.get("POWERLIST_TEST_PG") == "0":
        return False
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return False
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


PG_AVAILABLE = _pg_reachable()


def pytest_report_header(config) -> str:
    if PG_AVAILABLE:
        return f"database tests: SQLite and PostgreSQL ({PG_URL.split('@')[-1]})"
    return "database tests: SQLite only (PostgreSQL at 127.0.0.1:5432 not reachable: its tests are skipped)"


def _pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a fresh, empty database: a SQLite file in ``folder``, or a new schema on the
    PostgreSQL server (dropped afterwards); skips when PostgreSQL is not reachable."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'powerlist.sqlite'}"
        return
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db_engine(db_url):
    from engine.persistence.db import make_engine
    from engine.persistence.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_engine):
    from engine.persistence.db import make_sessionmaker

    return make_sessionmaker(db_engine)


@pytest.fixture
def demo_org(sessions):
    """The demo organisation and users (no flows)."""
    from tests.support.world import demo_county

    return demo_county(sessions)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs the installed ``powerlist`` console script against one database."""

    def __init__(self, db_url: str, workdir: Path):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POWERLIST_")}
        self.env.update(POWERLIST_DATABASE_URL=db_url, POWERLIST_INSTANCE=str(workdir / "instance"))
        self.workdir = workdir
        script = shutil.which("powerlist", path=str(Path(sys.executable).parent)) or shutil.which("powerlist")
        self.command = [script] if script else [sys.executable, "-m", "powerlist"]

    def __call__(self, *args: str, check: bool | None = None, env: dict[str, str] | None = None) -> CliResult:
        proc = subprocess.run(
            [*self.command, *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=self.workdir,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        if check and result.code != 0:
            raise AssertionError(f"powerlist {' '.join(args)} exited {result.code}: {result.err}{result.out}")
        assert "Traceback" not in result.err, result.err
        return result


@pytest.fixture
def cli(db_url, tmp_path) -> Cli:
    return Cli(db_url, tmp_path)
