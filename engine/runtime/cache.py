"""Workflows kept in memory between steps, so a step need not restore the state it just saved.

An entry is used only when the instance's stored history head is the one it was saved with, so
a change by any other process (or another database in the same process) forces a fresh load.
Entries are handed back only after the saving transaction commits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine import caches

MAX_ENTRIES = 512
_PENDING = "powerlist.workflows"

_entries: OrderedDict[int, tuple[bytes, Any]] = OrderedDict()
_lock = threading.Lock()


def take(instance_id: int, head: bytes) -> Any | None:
    """Remove and return the cached workflow if it matches ``head``; the caller now owns it."""
    with _lock:
        entry = _entries.pop(instance_id, None)
    if entry is not None and entry[0] == head:
        return entry[1]
    return None


@contextmanager
def follows_savepoint(session: Session) -> Iterator[None]:
    """Wrap a savepoint: if it is rolled back, workflows it advanced are not cached at commit."""
    pending = session.info.setdefault(_PENDING, {})
    before = dict(pending)
    try:
        yield
    except BaseException:
        pending.clear()
        pending.update(before)
        raise


def keep_after_commit(session: Session, instance: Any, workflow: Any) -> None:
    session.info.setdefault(_PENDING, {})[instance.id] = (instance, workflow)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    with _lock:
        for instance_id, (instance, workflow) in pending.items():
            _entries[instance_id] = (instance.history_head, workflow)
            _entries.move_to_end(instance_id)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def clear() -> None:
    with _lock:
        _entries.clear()


caches.register(clear)
