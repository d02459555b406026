"""Create or upgrade the schema with Alembic; every table comes from a migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

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
    """Bring the schema to the newest revision; returns the revisions applied."""
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    before = _ancestry(script, current_heads(engine))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    return sorted(_ancestry(script, current_heads(engine)) - before)


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
