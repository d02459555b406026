"""Creating database engines and sessions; SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session, sessionmaker


def instance_path() -> Path:
    """The folder for the SQLite file, uploads and other local state."""
    return Path(os.environ.get("POWERLIST_INSTANCE", Path.cwd() / "instance")).resolve()


def database_url() -> str:
    url = os.environ.get("POWERLIST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{instance_path() / 'powerlist.sqlite'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # In WAL mode NORMAL is safe against application crashes and never corrupts the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


WRITE_OPTION = "powerlist_write"


def _sqlite_begin(conn) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None), so every transaction,
    # reads included, is a real one. A writing transaction takes the write lock at once: a lock
    # upgraded half-way is answered by SQLite with SQLITE_BUSY instead of waiting.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def begin_write(session: Session) -> None:
    """Declare that the session's transaction will write; call before its first statement.

    When the transaction already read something, its connection is kept as it is (SQLAlchemy warns
    that the options come too late): SQLite then takes the write lock at the first write.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        session.connection(execution_options={WRITE_OPTION: True})


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"isolation_level": None}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
