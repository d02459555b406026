"""The ``powerlist`` command line.

Exit codes: 0 success, 1 a refused action (permission, state, form, conflict), 2 invalid input
(a BPMN file with problems, bad arguments), 3 an internal error. ``--json`` on listing commands
prints machine-readable output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import DefinitionInvalid, PowerlistError


class State:
    def __init__(self) -> None:
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from engine.persistence.db import make_engine

            self._engine = make_engine()
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        from engine.persistence.db import make_sessionmaker

        with make_sessionmaker(self.engine)() as session, session.begin():
            yield session


pass_state = click.make_pass_decorator(State, ensure=True)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def reports_errors(func: Callable) -> Callable:
    """Turn engine and database errors into one clear line and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DefinitionInvalid as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(2)
        except PowerlistError as exc:
            fail(str(exc), exc.exit_code)
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
            if "no such table" in text or "does not exist" in text:
                fail("the database is not set up: run 'powerlist init' first", 1)
            fail(f"database error: {text.splitlines()[0]}", 3)
        except IntegrityError as exc:
            fail(f"conflicting change, nothing was written: {str(exc.orig).splitlines()[0]}", 1)

    return wrapper


def parse_data(text: str | None) -> Any:
    if text is None:
        return {}
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {text[1:]}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


@click.group()
@click.version_option(package_name="powerlist")
def main() -> None:
    """powerlist: village micro-power lists (村级小微权力清单) run as BPMN flows."""
    clock.install()
    clock.configure_from_environment()


@main.command()
@pass_state
@reports_errors
def init(state: State) -> None:
    """Create the database schema, or upgrade it to the newest version."""
    from engine.persistence.migrate import upgrade

    applied = upgrade(state.engine)
    url = state.engine.url.render_as_string(hide_password=True)
    click.echo(f"database {url}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the logins as JSON.")
@pass_state
@reports_errors
def demo(state: State, as_json: bool) -> None:
    """Create (or refresh) a demo county with towns, villages, users and the shipped flows."""
    from engine.persistence.migrate import upgrade
    from powerlist.demo import DEMO_PASSWORD, load_demo

    upgrade(state.engine)
    with state.transaction() as session:
        summary = load_demo(session)
    if as_json:
        echo_json(summary)
        return
    for line in summary["deployed"]:
        click.echo(line)
    for line in summary["skipped"]:
        click.echo(line, err=True)
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for login in summary["users"]:
        click.echo(f"  {login['username']:<28} {login['roles']}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def validate(file: str, as_json: bool) -> None:
    """Check a BPMN file and its forms; exit 2 listing every problem."""
    from engine.api import validate_file

    try:
        report = validate_file(file)
    except Exception as exc:  # the validator reports problems itself; this is a last line of defence
        fail(f"{file}: could not be validated: {exc}", 2)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "problems": [p.__dict__ for p in report.problems],
                "key": report.definition.key if report.definition else None,
            }
        )
        sys.exit(0 if report.ok else 2)
    if not report.ok:
        for problem in report.problems:
            click.echo(str(problem))
        click.echo(f"{file}: {len(report.problems)} problem(s)", err=True)
        sys.exit(2)
    d = report.definition
    click.echo(f"{file}: ok - {d.key} '{d.name}', {len(d.steps)} user tasks, {len(d.forms)} forms")
    for step in d.steps:
        limit = f" {step.time_limit}{' working' if step.calendar == 'working' else ''}" if step.time_limit else ""
        click.echo(f"  {step.id:<24} {step.name} [{step.role}]{limit}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "actor", default=None, help="Who deploys (recorded in the audit log).")
@pass_state
@reports_errors
def deploy(state: State, file: str, actor: str | None) -> None:
    """Deploy a BPMN file (and the forms beside it) as a new version."""
    from engine.api import deploy_file

    with state.transaction() as session:
        result = deploy_file(session, file, actor)
    click.echo(f"deployed {result.key} v{result.version}" + ("" if result.created else " (unchanged)"))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def definitions(state: State, as_json: bool) -> None:
    """List deployed flows and their versions."""
    from engine.queries import definitions as list_definitions

    with state.transaction() as session:
        rows = list_definitions(session)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        flag = " retired" if row["retired"] else ""
        click.echo(
            f"{row['key']:<24} v{row['version']:<3} {row['number'] or '-':<5} {row['name']} "
            f"({row['steps']} steps, {row['running']} running){flag}"
        )


@main.command()
@click.argument("key")
@click.option("--village", required=True, help="Village code.")
@click.option("--as", "actor", required=True, help="Username of the person starting the matter.")
@click.option("--data", default=None, help="Initial data as a JSON object, or @file.json.")
@click.option("--title", default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def start(state: State, key: str, village: str, actor: str, data: str | None, title: str | None, as_json: bool):
    """Start a matter of a power item for a village; prints the instance id."""
    from engine.api import start as start_matter

    payload = parse_data(data)
    with state.transaction() as session:
        result = start_matter(session, key, village, actor, payload, title)
    if as_json:
        echo_json(
            {"instance": result.instance_id, "status": result.status, "opened": [t.__dict__ for t in result.opened]}
        )
        return
    click.echo(result.instance_id)


@main.command()
@click.option("--village", default=None, help="Village (or town) code.")
@click.option("--as", "actor", default=None, help="Only tasks this user may complete.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def tasks(state: State, village: str | None, actor: str | None, as_json: bool) -> None:
    """List open user tasks: overdue first, then by due time."""
    from engine.queries import open_tasks

    with state.transaction() as session:
        rows = open_tasks(session, village, actor)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no open tasks")
    for row in rows:
        due = row["due_at"] or "-"
        mark = " OVERDUE" if row["overdue"] else ""
        click.echo(
            f"{row['id']}  #{row['instance']:<6} {row['village']:<8} {row['step_name']} [{row['role']}] due {due}{mark}"
        )


@main.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.option("--data", required=True, help="Form data as a JSON object, or @file.json.")
@click.option(
    "--waive-checks",
    "waive_reason",
    default=None,
    metavar="REASON",
    help="Record failed legal checks (quorum, majority…) with this reason instead of refusing; raises a violation.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def complete(state: State, task_id: str, actor: str, data: str, waive_reason: str | None, as_json: bool) -> None:
    """Complete an open task with form data."""
    from engine.api import complete as complete_task

    payload = parse_data(data)
    with state.transaction() as session:
        result = complete_task(session, task_id, actor, payload, waive_reason)
    if as_json:
        echo_json(
            {"instance": result.instance_id, "status": result.status, "opened": [t.__dict__ for t in result.opened]}
        )
        return
    opened = ", ".join(f"{t.step_name} ({t.id})" for t in result.opened)
    click.echo(f"completed; instance {result.instance_id} {result.status}" + (f"; next: {opened}" if opened else ""))


@main.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True, help="An administrator, or the town agency of the matter's town.")
@click.option("--reason", required=True, help="Why the step is forced past (kept in history).")
@click.option("--data", default=None, help="Data the later steps need, as a JSON object or @file.json.")
@pass_state
@reports_errors
def force(state: State, task_id: str, actor: str, reason: str, data: str | None) -> None:
    """Force a matter past an open task without its form (recorded, and raises a violation)."""
    from engine.api import force as force_task

    payload = parse_data(data)
    with state.transaction() as session:
        result = force_task(session, task_id, actor, reason, payload)
    click.echo(f"forced; instance {result.instance_id} {result.status}")


@main.command()
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def history(state: State, instance_id: int, as_json: bool) -> None:
    """Show an instance's history events in order."""
    from engine import queries

    with state.transaction() as session:
        info = queries.instance(session, instance_id)
        events = queries.history(session, instance_id)
    if as_json:
        echo_json({"instance": info, "events": events})
        return
    click.echo(
        f"#{info['id']} {info['name']} v{info['version']} - {info['title']} ({info['village']}) {info['status']}"
    )
    for event in events:
        who = f" by {event['actor']}" if event["actor"] else ""
        step = f" {event['step']}" if event["step"] else ""
        detail = json.dumps(event["data"], ensure_ascii=False) if event["data"] else ""
        click.echo(f"{event['seq']:>3} {event['at']} {event['kind']}{step}{who} {detail}")


@main.command()
@click.option("--instance", "instance_id", type=int, default=None, help="Check one instance only.")
@click.option("--anchor", "anchor", default=None, metavar="DIGEST", help="Also check against a published anchor.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def verify(state: State, instance_id: int | None, anchor: str | None, as_json: bool) -> None:
    """Check every history chain; exit 1 naming the first bad event."""
    from engine.api import verify_history

    with state.transaction() as session:
        report = verify_history(session, instance_id)
        anchor_check = None
        if anchor is not None and report.ok:
            from engine.audit.anchor import verify_anchor

            anchor_check = verify_anchor(session, anchor)
    if anchor_check is not None and not anchor_check.ok:
        if as_json:
            echo_json(
                {
                    "ok": False,
                    "instances": report.instances,
                    "events": report.events,
                    "bad": None,
                    "anchor": str(anchor_check),
                }
            )
            sys.exit(1)
        fail(f"history does not match anchor {anchor}: {anchor_check}", 1)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "instances": report.instances,
                "events": report.events,
                "bad": str(report.bad) if report.bad else None,
            }
        )
        sys.exit(0 if report.ok else 1)
    if report.ok:
        click.echo(f"ok: {report.instances} instances, {report.events} events, every chain intact")
    else:
        fail(f"history was altered: {report.bad}", 1)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int, help="Worker threads of the web server.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the deadline scheduler in this process.")
@pass_state
@reports_errors
def serve(state: State, host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Run the web app (and the scheduler) on the configured database."""
    from waitress import serve as waitress_serve

    from engine.persistence.migrate import is_up_to_date
    from web import create_app

    if not is_up_to_date(state.engine):
        fail("the database schema is not up to date: run 'powerlist init' first", 1)
    app = create_app()
    scheduler = None
    if not no_scheduler:
        scheduler = _start_scheduler(state.engine)
    url = state.engine.url.render_as_string(hide_password=True)
    click.echo(f"powerlist on http://{host}:{port}/ (database {url})")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="powerlist")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _start_scheduler(engine):
    """The deadline and timer sweeps, when the supervision module provides them."""
    try:
        from engine.supervision.scheduler import start_scheduler
    except ImportError:
        return None
    return start_scheduler(engine)


def _register_area_commands() -> None:
    from powerlist.commands import register_all

    register_all(main)


_register_area_commands()

if __name__ == "__main__":
    main()
