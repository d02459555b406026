"""Alembic environment: runs on the connection the caller passes in ``config.attributes``."""

from alembic import context

# The schema is every area's tables; the engine's wiring, above the areas, knows them all.
from engine.wiring import load_models

config = context.config
target_metadata = load_models()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from engine.persistence.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
