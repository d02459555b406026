"""The ``powerlist`` command line.

Exit codes: 0 success, 1 a refused action (permission, state, form, conflict), 2 invalid input
(a BPMN file with problems, bad arguments), 3 an internal error. ``--json`` on listing commands
prints machine-readable output.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from engine import bootstrap, clock
from powerlist.commands import register_all
from powerlist.common import (
    ID,
    TASK,
    State,
    check_title,
    echo_json,
    fail,
    parse_data,
    pass_state,
    reports_errors,
)


@click.group()
@click.version_option(package_name="powerlist")
def main() -> None:
    """powerlist: village micro-power lists (村级小微权力清单) run as BPMN flows."""
    bootstrap()
    clock.install()
    clock.configure_from_environment()


@main.command()
@pass_state
@reports_errors
def init(state: State) -> None:
    """Create the database schema, or upgrade it to the newest version; then give open tasks the
    deadline timers the current rules require (as ``powerlist doctor --fix``) and seal the state of
    matters whose events predate state digests.

    Safe to run while another ``init`` runs: one upgrades, the other waits and finds it done.
    """
    from engine.persistence.migrate import upgrade
    from engine.supervision.backfill import backfill

    state.announce_database(creating=True)
    applied = upgrade(state.engine)
    url = state.engine.url.render_as_string(hide_password=True)
    click.echo(f"database {url}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))
    report = backfill(state.engine, fix=True)
    line = f"deadline timers: {report.timers} added to {len(report.tasks)} of {report.open_tasks} open task(s)"
    click.echo(line)
    for failure in report.errors:
        click.echo(f"warning: matter {failure['instance']}: deadline timers not checked: {failure['error']}", err=True)
    from engine.history.seal import seal

    sealed = seal(state.engine)
    if sealed:
        click.echo(f"state digests: {sealed} matter(s) sealed with a state_sealed event")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the logins and what was made as JSON.")
@click.option(
    "--size",
    type=click.Choice(["full", "small"]),
    default="full",
    show_default=True,
    help="How many demo matters: a year of them, or a quarter as many (for tests).",
)
@click.option("--no-matters", is_flag=True, help="Only the county, its users and the flows.")
@pass_state
@reports_errors
def demo(state: State, as_json: bool, size: str, no_matters: bool) -> None:
    """Create (or refresh) a demo county with towns, villages, two users per role, the shipped flows
    published to it, and a year of matters (made once: a second run adds none)."""
    from engine.persistence.migrate import upgrade
    from powerlist.demo import DEMO_PASSWORD, load_demo, load_matters

    state.announce_database(creating=True)
    upgrade(state.engine)
    with state.transaction() as session:
        summary = load_demo(session)
    made = None if no_matters else load_matters(state.engine, size)
    if as_json:
        if made is not None:
            summary["matters"] = {
                "already": made.already,
                "matters": made.matters,
                "completed": made.completed,
                "open": made.open,
                "complaints": made.complaints,
                "violations": made.violations,
                "handled": made.handled,
                "failed": made.failed,
            }
        echo_json(summary)
        return
    for line in summary["deployed"]:
        click.echo(line)
    for line in summary["skipped"]:
        click.echo(line, err=True)
    for line in made.lines() if made is not None else []:
        click.echo(line)
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
                "warnings": [p.__dict__ for p in report.warnings],
                "key": report.definition.key if report.definition else None,
            }
        )
        sys.exit(0 if report.ok else 2)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
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
@click.option(
    "--as",
    "actor",
    default=None,
    help="Deploy as this county administrator, for their counties; without it, as the province-level operator.",
)
@click.option(
    "--county",
    "counties",
    multiple=True,
    help="Publish the flow to this county (code; repeatable). Default: the administrator's counties, or every county.",
)
@pass_state
@reports_errors
def deploy(state: State, file: str, actor: str | None, counties: tuple[str, ...]) -> None:
    """Deploy a BPMN file (and the forms beside it) as a new version, and publish it to counties."""
    from engine.api import deploy_file

    with state.transaction() as session:
        result = deploy_file(session, file, actor, list(counties) or None)
    click.echo(f"deployed {result.key} v{result.version}" + ("" if result.created else " (unchanged)"))
    if result.published:
        click.echo(f"published to {', '.join(result.published)}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def definitions(state: State, as_json: bool) -> None:
    """List deployed flows, their versions and the counties each flow is published to."""
    from engine.definitions.scope import publications
    from engine.queries import definitions as list_definitions

    with state.transaction() as session:
        published = publications(session)
        rows = [{**asdict(row), "counties": published.get(row.key, [])} for row in list_definitions(session)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        flag = " retired" if row["retired"] else ""
        click.echo(
            f"{row['key']:<24} v{row['version']:<3} {row['number'] or '-':<5} {row['name']} "
            f"({row['steps']} steps, {row['running']} running) [{', '.join(row['counties'])}]{flag}"
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
    """Start a matter of a power item for a village; prints the instance id.

    The start data may hold only the fields of the flow's start form."""
    payload = parse_data(data)
    check_title(title)
    from engine.api import start as start_matter

    with state.transaction() as session:
        outcome = start_matter(session, key, village, actor, payload, title)
    if as_json:
        echo_json({"instance": outcome.instance_id, "status": outcome.status, "opened": outcome.opened})
        return
    click.echo(outcome.instance_id)


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
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("no open tasks")
    for row in rows:
        due = _china_time(row.due_at) or "-"
        mark = " OVERDUE" if row.overdue else ""
        click.echo(
            f"{row.id}  #{row.instance:<6} {row.village:<8} {row.step_name} [{row.role}] due {due}{mark}"
        )


def _china_time(value: Any) -> str | None:
    """Times people read are China time (Asia/Shanghai, +08:00); --json keeps the stored UTC form."""
    from engine.calendar import local_iso

    return local_iso(value)


def parse_attachments(values: tuple[str, ...]) -> list[tuple[str, Path]]:
    found = []
    for value in values:
        slot, sep, path = value.partition("=")
        if not sep or not slot or not path:
            raise click.BadParameter(f"'{value}': give SLOT=FILE, e.g. minutes=会议记录.pdf", param_hint="--attach")
        file = Path(path)
        if not file.is_file():
            raise click.BadParameter(f"'{path}' is not a readable file", param_hint="--attach")
        found.append((slot, file))
    return found


@main.command()
@click.argument("task_id", type=TASK, metavar="TASK")
@click.option("--as", "actor", required=True)
@click.option("--data", required=True, help="Form data as a JSON object, or @file.json.")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    metavar="SLOT=FILE",
    help="A file for one of the step's attachment slots (会议记录, 签到表…); repeat for more files.",
)
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
def complete(
    state: State, task_id: str, actor: str, data: str, attach: tuple[str, ...], waive_reason: str | None, as_json: bool
) -> None:
    """Complete an open task with form data and the files its attachment slots ask for."""
    payload = parse_data(data)
    from engine.api import complete as complete_task
    from engine.workspace import attachments

    files = parse_attachments(attach)
    with state.transaction() as session:
        from engine import policy
        from engine.persistence.models import OpenTask

        row = session.get(OpenTask, task_id)
        if row is None or not policy.may(session, actor, "task.act", row):
            files = []  # the command refuses the step as it stands: no file is kept for it
        chosen: dict[str, list[int]] = {}
        for slot, file in files:
            row = attachments.store_upload(
                session, None, file.read_bytes()[: attachments.MAX_ATTACHMENT_BYTES + 1], file.name, actor
            )
            chosen.setdefault(slot, []).append(row.id)
        outcome = complete_task(session, task_id, actor, payload, chosen, waive_reason)
    if as_json:
        echo_json(outcome.as_dict())
        return
    if outcome.parked:
        click.echo(f"submitted; instance {outcome.instance_id} waits for the added approver")
        return
    opened = ", ".join(f"{t['name']} ({t['id']})" for t in outcome.opened)
    click.echo(f"completed; instance {outcome.instance_id} {outcome.status}" + (f"; next: {opened}" if opened else ""))


@main.command()
@click.argument("task_id", type=TASK, metavar="TASK")
@click.option("--as", "actor", required=True, help="The town agency of the matter's town.")
@click.option("--reason", required=True, help="Why the step is forced past (kept in history).")
@click.option("--data", default=None, help="Fields of the step's form the later steps need, as JSON or @file.json.")
@pass_state
@reports_errors
def force(state: State, task_id: str, actor: str, reason: str, data: str | None) -> None:
    """Force a matter past an open task without its form (recorded, and raises a violation)."""
    payload = parse_data(data)
    from engine.api import force as force_task

    with state.transaction() as session:
        outcome = force_task(session, task_id, actor, reason, payload)
    click.echo(f"forced; instance {outcome.instance_id} {outcome.status}")


@main.command()
@click.argument("instance_id", type=ID)
@click.option("--as", "actor", default=None, help="Show it only if this user may read the matter.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def history(state: State, instance_id: int, actor: str | None, as_json: bool) -> None:
    """Show an instance's history events in order."""
    from engine import queries
    from engine.workspace.access import visible_instance

    with state.transaction() as session:
        if actor is not None:
            visible_instance(session, actor, instance_id)
        info = queries.instance(session, instance_id)
        events = queries.history(session, instance_id)
    if as_json:
        echo_json({"instance": asdict(info), "events": [asdict(event) for event in events]})
        return
    click.echo(
        f"#{info.id} {info.name} v{info.version} - {info.title} ({info.village}) {info.status}"
    )
    for event in events:
        who = f" by {event.actor}" if event.actor else ""
        step = f" {event.step}" if event.step else ""
        detail = json.dumps(event.data, ensure_ascii=False) if event.data else ""
        click.echo(f"{event.seq:>3} {_china_time(event.at)} {event.kind}{step}{who} {detail}")


@main.command()
@click.option("--instance", "instance_id", type=ID, default=None, help="Check one instance only.")
@click.option("--anchor", "anchor", default=None, metavar="DIGEST", help="Also check against a published anchor.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def verify(state: State, instance_id: int | None, anchor: str | None, as_json: bool) -> None:
    """Check every history chain, the state each matter's newest event vouches for, the open tasks
    against the saved workflows and every violation's chain; exit 1 naming the first problem."""
    from engine.api import verify_history
    from engine.supervision.violation_chain import verify as verify_violations

    with state.transaction() as session:
        report = verify_history(session, instance_id)
        violations = verify_violations(session) if instance_id is None and report.ok else None
        anchor_check = None
        if anchor is not None and report.ok and (violations is None or violations.ok):
            from engine.audit.anchor import verify_anchor

            anchor_check = verify_anchor(session, anchor)
    bad = str(report.bad) if report.bad else None
    if bad is None and violations is not None and not violations.ok:
        bad = violations.bad
    if anchor_check is not None and not anchor_check.ok:
        if as_json:
            echo_json(
                {
                    "ok": False,
                    "instances": report.instances,
                    "events": report.events,
                    "violations": violations.violations if violations else None,
                    "bad": None,
                    "anchor": str(anchor_check),
                }
            )
            sys.exit(1)
        fail(f"history does not match anchor {anchor}: {anchor_check}", 1)
    if as_json:
        echo_json(
            {
                "ok": bad is None,
                "instances": report.instances,
                "events": report.events,
                "violations": violations.violations if violations else None,
                "bad": bad,
            }
        )
        sys.exit(0 if bad is None else 1)
    if bad is None:
        counted = f", {violations.violations} violations" if violations else ""
        click.echo(f"ok: {report.instances} instances, {report.events} events{counted}, every chain intact")
    else:
        fail(f"history was altered: {bad}", 1)


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
    """The deadline and timer sweeps."""
    from engine.scheduler import start_scheduler

    return start_scheduler(engine)


register_all(main)

if __name__ == "__main__":
    main()
