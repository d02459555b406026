"""``powerlist backup`` and ``powerlist restore`` through the real entry point: a consistent copy of
a SQLite database while another connection writes, a restore that verifies every history chain,
the refusal to overwrite a database in use, and PostgreSQL pointed at pg_dump."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import MINI, Cli, fresh_database

SECRETARY = "shangtang.secretary"


def sqlite_db(folder: Path, name: str = "powerlist.sqlite") -> str:
    return f"sqlite:///{folder / name}"


@pytest.fixture
def live(tmp_path):
    """A SQLite database with the demo organisation, the mini flow and a few matters."""
    from engine import api
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    engine = make_engine(sqlite_db(tmp_path))
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        demo.load_demo(session, deploy_flows=False)
        api.deploy_file(session, MINI, "admin")
    for number in range(3):
        start_matter(sessions, number)
    yield sessions
    engine.dispose()


def start_matter(sessions, number: int) -> None:
    from engine.workspace import operations

    with sessions() as session, session.begin():
        operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, f"修缮村道 {number}")


def matters(url: str) -> dict[int, tuple[int, bytes]]:
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.models import Matter

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(Matter.id, Matter.history_seq, Matter.history_head)
            )
            return {row.id: (row.history_seq, row.history_head) for row in rows}
    finally:
        engine.dispose()


def test_a_backup_taken_while_another_connection_writes_restores_and_verifies(live, tmp_path):
    source = Cli(sqlite_db(tmp_path), tmp_path)
    before = len(matters(sqlite_db(tmp_path)))
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        number = 100
        while not stop.is_set():
            start_matter(live, number)
            written.append(number)
            number += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 2:
            stop.wait(0.01)
        source("backup", str(tmp_path / "copy.sqlite"), check=True)
    finally:
        stop.set()
        thread.join()
    after = matters(sqlite_db(tmp_path))

    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    target = Cli(sqlite_db(restored_dir), restored_dir)
    result = target("restore", str(tmp_path / "copy.sqlite"), check=True)
    assert "every chain intact" in result.out
    target("verify", check=True)

    copy = matters(sqlite_db(restored_dir))
    assert len(copy) >= before + 2  # the matters written before the backup began are in it
    assert {key: after[key] for key in copy} == copy  # each one just as in the live database
    assert not (tmp_path / ".copy.sqlite.partial").exists()


def test_restore_refuses_a_database_in_use_and_one_with_data_without_force(live, tmp_path):
    cli = Cli(sqlite_db(tmp_path), tmp_path)
    cli("backup", str(tmp_path / "copy.sqlite"), check=True)
    again = cli("backup", str(tmp_path / "copy.sqlite"))
    assert again.code == 1 and "--force" in again.err
    assert f"{tmp_path / 'copy.sqlite'} 已经存在" in again.err
    missing = cli("restore", str(tmp_path / "none.sqlite"))
    assert missing.code == 1 and f"备份文件 {tmp_path / 'none.sqlite'} 不存在" in missing.err

    live.kw["bind"].dispose()  # this process's own connections: only the one below holds the file
    # another process holds the database open, as a running server does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('select 1 from history_event')"
            ".fetchall(); print('open', flush=True); sys.stdin.read()",
            str(tmp_path / "powerlist.sqlite"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        refused = cli("restore", "--force", str(tmp_path / "copy.sqlite"))
        assert refused.code == 1 and "正在使用中" in refused.err
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)

    unforced = cli("restore", str(tmp_path / "copy.sqlite"))
    assert unforced.code == 1 and "--force" in unforced.err and "已有数据；恢复会覆盖它" in unforced.err
    forced = cli("restore", "--force", str(tmp_path / "copy.sqlite"), check=True)
    assert "every chain intact" in forced.out


def test_a_tampered_backup_fails_verification_after_restore(live, tmp_path):
    cli = Cli(sqlite_db(tmp_path), tmp_path)
    copy = tmp_path / "copy.sqlite"
    cli("backup", str(copy), check=True)
    with sqlite3.connect(copy) as conn:
        changed = conn.execute(
            "UPDATE history_event SET actor = 'someone.else' WHERE id = (SELECT min(id) FROM history_event)"
        ).rowcount
    conn.close()
    assert changed == 1

    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    result = Cli(sqlite_db(restored_dir), restored_dir)("restore", str(copy))
    assert result.code == 1
    assert "history was altered" in result.err

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other"
    other.mkdir()
    refused = Cli(sqlite_db(other), other)("restore", str(garbage))
    assert refused.code == 1 and "SQLite" in refused.err


@pytest.mark.postgres
def test_on_postgres_the_commands_name_pg_dump_and_exit_2(tmp_path):
    with fresh_database("postgres", tmp_path) as url:
        cli = Cli(url, tmp_path)
        for command in ("backup", "restore"):
            result = cli(command, str(tmp_path / "copy.dump"))
            assert result.code == 2
            assert "pg_dump" in result.err and "pg_restore" in result.err
