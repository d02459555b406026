"""Backing up and restoring the SQLite database with SQLite's online backup API.

A backup is a consistent copy taken while the product runs: the copy reads one snapshot of the file
(WAL lets writers go on meanwhile) and is written to a temporary file beside the target, checked and
then renamed into place, so a half-written backup never carries the target's name.

A restore copies a backup into the database file through the same API, under SQLite's own locks
(never by replacing the file, which would leave a stale ``-wal`` to be replayed onto it). It refuses
a database another process has open, and an existing one unless forced. PostgreSQL is backed up
with ``pg_dump`` and ``pg_restore``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from engine.errors import PowerlistError
from engine.texts import text

# In the ``-shm`` file of a WAL database every open connection holds a read lock on this byte
# (SQLite's unix VFS: the "DMS" slot after the eight WAL-index locks starting at byte 120).
_SHM_DMS_BYTE = 128


class BackupRefused(PowerlistError):
    default_code = "backup.refused"


class BackupUnsupported(PowerlistError):
    """The database is not SQLite: its own tools back it up."""

    exit_code = 2
    default_code = "backup.not_sqlite"


@dataclass
class Copied:
    path: Path
    pages: int
    bytes: int


# how the backends are spelt for people
_BACKENDS = {"postgresql": "PostgreSQL", "mysql": "MySQL"}


def sqlite_file(engine: Engine) -> Path:
    """The database file of a SQLite engine; anything else is refused with the tools to use."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        backend = url.get_backend_name()
        raise BackupUnsupported(code="backup.not_sqlite", params={"backend": _BACKENDS.get(backend, backend)})
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupUnsupported(code="backup.refused", params={"file": database or ":memory:"})
    return Path(database).resolve()


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10, isolation_level=None)
    return sqlite3.connect(str(path), timeout=10, isolation_level=None)


def _check_integrity(conn: sqlite3.Connection, name: str) -> None:
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchmany(5)]
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(code="backup.damaged", params={"file": name, "problem": str(exc)}) from exc
    if result != ["ok"]:
        problem = "; ".join(result)
        raise BackupRefused(
            text("persistence.refusals.damaged", file=name, problem=problem),
            code="backup.damaged",
            params={"file": name, "problem": problem},
        )


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def backup(engine: Engine, target: Path, *, force: bool = False) -> Copied:
    """Copy the live database to ``target`` in one consistent snapshot."""
    source = sqlite_file(engine)
    target = Path(target).resolve()
    if not source.exists():
        raise BackupRefused(
            text("persistence.refusals.database_missing", file=source),
            code="backup.missing",
            params={"file": str(source)},
        )
    if target == source:
        raise BackupRefused(code="backup.same_file", params={"file": str(target)})
    if target.exists() and not force:
        raise BackupRefused(
            text("persistence.refusals.backup_exists", file=target), code="backup.exists", params={"file": str(target)}
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = _connect(source, read_only=True)
        try:
            dst = _connect(partial)
            try:
                # pages=-1: the whole file in one step, from one read snapshot. Stepping would start
                # over each time another process writes, and might never finish on a busy database.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
                _check_integrity(dst, str(target))
                pages = dst.execute("PRAGMA page_count").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, pages, _size(target))


def in_use(database: Path) -> bool:
    """Whether another process has the SQLite file open (each connection of a WAL database holds a
    read lock on its ``-shm`` file), or holds a lock on the file itself."""
    shm = database.with_name(database.name + "-shm")
    if shm.exists() and not sys.platform.startswith("linux"):
        return True  # the lock cannot be asked for portably: an -shm file means a connection is open
    if shm.exists():
        import fcntl  # POSIX only, and only here

        with contextlib.suppress(OSError), open(shm, "rb") as handle:
            # F_GETLK only asks; it takes no lock. struct flock on Linux: short, short, off_t,
            # off_t, pid_t, padded to 32 bytes.
            query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, _SHM_DMS_BYTE, 1, 0)
            answer = fcntl.fcntl(handle.fileno(), fcntl.F_GETLK, query)
            if struct.unpack("hhqqi4x", answer)[0] != fcntl.F_UNLCK:
                return True
    if not database.exists():
        return False
    conn = sqlite3.connect(str(database), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        conn.close()
    return False


def _has_tables(database: Path) -> bool:
    if _size(database) == 0:
        return False
    conn = _connect(database, read_only=True)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    except sqlite3.DatabaseError:
        return True  # something is there, even if not a database: overwrite only when forced
    finally:
        conn.close()


def restore(engine: Engine, source: Path, *, force: bool = False) -> Copied:
    """Copy the backup ``source`` into the database file; the caller verifies the result."""
    target = sqlite_file(engine)
    source = Path(source).resolve()
    if not source.is_file():
        raise BackupRefused(
            text("persistence.refusals.backup_missing", file=source),
            code="backup.missing",
            params={"file": str(source)},
        )
    if source == target:
        raise BackupRefused(code="backup.same_file", params={"file": str(source)})
    src = _connect(source, read_only=True)
    try:
        _check_integrity(src, str(source))
        if in_use(target):
            raise BackupRefused(code="backup.in_use", params={"file": str(target)})
        if _has_tables(target) and not force:
            raise BackupRefused(
                text("persistence.refusals.restore_over_data", file=target),
                code="backup.exists",
                params={"file": str(target)},
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = _connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")
            _check_integrity(dst, str(target))
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    return Copied(target, pages, _size(target))
