"""A county-year of matters, loaded fast: a few real matters per example path, driven through the
engine, then their rows cloned in bulk into other villages and other days of the year.

Each clone gets a new matter id, village (and the holders of that village and its town as actors),
new open-task ids and times shifted back by up to a year; its history chain is recomputed with
:func:`engine.history.chain.event_hash` from every hashed column of the event row, so ``verify``
passes on the loaded database as it does on one filled step by step.
"""

from __future__ import annotations

import inspect
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from engine import api
from engine.catalog.examples import ExamplePath, cite, examples_path, load_examples
from engine.history.chain import GENESIS, event_hash
from engine.org.passwords import hash_password
from engine.org.service import ensure_unit, ensure_user, grant
from engine.persistence.db import begin_write
from engine.persistence.models import Base, Matter, OpenTask
from engine.runtime import forms
from engine.runtime.loaded import loaded
from engine.supervision import decisions
from engine.workspace import attachments
from powerlist import demo

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
# Flows whose matters are started by something else (a violation, a villager's report).
NOT_STARTED_BY_HAND = {"rectification", "complaint"}
VILLAGES_PER_TOWN = 25
HASHED = [name for name in inspect.signature(event_hash).parameters if name != "prev"]


@dataclass(frozen=True)
class Village:
    code: str
    slug: str  # user names of its holders are "<slug>.<suffix>"
    town: str
    town_slug: str


def villages(count: int) -> list[Village]:
    """The demo villages first, then generated ones, 25 to a town."""
    found = [
        Village(code, vslug, town, demo.TOWN_SLUGS[town])
        for town, (_name, members) in demo.TOWNS.items()
        for code, (_vname, vslug) in members.items()
    ]
    town_number = len(demo.TOWNS)
    while len(found) < count:
        town_number += 1
        town = f"QX{town_number:02d}"
        for n in range(1, VILLAGES_PER_TOWN + 1):
            code = f"{town}{n:02d}"
            found.append(Village(code, f"v{code.lower()}", town, f"t{town.lower()}"))
    return found[: max(count, 1)]


def add_villages(session: Session, wanted: list[Village]) -> None:
    """Towns and villages beyond the demo's, with a holder of every role (demo password)."""
    demo_hash = hash_password(demo.DEMO_PASSWORD)
    county = ensure_unit(session, demo.COUNTY[0], demo.COUNTY[1], "county")
    towns = {}
    for village in wanted:
        if village.town in demo.TOWNS:
            continue
        if village.town not in towns:
            town = towns[village.town] = ensure_unit(session, village.town, f"{village.town}镇", "town", county)
            for role, (suffix, title) in demo.TOWN_ROLES.items():
                grant(
                    session,
                    ensure_user(session, f"{village.town_slug}.{suffix}", title, password_hash=demo_hash),
                    role,
                    town,
                )
        unit = ensure_unit(session, village.code, f"{village.code}村", "village", towns[village.town])
        for role, (suffix, title) in demo.VILLAGE_ROLES.items():
            grant(session, ensure_user(session, f"{village.slug}.{suffix}", title, password_hash=demo_hash), role, unit)


def by_code(wanted: list[Village]) -> dict[str, Village]:
    return {v.code: v for v in wanted}


def actor(role: str, village: Village) -> str:
    if role in demo.VILLAGE_ROLES:
        return f"{village.slug}.{demo.VILLAGE_ROLES[role][0]}"
    if role in demo.TOWN_ROLES:
        return f"{village.town_slug}.{demo.TOWN_ROLES[role][0]}"
    return demo.COUNTY_ROLES[role][0]


def files_for(session: Session, task_id: str, doer: str, folder: Path) -> dict[str, list[int]]:
    """A sample file in every attachment slot of the open task, uploaded as its doer into ``folder``."""
    row = session.get(OpenTask, task_id)
    definition = loaded(session.get(Matter, row.instance_id).definition)
    schema, _text = definition.form(definition.step(row.step_id))
    chosen = {}
    for slot in forms.form_spec(schema).attachments:
        pdf = not slot["accept"] or attachments.accepts(slot["accept"], "application/pdf")
        content, name = (PDF, "sample.pdf") if pdf else (PNG, "sample.png")
        chosen[slot["name"]] = [attachments.store_upload(session, folder, content, name, doer).id]
    return chosen


@dataclass
class Template:
    """A real matter driven through ``done`` steps of an example path."""

    key: str
    path: ExamplePath
    done: int
    instance_id: int
    village: Village
    running: bool
    data: list[dict[str, Any]] = field(default_factory=list)  # each step's data, decisions cited

    @property
    def drivable(self) -> bool:
        """Whether a clone's open steps can be done by the path's data in another village: no cited
        decision (those belong to the template's village) and no step taken twice."""
        steps = [s.step for s in self.path.steps]
        return self.running and not self.path.cited() and len(set(steps)) == len(steps)


def example_paths() -> list[tuple[str, ExamplePath]]:
    return [
        (flow.stem, path)
        for flow in demo.shipped_flows()
        if flow.stem not in NOT_STARTED_BY_HAND
        for path in load_examples(examples_path(flow))
    ]


def drive(
    sessions: sessionmaker[Session], key: str, path: ExamplePath, done: int, where: Village, folder: Path
) -> Template:
    """Start a matter of ``path`` and do its first ``done`` steps as the holders of each step."""
    with sessions() as session:
        starter = path.started_by or loaded_step_role(session, key, path.steps[0].step)
    with sessions() as session, session.begin():
        begin_write(session)
        agency = actor("town_agency", where)
        numbers = {
            name: decisions.record_paper(session, agency, where.code, **entry).number
            for name, entry in path.cited().items()
        }
        result = api.start(session, key, where.code, actor(starter, where), path.start, path.title)
    template = Template(key, path, done, result.instance_id, where, done < len(path.steps))
    template.data = [cite(step.data, numbers) for step in path.steps]
    for index in range(done):
        with sessions() as session, session.begin():
            begin_write(session)
            (task,) = session.scalars(select(OpenTask).where(OpenTask.instance_id == result.instance_id))
            if task.step_id != path.steps[index].step:
                raise RuntimeError(f"{key}/{path.name}: step {task.step_id} open, {path.steps[index].step} expected")
            doer = actor(task.role, where)
            api.complete(session, task.id, doer, template.data[index], files_for(session, task.id, doer, folder))
    return template


def loaded_step_role(session: Session, key: str, step: str) -> str:
    from engine.persistence.models import DefinitionVersion

    version = session.scalars(
        select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version.desc())
    ).first()
    return loaded(version).step(step).role


def drive_templates(
    sessions: sessionmaker[Session], places: dict[str, Village], folder: Path, per_flow: int | None = None
) -> list[Template]:
    """Per example path (the first ``per_flow`` of each flow): one matter finished, one just started
    and one halfway."""
    found = []
    taken: dict[str, int] = {}
    for key, path in example_paths():
        taken[key] = taken.get(key, 0) + 1
        if per_flow is not None and taken[key] > per_flow:
            continue
        where = places[path.village]
        for done in sorted({len(path.steps), 0, len(path.steps) // 2}):
            found.append(drive(sessions, key, path, done, where, folder))
    return found


# --- cloning --------------------------------------------------------------------------------------


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@dataclass
class Rows:
    """The rows of one template matter that a clone copies."""

    instance: dict[str, Any]
    events: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    receipt: dict[str, Any] | None


def template_rows(conn, instance_id: int) -> Rows:
    def rows(table: str, where) -> list[dict[str, Any]]:
        t = _table(table)
        return [dict(r._mapping) for r in conn.execute(select(t).where(where(t)))]

    (instance,) = rows("process_instance", lambda t: t.c.id == instance_id)
    events = sorted(rows("history_event", lambda t: t.c.instance_id == instance_id), key=lambda e: e["seq"])
    timers = rows("supervision_timer", lambda t: (t.c.instance_id == instance_id) & (t.c.fired.is_(False)))
    receipts = rows("public_receipt", lambda t: t.c.instance_id == instance_id)
    return Rows(
        instance,
        events,
        rows("open_task", lambda t: t.c.instance_id == instance_id),
        [t for t in timers if t["violation_id"] is None],
        receipts[0] if receipts else None,
    )


class Renamer:
    """Rewrites a template's ids, village, town and holders into a clone's, in text and actor names."""

    def __init__(self, source: Village, target: Village, ids: dict[str, str]):
        words = {
            source.code: target.code,
            source.town: target.town,
            f"{source.slug}.": f"{target.slug}.",
            f"{source.town_slug}.": f"{target.town_slug}.",
            **ids,
        }
        self.words = {k: v for k, v in words.items() if k != v}
        alternatives = "|".join(re.escape(k) for k in sorted(self.words, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![0-9])") if self.words else None

    def __call__(self, value: str | None) -> str | None:
        if value is None or self.pattern is None:
            return value
        return self.pattern.sub(lambda m: self.words[m.group(0)], value)


def clone_rows(
    rows: Rows, new_id: int, source: Village, target: Village, units: dict[str, int], shift: timedelta
) -> tuple[dict, list[dict], list[dict], list[dict], list[dict]]:
    """The rows of one clone (instance, events, open tasks, timers, receipt)."""
    task_ids = {t["id"]: str(uuid.uuid4()) for t in rows.tasks}
    rename = Renamer(source, target, {**task_ids, str(rows.instance["id"]): str(new_id)})
    instance = {
        **rows.instance,
        "id": new_id,
        "village_id": units[target.code],
        "started_by": rename(rows.instance["started_by"]),
        "started_at": rows.instance["started_at"] - shift,
        "ended_at": rows.instance["ended_at"] and rows.instance["ended_at"] - shift,
    }
    events = []
    for event in rows.events:
        copy = {**event, "instance_id": new_id, "at": event["at"] - shift, "actor": rename(event["actor"])}
        copy["data"] = rename(event["data"])
        copy.pop("id")
        events.append(copy)
    town_of = {units[source.code]: units[target.code], units[source.town]: units[target.town]}
    tasks = [
        {
            **task,
            "id": task_ids[task["id"]],
            "instance_id": new_id,
            "org_unit_id": town_of.get(task["org_unit_id"], task["org_unit_id"]),
            "opened_at": task["opened_at"] - shift,
            "due_at": task["due_at"] and task["due_at"] - shift,
            "assignee": rename(task["assignee"]),
        }
        for task in rows.tasks
    ]
    prev = GENESIS
    vouched = max((i for i, e in enumerate(events) if e.get("state_digest") is not None), default=None)
    for index, event in enumerate(events):
        if index == vouched:  # the newest digest vouches for the clone's own state
            event["state_digest"] = _state_digest(instance, tasks)
        event["hash"] = prev = event_hash(prev, **{name: event[name] for name in HASHED})
    instance["history_head"] = prev
    timers = []
    for timer in rows.timers:
        if timer["task_id"] not in task_ids:  # a closed task's timer, a no-op when it fires
            continue
        copy = {k: v for k, v in timer.items() if k != "id"}
        copy.update(
            instance_id=new_id,
            key=rename(timer["key"]),
            due_at=timer["due_at"] - shift,
            task_id=task_ids[timer["task_id"]],
            payload=_renamed(timer["payload"], rename),
        )
        timers.append(copy)
    receipts = []
    if rows.receipt is not None:
        receipts.append(
            {
                "instance_id": new_id,
                "code": uuid.uuid4().hex[: len(rows.receipt["code"])].upper(),
                "created_at": rows.receipt["created_at"] - shift,
            }
        )
    return instance, events, tasks, timers, receipts


def _state_digest(instance: dict[str, Any], tasks: list[dict[str, Any]]) -> bytes:
    """The digest of a clone's state (:mod:`engine.history.state`), as its newest event must carry."""
    from engine.history import state

    columns = ("id", "engine_task_id", "step_id", "role", "org_unit_id", "assignee", "opened_at")
    return state.digest(
        status=instance["status"],
        definition_version_id=instance["definition_version_id"],
        village_id=instance["village_id"],
        title=instance["title"],
        started_by=instance["started_by"],
        state=instance["state"],
        tasks=[state.task_entry([task[c] for c in columns]) for task in tasks],
    )


def _renamed(value: Any, rename: Renamer) -> Any:
    if isinstance(value, str):
        return rename(value)
    if isinstance(value, dict):
        return {k: _renamed(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, rename) for v in value]
    return value


@dataclass
class Plan:
    """Which template each clone copies, where and when."""

    template: Template
    village: Village
    shift: timedelta


def plan(templates: list[Template], places: list[Village], matters: int, seed: int = 15) -> Iterator[Plan]:
    """A year's matters: about 85% finished, spread over the year; the running ones recent."""
    rng = random.Random(seed)
    finished = [t for t in templates if not t.running]
    running = [t for t in templates if t.running]
    for _ in range(matters):
        if rng.random() < 0.15:
            yield Plan(rng.choice(running), rng.choice(places), timedelta(days=rng.uniform(0, 20)))
        else:
            yield Plan(rng.choice(finished), rng.choice(places), timedelta(days=rng.uniform(20, 350)))


def clone(
    db_engine: Engine, templates: list[Template], plans: Iterator[Plan], batch: int = 1000
) -> dict[int, Template]:
    """Insert the planned clones in batches; the template of each new matter id."""
    with db_engine.connect() as conn:
        rows = {t.instance_id: template_rows(conn, t.instance_id) for t in templates}
        units = {r.code: r.id for r in conn.execute(text("SELECT id, code FROM org_unit"))}
        next_id = (conn.scalar(select(func.max(Matter.id))) or 0) + 1
    made: dict[int, Template] = {}
    pending: list[Plan] = []

    def flush() -> None:
        nonlocal next_id
        out: tuple[list, ...] = ([], [], [], [], [])
        for item in pending:
            parts = clone_rows(
                rows[item.template.instance_id], next_id, item.template.village, item.village, units, item.shift
            )
            made[next_id] = replace(item.template, village=item.village)
            next_id += 1
            out[0].append(parts[0])
            for index in range(1, 5):
                out[index].extend(parts[index])
        with db_engine.begin() as conn:
            for name, values in zip(
                ("process_instance", "history_event", "open_task", "supervision_timer", "public_receipt"),
                out,
                strict=True,
            ):
                if values:
                    conn.execute(insert(_table(name)), values)
        pending.clear()

    for item in plans:
        pending.append(item)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    if db_engine.dialect.name == "postgresql":
        with db_engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('process_instance', 'id'),"
                    " (SELECT max(id) FROM process_instance))"
                )
            )
    return made


def deploy_every_flow(session: Session) -> None:
    from engine.definitions.deploy import deploy
    from engine.definitions.validate import load_definition_file

    for path in demo.shipped_flows():
        report = load_definition_file(path)
        if report.ok:
            deploy(session, report, path.read_bytes(), actor=None, counties=[demo.COUNTY[0]])


def chains_ok(sessions: sessionmaker[Session]) -> bool:
    """``powerlist verify`` and the violation chains' check, on the whole database."""
    from engine.supervision import violation_chain

    with sessions() as session:
        return api.verify_history(session).ok and violation_chain.verify(session).ok


def sizes(db_engine: Engine) -> dict[str, int]:
    with db_engine.connect() as conn:
        count = {
            name: conn.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608 - fixed table names
            for name in ("process_instance", "history_event", "open_task", "org_unit", "definition_version")
        }
        running = conn.scalar(text("SELECT count(*) FROM process_instance WHERE status = 'running'"))
        items = conn.scalar(text("SELECT count(DISTINCT key) FROM definition_version"))
        villages_ = conn.scalar(text("SELECT count(*) FROM org_unit WHERE level = 'village'"))
    return {
        "villages": villages_,
        "items": items,
        "matters": count["process_instance"],
        "running": running,
        "events": count["history_event"],
        "open_tasks": count["open_task"],
    }


def root() -> Path:
    return Path(__file__).resolve().parent.parent
