"""A county-year loaded, then driven over HTTP by concurrent clients against real web processes.

    python -m bench.load [--db URL|sqlite|postgres|both] [--scale F] [--villages N] [--matters N]
                         [--clients N] [--web-processes 1,2,4] [--seconds S] [--json]

The full size (``--scale 1``) is 300 villages and about 280,000 matters of the shipped power-list
flows (a running share of 15%) with their history, loaded by :mod:`bench.county` (real matters per
example path, cloned in bulk with recomputed chains) into a database of its own, dropped afterwards.
``powerlist verify`` and the violation chains' check must pass on the loaded database (``chains_ok``).

Then ``powerlist serve --no-scheduler`` runs in 1, 2 and 4 processes on PostgreSQL (one on SQLite),
and ``--clients`` threads, spread over the processes, each repeat: the cadre's inbox
(``GET /api/v1/tasks``), the completion of one of its open tasks with the path's data and files
(``POST /api/v1/tasks/<id>/complete``; uploads beforehand are not timed) and, every fifth round, the
county auditor's list of the county's running matters (``GET /audit/matters?status=running``,
signed in). Printed per database and number of processes: ``inbox_ms_p95``, ``complete_ms_p95``,
``worklist_ms_p95``, ``steps_per_s`` (completions per second of wall time), ``errors``; and the sizes
loaded, ``load_seconds`` and ``chains_ok``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench import county
from bench.database import fresh_database
from engine import bootstrap
from engine.persistence.db import make_engine, make_sessionmaker
from engine.persistence.enums import MatterStatus
from engine.persistence.migrate import upgrade
from engine.persistence.models import Matter, OpenTask
from engine.runtime import forms
from engine.runtime.loaded import loaded
from engine.workspace import tokens
from powerlist import demo

PG_URL = os.environ.get("POWERLIST_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FULL_VILLAGES = 300
FULL_MATTERS = 280_000
ROOT = Path(__file__).resolve().parent.parent
WORKLIST_EVERY = 5
SUPERVISOR = demo.COUNTY_ROLES["auditor"][0]  # the county auditor: every village's matters
WORKLIST = "/audit/matters?status=running"


@dataclass
class Work:
    """An open task a client can do: the path's data for its step, as the step's holder."""

    task_id: str
    template: county.Template
    index: int  # the step of the path it is


@dataclass
class Figures:
    inbox: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)
    worklist: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=20, method="inclusive")[18], 1)


# --- loading --------------------------------------------------------------------------------------


def load(
    url: str, villages: int, matters: int, folder: Path, per_flow: int | None = None
) -> tuple[dict[str, Any], dict[int, county.Template]]:
    """The county-year in the database at ``url``; the sizes and the template of every clone."""
    started = time.perf_counter()
    db_engine = make_engine(url)
    try:
        upgrade(db_engine)
        sessions = make_sessionmaker(db_engine)
        places = county.villages(villages)
        with sessions() as session, session.begin():
            demo.load_demo(session)
            county.add_villages(session, places)
        organised = time.perf_counter()
        templates = county.drive_templates(sessions, county.by_code(places), folder, per_flow)
        driven = time.perf_counter()
        clones = county.clone(db_engine, templates, county.plan(templates, places, max(matters - len(templates), 0)))
        cloned = time.perf_counter()
        ok = county.chains_ok(sessions)
        figures = {
            **county.sizes(db_engine),
            "load_seconds": round(cloned - started, 1),
            "load_phases_s": {
                "schema_and_villages": round(organised - started, 1),
                "templates_driven": round(driven - organised, 1),
                "templates": len(templates),
                "cloned": round(cloned - driven, 1),
            },
            "verify_seconds": round(time.perf_counter() - cloned, 1),
            "chains_ok": ok,
        }
    finally:
        db_engine.dispose()
    return figures, clones


def open_work(sessions: sessionmaker[Session], clones: dict[int, county.Template]) -> list[Work]:
    """The open tasks of running clones whose path can be followed from here, oldest matters last."""
    with sessions() as session:
        rows = session.execute(
            select(OpenTask.id, OpenTask.instance_id, OpenTask.step_id)
            .join(Matter, Matter.id == OpenTask.instance_id)
            .where(Matter.status == MatterStatus.RUNNING)
            .order_by(OpenTask.instance_id.desc())
        ).all()
    work = []
    for task_id, instance_id, step_id in rows:
        template = clones.get(instance_id)
        if template is None or not template.drivable:
            continue
        steps = [s.step for s in template.path.steps]
        if step_id in steps:
            work.append(Work(task_id, template, steps.index(step_id)))
    return work


def slots_of(sessions: sessionmaker[Session]) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(flow, step) -> its attachment slots (name, takes a PDF), for the uploads before a completion."""
    from engine.persistence.models import DefinitionVersion

    found = {}
    with sessions() as session:
        for version in session.scalars(select(DefinitionVersion)):
            definition = loaded(version)
            for step_id, step in definition.steps.items():
                schema, _text = definition.form(step)
                found[version.key, step_id] = [
                    (slot["name"], not slot["accept"] or "application/pdf" in slot["accept"])
                    for slot in forms.form_spec(schema).attachments
                ]
    return found


def make_tokens(sessions: sessionmaker[Session], users: set[str]) -> dict[str, str]:
    with sessions() as session, session.begin():
        return {user: tokens.create(session, user, "bench", None) for user in sorted(users)}


# --- web processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebProcesses:
    """``powerlist serve --no-scheduler`` processes on loopback ports, sharing a database and a key."""

    def __init__(self, url: str, count: int, folder: Path):
        self.env = {
            **os.environ,
            "POWERLIST_DATABASE_URL": url,
            "POWERLIST_INSTANCE": str(folder),
            "POWERLIST_SECRET_KEY": secrets.token_hex(32),
        }
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Any] = []
        self.folder = folder

    def __enter__(self) -> WebProcesses:
        executable = Path(sys.executable).with_name("powerlist")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "powerlist"]
        for port in self.ports:
            log = open(self.folder / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed in __exit__
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    [*command, "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)],
                    env=self.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 60
        for port, process in zip(self.ports, self.processes, strict=True):
            while True:
                if process.poll() is not None:
                    raise RuntimeError((self.folder / f"serve-{port}.log").read_text(errors="replace")[-2000:])
                try:
                    if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"powerlist serve on port {port} did not answer")
                time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def sign_in(base: str, username: str) -> requests.Session:
    """A browser session signed in with the demo password (CSRF token from the login page)."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = http.post(
        f"{base}/login",
        data={"csrf_token": token, "username": username, "password": demo.DEMO_PASSWORD},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: {answer.status_code}")
    return http


# --- clients --------------------------------------------------------------------------------------


class Client(threading.Thread):
    """One person at a time: inbox, one completion, now and then the worklist."""

    def __init__(self, base: str, work: queue.Queue, keys: dict[str, str], roles, slots, supervisor, until, figures):
        super().__init__(daemon=True)
        self.base, self.work, self.keys, self.roles, self.slots = base, work, keys, roles, slots
        self.supervisor, self.until, self.figures = supervisor, until, figures
        self.http = requests.Session()
        self.completed = 0

    def timed(self, bucket: list[float], call, *args, **kwargs) -> requests.Response | None:
        began = time.perf_counter()
        try:
            answer = call(*args, timeout=60, **kwargs)
        except requests.RequestException as error:
            with self.figures.lock:
                self.figures.errors.append(type(error).__name__)
            return None
        elapsed = (time.perf_counter() - began) * 1000
        with self.figures.lock:
            if answer.status_code >= 400:
                self.figures.errors.append(f"{answer.status_code} {answer.text[:200]}")
            else:
                bucket.append(elapsed)
        return answer if answer.status_code < 400 else None

    def run(self) -> None:
        rounds = 0
        while time.monotonic() < self.until:
            try:
                item: Work = self.work.get_nowait()
            except queue.Empty:
                return
            template = item.template
            role = self.roles[template.key, template.path.steps[item.index].step]
            doer = county.actor(role, template.village)
            auth = {"Authorization": f"Bearer {self.keys[doer]}"}
            self.timed(self.figures.inbox, self.http.get, f"{self.base}/api/v1/tasks", headers=auth)
            files = {}
            step = template.path.steps[item.index].step
            for name, pdf in self.slots[template.key, step]:
                content, filename = (county.PDF, "minutes.pdf") if pdf else (county.PNG, "photo.png")
                answer = self.http.post(
                    f"{self.base}/api/v1/attachments", headers=auth, files={"file": (filename, content)}, timeout=60
                )
                files[name] = [answer.json()[0]["id"]] if answer.ok else []
            body = {"data": template.data[item.index], "attachments": files}
            answer = self.timed(
                self.figures.complete,
                self.http.post,
                f"{self.base}/api/v1/tasks/{item.task_id}/complete",
                headers=auth,
                json=body,
            )
            if answer is not None:
                self.completed += 1
                steps = [s.step for s in template.path.steps]
                for opened in answer.json()["opened"]:
                    if opened["step"] in steps[item.index + 1 :]:
                        self.work.put(Work(opened["id"], template, steps.index(opened["step"], item.index + 1)))
            rounds += 1
            if rounds % WORKLIST_EVERY == 1:
                self.timed(self.figures.worklist, self.supervisor.get, self.base + WORKLIST)


def drive(url: str, clones, processes: int, clients: int, seconds: float, folder: Path) -> dict[str, Any]:
    db_engine = make_engine(url)
    try:
        sessions = make_sessionmaker(db_engine)
        work = open_work(sessions, clones)
        slots = slots_of(sessions)
        roles = roles_of(sessions)
        doers = {
            county.actor(roles[w.template.key, step.step], w.template.village)
            for w in work
            for step in w.template.path.steps[w.index :]
        }
        keys = make_tokens(sessions, doers)
    finally:
        db_engine.dispose()
    pending: queue.Queue = queue.Queue()
    for item in work:
        pending.put(item)
    figures = Figures()
    with WebProcesses(url, processes, folder) as web:
        bases = [f"http://127.0.0.1:{port}" for port in web.ports]
        supervisors = [sign_in(bases[n % len(bases)], SUPERVISOR) for n in range(clients)]
        began = time.monotonic()
        until = began + seconds
        threads = [
            Client(bases[n % len(bases)], pending, keys, roles, slots, supervisors[n], until, figures)
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    completed = sum(t.completed for t in threads)
    return {
        "web_processes": processes,
        "clients": clients,
        "inbox_ms_p95": p95(figures.inbox),
        "complete_ms_p95": p95(figures.complete),
        "worklist_ms_p95": p95(figures.worklist),
        "steps_per_s": round(completed / elapsed, 1),
        "steps": completed,
        "requests": len(figures.inbox) + len(figures.complete) + len(figures.worklist),
        "errors": len(figures.errors),
        "first_errors": sorted(set(figures.errors))[:3],
    }


def roles_of(sessions: sessionmaker[Session]) -> dict[tuple[str, str], str]:
    from engine.persistence.models import DefinitionVersion

    with sessions() as session:
        return {
            (version.key, step_id): step.role
            for version in session.scalars(select(DefinitionVersion))
            for step_id, step in loaded(version).steps.items()
        }


def run(
    db: str | None,
    villages: int,
    matters: int,
    processes: list[int],
    clients: int,
    seconds: float,
    per_flow: int | None = None,
) -> dict:
    with fresh_database(db) as url, tempfile.TemporaryDirectory() as folder:
        sizes, clones = load(url, villages, matters, Path(folder), per_flow)
        result: dict[str, Any] = {**sizes, "db": url.split(":", 1)[0].split("+", 1)[0]}
        if url.startswith("sqlite"):
            processes = [1]
        result["runs"] = [drive(url, clones, n, clients, seconds, Path(folder)) for n in processes]
    return result


def main(argv: list[str] | None = None) -> dict:
    bootstrap()  # the hooks and sources a real process has: supervision watches every step
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", help="sqlite, postgres, both, or a SQLAlchemy URL of a server")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full county-year")
    parser.add_argument("--villages", type=int, help=f"villages (default {FULL_VILLAGES} x scale, at least 4)")
    parser.add_argument("--matters", type=int, help=f"matters (default {FULL_MATTERS:,} x scale)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-processes", default="1,2,4", help="numbers of web processes, on PostgreSQL")
    parser.add_argument("--seconds", type=float, default=20.0, help="driving time per number of processes")
    parser.add_argument("--paths-per-flow", type=int, help="example paths driven per flow (default all)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    villages = args.villages or max(4, round(FULL_VILLAGES * args.scale))
    matters = args.matters if args.matters is not None else round(FULL_MATTERS * args.scale)
    processes = [int(n) for n in args.web_processes.split(",")]
    targets = {"sqlite": [None], "postgres": [PG_URL], "both": [PG_URL, None]}.get(args.db, [args.db])
    result = {
        "databases": [
            run(db, villages, matters, processes, args.clients, args.seconds, args.paths_per_flow) for db in targets
        ],
    }
    for entry in result["databases"]:
        runs = {r["web_processes"]: r for r in entry["runs"]}
        if 1 in runs and max(runs) > 1 and runs[1]["complete_ms_p95"] and runs[max(runs)]["complete_ms_p95"]:
            most = runs[max(runs)]
            entry["steps_per_s_ratio"] = round(most["steps_per_s"] / max(runs[1]["steps_per_s"], 0.1), 2)
            entry["complete_p95_ratio"] = round(most["complete_ms_p95"] / runs[1]["complete_ms_p95"], 2)
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
