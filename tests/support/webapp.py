"""The web app as the tests run it: on the test database, CSRF off, attachments in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def make_app(db_url: str, tmp_path: Path, **config: object):
    from web import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENTS_FOLDER": str(tmp_path / "attachments"),
            **config,
        }
    )


def served(db_url: str, tmp_path: Path, **config: object) -> Iterator:
    """The app for one test, its database connections closed after it (a fixture's body)."""
    from web.db import EXTENSION

    app = make_app(db_url, tmp_path, **config)
    yield app
    app.extensions[EXTENSION].kw["bind"].dispose()
