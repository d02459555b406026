"""The engine's caches, owned in one place.

What the engine keeps between calls is one of two kinds:

- data read from files shipped in the package (rule defaults, calendars, the guide) keyed by what
  was read: a ``functools`` cache beside its reader, safe to share because it cannot go stale;
- what it read from a database (restored definitions, org unit chains, rule books): a
  :class:`PerDatabase` mapping, kept per SQLAlchemy engine, so two databases in one process (tests,
  SQLite beside PostgreSQL) never see each other's entries.

Each cache module registers how to empty its caches with :func:`register`, by a plain call at import
time; :func:`clear_all` empties every registered cache (tests, or a caller of :func:`engine.bootstrap`
that swapped files or databases under a running process).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["PerDatabase", "clear_all", "register"]

_clearers: list[Callable[[], None]] = []


def register(clear: Callable[[], None]) -> Callable[[], None]:
    """Have :func:`clear_all` call ``clear``; returns it unchanged."""
    if clear not in _clearers:
        _clearers.append(clear)
    return clear


def clear_all() -> None:
    """Empty every registered cache."""
    for clear in list(_clearers):
        clear()


class PerDatabase:
    """A mapping per database: entries are kept under the session's SQLAlchemy engine, held weakly,
    so a database's entries go with its engine and are never seen through another one."""

    def __init__(self) -> None:
        self._by_engine: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        register(self.clear)

    def of(self, session: Session) -> dict[Any, Any]:
        """The entries of the database ``session`` is bound to."""
        engine = session.get_bind().engine
        entries = self._by_engine.get(engine)
        if entries is None:
            with self._lock:
                entries = self._by_engine.setdefault(engine, {})
        return entries

    def clear(self) -> None:
        with self._lock:
            self._by_engine.clear()
