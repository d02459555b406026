"""A fresh benchmark database: a temporary SQLite file, or a new schema on a PostgreSQL server."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from engine import api
from engine.persistence.db import make_engine, make_sessionmaker
from engine.persistence.migrate import upgrade
from powerlist import demo


@contextmanager
def bench_database(url: str | None, flow: Path) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    """Schema, demo organisation and ``flow`` deployed; removed again afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        schema = None
        if url is None:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        elif url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            base, url = url, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        db_engine = make_engine(url)
        try:
            upgrade(db_engine)
            sessions = make_sessionmaker(db_engine)
            with sessions() as session, session.begin():
                demo.load_demo(session, deploy_flows=False)
                api.deploy_file(session, flow)
            yield db_engine, sessions
        finally:
            db_engine.dispose()
            if schema:
                with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """The URL of an empty database of its own, dropped afterwards: a new SQLite file, or a new
    database on the PostgreSQL server of ``url`` (for benchmarks whose other processes connect too)."""
    with tempfile.TemporaryDirectory() as folder:
        if url is None or url.startswith("sqlite"):
            yield f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            return
        name = f"bench_{uuid.uuid4().hex[:10]}"
        server = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            server.dispose()
