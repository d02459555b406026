"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine.persistence.models import Base
from engine.wiring import load_models


def test_migrations_match_the_models(db_engine):
    load_models()
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db_engine):
    from engine.persistence.migrate import is_up_to_date, upgrade

    assert is_up_to_date(db_engine)
    assert upgrade(db_engine) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from sqlalchemy import text

    from engine.persistence.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
