"""One SQLAlchemy session per request, closed on teardown; writes in a transaction of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

EXTENSION = "powerlist.sessions"

T = TypeVar("T")


def init_app(app: Flask) -> None:
    from engine import clock
    from engine.persistence.db import make_engine, make_sessionmaker
    clock.install()
    app.extensions[EXTENSION] = make_sessionmaker(make_engine(app.config["DATABASE_URL"]))
    app.teardown_appcontext(close_session)


def session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
    return g.db_session


def sessions() -> Callable[[], Session]:
    """The app's session factory, for engine commands that open a transaction per item."""
    return current_app.extensions[EXTENSION]


@contextmanager
def writing() -> Iterator[Session]:
    """A transaction that writes and commits, started fresh so SQLite takes its write lock at once."""
    from engine.persistence.db import begin_write

    current = session()
    if current.in_transaction():
        current.commit()  # ends the request's read transaction; nothing is pending in it
    begin_write(current)
    try:
        yield current
        current.commit()
    except BaseException:
        current.rollback()
        raise


def write(run: Callable[[Session], T]) -> T:
    """Run ``run(session)`` in a :func:`writing` transaction; when the database is busy (SQLite
    locked by another process, a PostgreSQL deadlock victim) the whole transaction is rolled back
    and run again after a pause, so a busy database delays the step but does not fail it.

    ``run`` must do all of its work in the session: each try redoes all of it.
    """
    from engine.persistence.db import retrying

    def attempt() -> T:
        with writing() as current:
            return run(current)

    return retrying(attempt)


def close_session(_error: BaseException | None = None) -> None:
    current = g.pop("db_session", None)
    if current is not None:
        current.close()
