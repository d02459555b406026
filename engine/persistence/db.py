"""Creating database engines and sessions; SQLite gets WAL, foreign keys and a busy timeout.

Writes under load: a busy database delays a step but never fails it. On SQLite the writing
transactions of one process wait in a queue (one lock per database file) instead of polling the
file lock, and :func:`retrying` runs a whole transaction again, with backoff, when the database
still answers "database is locked" (another process held it too long) — or, on PostgreSQL, when
the transaction was chosen as a deadlock victim or failed to serialise.
"""

from __future__ import annotations

import os
import random
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SAWarning
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import PowerlistError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for the file's write lock, per attempt
RETRY_BUDGET_S = 30.0  # how long a transaction is tried again while the database stays busy
BUSY_CODE = "database.busy"


class DatabaseBusy(PowerlistError):
    """The database stayed busy for the whole retry budget; nothing of the transaction was written."""

    default_code = BUSY_CODE


def instance_path() -> Path:
    """The folder for the SQLite file, uploads and other local state."""
    return Path(os.environ.get("POWERLIST_INSTANCE", Path.cwd() / "instance")).resolve()


def database_url() -> str:
    url = os.environ.get("POWERLIST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{instance_path() / 'powerlist.sqlite'}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):
        return None
    return Path(parsed.database).resolve()


def missing_default_database() -> Path | None:
    """The default database file (``instance/powerlist.sqlite`` under the current folder) when neither
    POWERLIST_DATABASE_URL nor POWERLIST_INSTANCE says where the database is and that file does not
    exist: a command run from another folder would otherwise make a new, empty database there."""
    if os.environ.get("POWERLIST_DATABASE_URL") or os.environ.get("POWERLIST_INSTANCE"):
        return None
    file = sqlite_file(database_url())
    return file if file is not None and not file.exists() else None


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # In WAL mode NORMAL is safe against application crashes and never corrupts the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return pragmas


WRITE_OPTION = "powerlist_write"
_QUEUED = "powerlist_writer_queue"  # in a connection's info: the queue whose turn it holds


class WriterQueue:
    """The turn to write to one SQLite file, for the threads of this process.

    SQLite's busy handler polls with growing sleeps, so under load a waiting writer can miss its
    chance again and again (seconds, then "database is locked"); a lock hands the turn on at once.
    A thread that already holds the turn (a second session writing inside a first) is not queued:
    it goes straight to SQLite, as it would without the queue.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self, timeout_s: float) -> bool:
        if self._owner == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=timeout_s):
            return False  # someone holds the turn too long: fall back to SQLite's own waiting
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        self._owner = None
        self._lock.release()


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_GUARD = threading.Lock()


def writer_queue(database: str) -> WriterQueue:
    """The one queue of a SQLite file in this process, shared by every engine on it."""
    key = os.path.realpath(database)
    with _QUEUES_GUARD:
        return _QUEUES.setdefault(key, WriterQueue())


def _release(info: dict) -> None:
    queue = info.pop(_QUEUED, None)
    if queue is not None:
        queue.release()


def _release_of(pooled) -> None:
    try:
        info = pooled.info
    except (AttributeError, NotImplementedError):  # the engine's first connect: nothing queued
        return
    _release(info)


def _sqlite_begin(queue: WriterQueue | None, wait_s: float) -> Callable[[Any], None]:
    def begin(conn) -> None:
        # pysqlite's own transaction handling is off (isolation_level=None), so every transaction,
        # reads included, is a real one. A writing transaction takes the write lock at once: a lock
        # upgraded half-way is answered by SQLite with SQLITE_BUSY instead of waiting.
        if not conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        if queue is not None and queue.acquire(wait_s):
            conn.info[_QUEUED] = queue
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    return begin


def _install_writer_queue(engine: Engine) -> None:
    """Give the turn back when the writing transaction ends, however it ends: after the COMMIT or
    ROLLBACK itself (the next writer would otherwise find the file still locked and poll)."""
    dialect = engine.dialect  # this engine's own
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _release_of(dbapi_connection)

    def do_rollback(dbapi_connection) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _release_of(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # type: ignore[method-assign]
    event.listen(engine.pool, "reset", lambda _dbapi, record, _state: _release(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _release(record.info))
    event.listen(engine.pool, "close", lambda _dbapi, record: _release(record.info))


def begin_write(session: Session, *, budget_s: float | None = None) -> None:
    """Declare that the session's transaction will write; call before its first statement.

    On SQLite this takes the write lock (``BEGIN IMMEDIATE``). When another process holds it
    longer than SQLite waits, the begin is tried again with backoff (nothing has run yet, so that
    is always safe) for up to ``budget_s`` (:data:`RETRY_BUDGET_S`), then :class:`DatabaseBusy`.

    When the transaction already read something, its connection is kept as it is (SQLAlchemy warns
    that the options come too late): SQLite then takes the write lock at the first write.
    """

    def begin() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            session.connection(execution_options={WRITE_OPTION: True})

    retrying(begin, budget_s=RETRY_BUDGET_S if budget_s is None else budget_s)


def make_engine(url: str | None = None, *, busy_timeout_ms: int | None = None, **kwargs) -> Engine:
    url = url or database_url()
    busy_timeout_ms = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        on_file = bool(database) and database != ":memory:" and not database.startswith("file:")
        engine = create_engine(url, connect_args={"isolation_level": None}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        queue = writer_queue(database) if on_file else None
        event.listen(engine, "begin", _sqlite_begin(queue, busy_timeout_ms / 1000))
        if queue is not None:
            _install_writer_queue(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- retrying a busy transaction ------------------------------------------------------------------

_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_busy(exc: BaseException) -> bool:
    """Whether the database refused the transaction only because others held it: trying the whole
    transaction again is safe and will succeed once they are done."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and any(word in str(exc.orig).lower() for word in _BUSY_WORDS)


_retrying = threading.local()


def retrying(
    attempt: Callable[[], T],
    *,
    budget_s: float = RETRY_BUDGET_S,
    first_delay_s: float = 0.02,
    max_delay_s: float = 1.0,
) -> T:
    """Run ``attempt`` — one whole transaction, begun and ended inside it — until it is not refused
    as busy; between tries wait with growing, jittered delays, at most ``budget_s`` in all.

    Each try must redo all of the command: ``attempt`` opens its own transaction, so a refused try
    leaves nothing behind and the next one starts from what is committed. After the budget:
    :class:`DatabaseBusy` (code ``database.busy``), and nothing was written. Nested in another
    ``retrying`` of the same thread, it runs ``attempt`` once and leaves the retrying to the outer.
    """
    if getattr(_retrying, "active", False):
        return attempt()  # inside an outer retry: that one redoes the whole transaction, on its budget
    deadline = time.monotonic() + budget_s
    delay = first_delay_s
    tries = 0
    while True:
        tries += 1
        try:
            _retrying.active = True
            try:
                return attempt()
            finally:
                _retrying.active = False
        except DBAPIError as exc:
            if not is_busy(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseBusy(
                    code=BUSY_CODE,
                    params={"tries": tries, "seconds": round(budget_s, 1)},
                ) from exc
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, max_delay_s)


def write_transaction(sessions: sessionmaker[Session], run: Callable[[Session], T], **retry: Any) -> T:
    """Run ``run(session)`` in a writing transaction of its own, retried whole while the database is busy."""

    def attempt() -> T:
        with sessions() as session, session.begin():
            begin_write(session)
            return run(session)

    return retrying(attempt, **retry)
