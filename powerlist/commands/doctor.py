"""``powerlist doctor``: find open tasks without the deadline timers the current rules require, and
matters whose state no history event vouches for yet (see :mod:`engine.history.seal`).

Tasks opened before a release that added a kind of timer (or whose timer rows were lost) are never
warned about however late they are. ``doctor`` lists them; ``doctor --fix`` adds the timers (see
:mod:`engine.supervision.backfill`) and the next sweep fires the overdue ones. ``powerlist init``
runs the same fix after upgrading the schema.
"""

from __future__ import annotations

import click

from engine.calendar import local_iso
from engine.clock import as_utc
from powerlist.common import State, echo_json, fail, pass_state, reports_errors


@click.command()
@click.option("--fix", is_flag=True, help="Add the missing timers (without it nothing is written).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def doctor(state: State, fix: bool, as_json: bool) -> None:
    """Check that every open task has its deadline timers (reminder, due, red); --fix adds the missing ones."""
    from engine.history import seal
    from engine.persistence.migrate import is_up_to_date
    from engine.supervision.backfill import backfill

    if not is_up_to_date(state.engine):
        fail("the database schema is not up to date: run 'powerlist init' first", 1)
    report = backfill(state.engine, fix=fix)
    with state.transaction() as session:
        unsealed = len(seal.unsealed(session))
    if fix and unsealed:
        seal.seal(state.engine)
    if as_json:
        echo_json(dict(report.as_dict(), unsealed=unsealed))
        return
    for task in report.tasks:
        due = local_iso(as_utc(task.due_at)) if task.due_at else "—"
        kinds = ", ".join(key.split(":", 1)[0] for key in task.added)
        verb = "added" if fix else "missing"
        where = f"#{task.instance_id:<6} {task.step_name}（{task.step_id}，task {task.task_id}）"
        click.echo(f"{where}due {due}: {verb} {kinds}")
    for failure in report.errors:
        click.echo(f"matter {failure['instance']} could not be checked: {failure['error']}", err=True)
    summary = f"{report.open_tasks} open task(s) checked, {len(report.tasks)} without all their deadline timers"
    if not report.tasks:
        click.echo(f"{report.open_tasks} open task(s) checked: every one has its deadline timers")
    elif fix:
        click.echo(f"{summary}: added {report.timers} timer(s); the next sweep fires the overdue ones")
    else:
        click.echo(f"{summary}: run 'powerlist doctor --fix' to add {report.timers} timer(s)")
    if unsealed:
        what = f"{unsealed} matter(s) whose newest event carries no state digest"
        click.echo(f"{what}: sealed" if fix else f"{what}: run 'powerlist doctor --fix' to seal them")


commands = [doctor]
