"""Writers at once: a busy database delays a step but never fails it, and two submissions with one
idempotency key act once and both answer the first outcome (issue 15, items 2 and 3)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import ROOT
from tests.support.webapp import served

FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
SECRETARY = "shangtang.secretary"
PASSWORD = "powerlist-demo"
PROPOSE = {"subject": "修缮村道", "amount_fen": 120000}


# --- fixtures: the web app on a fresh database --------------------------------------------------


@pytest.fixture
def app(mini_world, db_url, tmp_path):
    yield from served(db_url, tmp_path)


@pytest.fixture
def token(mini_world) -> str:
    from engine.workspace import tokens

    with mini_world() as session, session.begin():
        return tokens.create(session, SECRETARY, "test", None)


def at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; their results, or the exceptions raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def matters(sessions) -> int:
    from engine.persistence.models import Matter

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Matter))


# --- item 3: one key, two submissions at once ------------------------------------------------------


def test_two_api_starts_with_one_key_at_once_start_one_matter(app, mini_world, token):
    headers = {"Authorization": f"Bearer {token}"}
    for round_ in range(3):
        body = {
            "key": "mini_decision",
            "village": "QX0101",
            "title": "修缮村道",
            "idempotency_key": f"race-{round_:04d}",
        }
        answers = at_once(
            2, lambda _i, body=body: app.test_client().post("/api/v1/matters", headers=headers, json=body)
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([200, 201], [201, 201]), [a.get_json() for a in answers]
        instances = {a.get_json()["instance"] for a in answers}
        assert len(instances) == 1
    assert matters(mini_world) == 3


def test_a_page_start_sent_again_lands_where_the_first_did(app, mini_world):
    """A retry of a start answers with the first one's page, whichever check finds it first."""
    client = app.test_client()
    assert client.post("/login", data={"username": SECRETARY, "password": PASSWORD}).status_code == 302
    form = {"title": "修缮村道", "village": "QX0101", "idempotency_key": "page-again-0001"}
    first = client.post("/start/mini_decision", data=form)
    again = client.post("/start/mini_decision", data=form)
    assert first.headers["Location"].startswith("/tasks/")
    assert again.headers["Location"] == first.headers["Location"]
    assert matters(mini_world) == 1


def test_two_page_starts_with_one_key_at_once_start_one_matter(app, mini_world):
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        assert client.post("/login", data={"username": SECRETARY, "password": PASSWORD}).status_code == 302
    for round_ in range(3):
        form = {"title": "修缮村道", "village": "QX0101", "idempotency_key": f"page-race-{round_:04d}"}
        answers = at_once(2, lambda i, form=form: clients[i].post("/start/mini_decision", data=form))
        assert [a.status_code for a in answers] == [302, 302], [a.data.decode()[:300] for a in answers]
        assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert matters(mini_world) == 3


def test_two_completions_with_one_key_at_once_complete_once(app, mini_world, token):
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    started = client.post(
        "/api/v1/matters", headers=headers, json={"key": "mini_decision", "village": "QX0101", "title": "修缮村道"}
    ).get_json()
    task = started["opened"][0]["id"]
    body = {"data": PROPOSE, "idempotency_key": "done-race-0001"}
    answers = at_once(
        2, lambda _i: app.test_client().post(f"/api/v1/tasks/{task}/complete", headers=headers, json=body)
    )
    assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
    assert answers[0].get_json()["opened"] == answers[1].get_json()["opened"]
    assert sorted(a.get_json()["repeated"] for a in answers) == [False, True]


def test_a_key_committed_after_the_lookup_collides_as_key_taken(demo_org, monkeypatch):
    """The PostgreSQL race itself: the other submission committed the key after this transaction
    looked, so the claim meets the unique key; that is a KeyTaken (answered with the first
    outcome), not a bare integrity error (a 409)."""
    from engine.workspace import idempotency

    first = {"instance": 7, "status": "running", "opened": [], "parked": False, "repeated": False}
    with demo_org() as session, session.begin():
        assert idempotency.claim(session, SECRETARY, "same-key-01", "start") is None
        assert idempotency.lookup(session, SECRETARY, "same-key-01") is None  # held, no outcome yet
        idempotency.remember(session, SECRETARY, "same-key-01", "start", first)
    with demo_org() as session, session.begin():
        assert idempotency.claim(session, SECRETARY, "same-key-01", "start") == dict(first, operation="start")
    monkeypatch.setattr(idempotency, "lookup", lambda *_args: None)  # as if it looked just before the commit
    with demo_org() as session, session.begin(), pytest.raises(idempotency.KeyTaken) as raised:
        idempotency.claim(session, SECRETARY, "same-key-01", "start")
    assert raised.value.code == "idempotency.taken"


# --- item 2: a busy database delays a step but never fails it --------------------------------------


@pytest.fixture
def sqlite_file(tmp_path) -> Path:
    path = tmp_path / "busy.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE step (id INTEGER PRIMARY KEY, note TEXT)")
    return path


class Holder:
    """Another process's writer: holds the file's write lock from outside this process's queue."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hold(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self, after_s: float = 0.0) -> threading.Thread:
        def later() -> None:
            time.sleep(after_s)
            self.conn.execute("COMMIT")

        thread = threading.Thread(target=later)
        thread.start()
        return thread


def test_a_locked_begin_immediate_is_tried_again_and_succeeds(sqlite_file):
    from engine.persistence.db import make_engine, make_sessionmaker, write_transaction

    engine = make_engine(f"sqlite:///{sqlite_file}", busy_timeout_ms=20)
    sessions = make_sessionmaker(engine)
    begins: list[int] = []
    holder = Holder(sqlite_file)
    holder.hold()
    releasing = holder.release(after_s=0.4)

    def step(session) -> int:
        begins.append(1)
        session.execute(text("INSERT INTO step (note) VALUES ('提议')"))
        return 1

    started = time.monotonic()
    assert write_transaction(sessions, step, budget_s=5) == 1
    releasing.join()
    assert time.monotonic() - started >= 0.35  # it waited for the other writer instead of failing
    assert begins == [1]  # BEGIN IMMEDIATE was refused before the step ran; then it ran once
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM step")) == 1
    engine.dispose()


def test_a_database_busy_for_the_whole_budget_gives_up_with_a_coded_error(sqlite_file):
    from engine.persistence.db import DatabaseBusy, make_engine, make_sessionmaker, write_transaction

    engine = make_engine(f"sqlite:///{sqlite_file}", busy_timeout_ms=20)
    sessions = make_sessionmaker(engine)
    holder = Holder(sqlite_file)
    holder.hold()
    try:
        with pytest.raises(DatabaseBusy) as raised:
            write_transaction(sessions, lambda s: s.execute(text("INSERT INTO step (note) VALUES ('x')")), budget_s=0.3)
    finally:
        holder.release().join()
    assert raised.value.code == "database.busy"
    assert raised.value.params["tries"] >= 2
    assert "数据库正忙" in str(raised.value)
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM step")) == 0
    engine.dispose()


def test_a_busy_transaction_is_redone_whole_never_half(sqlite_file):
    """Refused after its first statement: the try is rolled back and all of it runs again."""
    from engine.persistence.db import make_engine, make_sessionmaker, write_transaction

    engine = make_engine(f"sqlite:///{sqlite_file}")
    sessions = make_sessionmaker(engine)
    tries: list[int] = []

    def step(session) -> None:
        tries.append(1)
        session.execute(text("INSERT INTO step (note) VALUES ('first half')"))
        if len(tries) < 3:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        session.execute(text("INSERT INTO step (note) VALUES ('second half')"))

    write_transaction(sessions, step, budget_s=5)
    assert len(tries) == 3
    with sessions() as session:
        assert session.scalars(text("SELECT note FROM step ORDER BY id")).all() == ["first half", "second half"]
    engine.dispose()


def test_other_errors_are_not_tried_again(sqlite_file):
    from engine.persistence.db import make_engine, make_sessionmaker, write_transaction

    engine = make_engine(f"sqlite:///{sqlite_file}")
    tries: list[int] = []

    def step(session) -> None:
        tries.append(1)
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    with pytest.raises(OperationalError):
        write_transaction(make_sessionmaker(engine), step, budget_s=5)
    assert tries == [1]
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_eight_writers_and_the_scheduler_on_one_sqlite_file_all_succeed(app, mini_world, token, db_url, monkeypatch):
    """``powerlist serve``'s shape: 8 web threads writing steps and a scheduler sweeping, on one
    SQLite file; meanwhile another process takes the write lock now and then for longer than
    SQLite's busy wait. Every step succeeds, each exactly once."""
    from engine import clock
    from engine.persistence import db as persistence
    from engine.persistence.models import HistoryEvent
    from engine.supervision.sweep import sweep
    from web.db import EXTENSION

    monkeypatch.setattr(persistence, "BUSY_TIMEOUT_MS", 50)  # engines made from here on wait 50 ms, then retry
    app.extensions[EXTENSION].kw["bind"].dispose()
    app.extensions[EXTENSION] = persistence.make_sessionmaker(persistence.make_engine(db_url))
    scheduler_engine = persistence.make_engine(db_url)  # the scheduler's own engine, as in serve
    later = clock.now() + timedelta(days=30)  # every step's deadline has passed: the sweep writes
    headers = {"Authorization": f"Bearer {token}"}
    done = threading.Event()
    sweeps: list[Any] = []
    holds: list[int] = []

    def scheduler() -> None:
        while not done.is_set():
            try:
                sweeps.append(sweep(scheduler_engine, later))
            except BaseException as exc:
                sweeps.append(exc)
            time.sleep(0.01)

    def other_process() -> None:
        holder = Holder(Path(db_url.removeprefix("sqlite:///")))
        while not done.is_set():
            try:
                holder.hold()
            except sqlite3.OperationalError:
                continue
            holds.append(1)
            holder.release(after_s=0.15).join()
            time.sleep(0.1)

    def writer(i: int) -> list[int]:
        client = app.test_client()
        statuses = []
        for n in range(3):
            started = client.post(
                "/api/v1/matters",
                headers=headers,
                json={
                    "key": "mini_decision",
                    "village": "QX0101",
                    "title": f"村道{i}-{n}",
                    "idempotency_key": f"w{i}-{n}-key",
                },
            )
            statuses.append(started.status_code)
            if started.status_code != 201:
                continue
            task = started.get_json()["opened"][0]["id"]
            completed = client.post(f"/api/v1/tasks/{task}/complete", headers=headers, json={"data": PROPOSE})
            statuses.append(completed.status_code)
        return statuses

    background = [threading.Thread(target=scheduler), threading.Thread(target=other_process)]
    for thread in background:
        thread.start()
    try:
        results = at_once(8, writer)
    finally:
        done.set()
        for thread in background:
            thread.join(30)
    assert all(r == [201, 200] * 3 for r in results), results
    assert not [s for s in sweeps if isinstance(s, BaseException)], sweeps
    assert sum(len(s.fired) for s in sweeps) > 0  # the scheduler wrote too
    assert holds  # the other process did take the lock, for longer than SQLite waits
    assert matters(mini_world) == 24
    with mini_world() as session:
        completions = session.scalar(
            select(func.count()).select_from(HistoryEvent).where(HistoryEvent.kind == "task_completed")
        )
    assert completions == 24
    scheduler_engine.dispose()


def test_a_database_busy_past_the_budget_answers_503_with_retry_after(app, mini_world, token, monkeypatch):
    from engine.persistence.db import BUSY_CODE, DatabaseBusy
    from engine.workspace import operations

    def busy(*_args, **_kwargs):
        raise DatabaseBusy("数据库正忙", code=BUSY_CODE, params={"tries": 12, "seconds": 30.0})

    monkeypatch.setattr(operations, "start", busy)
    answer = app.test_client().post(
        "/api/v1/matters",
        headers={"Authorization": f"Bearer {token}"},
        json={"key": "mini_decision", "village": "QX0101", "title": "修缮村道"},
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json()["error"]["code"] == "database.busy"
    assert matters(mini_world) == 0


def test_a_token_in_use_takes_the_write_lock_only_when_its_last_use_is_due(app, mini_world, token, monkeypatch):
    from engine.workspace.models import ApiToken
    from web import db as web_db

    writes = []
    real = web_db.writing

    def counted():
        writes.append(1)
        return real()

    monkeypatch.setattr(web_db, "writing", counted)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert len(writes) == 1  # the first use is recorded; the next four only read
    with mini_world() as session:
        assert session.scalar(select(ApiToken.last_used_at)) is not None
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer plt_forged"}).status_code == 401
    assert len(writes) == 1
