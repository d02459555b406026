"""A real server in a thread on a SQLite database, and headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.world import demo_county, new_database

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@contextmanager
def demo_site(folder: Path, flows: Iterable[Path], prepare: Callable[[Any], None] | None = None) -> Iterator[str]:
    """The app on a new SQLite database in ``folder`` with the demo county (no matters) and ``flows``
    deployed, served on 127.0.0.1 at a free port; ``prepare(session)`` adds what a module needs."""
    from werkzeug.serving import make_server

    from web import create_app

    url = f"sqlite:///{folder / 'browser.sqlite'}"
    engine, sessions = new_database(url)
    demo_county(sessions, *flows)
    if prepare is not None:
        with sessions() as session, session.begin():
            prepare(session)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "ATTACHMENTS_FOLDER": str(folder / "files")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def database_of(folder: Path) -> str:
    """The database URL of a :func:`demo_site` served from ``folder``."""
    return f"sqlite:///{folder / 'browser.sqlite'}"


@pytest.fixture
def live_server(tmp_path) -> Iterator[str]:
    """The app with the demo county and 四议两公开, served on 127.0.0.1 at a free port."""
    from tests.web.conftest import FOUR, MINI

    with demo_site(tmp_path, (FOUR, MINI)) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
