"""Create or upgrade the schema with Alembic; every table comes from a migration.

Upgrades may run concurrently (two ``powerlist init``, a ``serve`` starting beside an ``init``): one
process upgrades while the others wait, then find nothing left to do. On PostgreSQL a transaction
advisory lock per schema serialises them; on SQLite a lock file beside the database does, and the
upgrade's transaction takes the write lock at once (``BEGIN IMMEDIATE``).

Migrations change the schema only. Data the engine derives from running matters (the deadline
timers of open tasks) is brought up to date by ``powerlist init`` after upgrading, through
:mod:`engine.supervision.backfill`, which needs the whole engine and so cannot run inside a migration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from engine.persistence.db import WRITE_OPTION

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        # ConfigParser treats % as interpolation; URLs with options contain %3D.
        url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine) -> list[str]:
    """Bring the schema to the newest revision; returns the revisions this call applied."""
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    with _file_lock(engine), engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
        with connection.begin():
            _advisory_lock(connection)
            # Read under the lock: a racer that upgraded first leaves nothing to apply.
            before = _ancestry(script, set(MigrationContext.configure(connection).get_current_heads()))
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            after = _ancestry(script, set(MigrationContext.configure(connection).get_current_heads()))
    return sorted(after - before)


MIGRATE_LOCK = 7_015_001  # first key of PostgreSQL's two-key advisory lock; the second is the schema's


def _advisory_lock(connection: Connection) -> None:
    """On PostgreSQL, wait for any other upgrade of the same schema; released at commit."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(coalesce(current_schema(), '')))"), {"key": MIGRATE_LOCK}
        )


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, an exclusive lock on ``<file>-migrate.lock`` held while upgrading.

    SQLite's own busy timeout gives up after seconds; an upgrade of a large file may take longer.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    try:
        import fcntl
    except ImportError:  # not on POSIX: BEGIN IMMEDIATE and the busy timeout alone
        fcntl = None
    if not database or database == ":memory:" or database.startswith("file:") or fcntl is None:
        yield
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{database}-migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _ancestry(script: ScriptDirectory, heads: set[str]) -> set[str]:
    """Every revision applied when the database stands at ``heads``."""
    if not heads:
        return set()
    return {rev.revision for rev in script.iterate_revisions(tuple(heads), "base")}


def current_heads(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_up_to_date(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return current_heads(engine) == set(script.get_heads())
