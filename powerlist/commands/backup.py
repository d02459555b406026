"""``powerlist backup FILE`` and ``powerlist restore FILE``: copies of the SQLite database.

The backup is taken with SQLite's online backup API, consistent while the product runs. The restore
refuses a database in use (stop ``serve`` and ``scheduler`` first) and an existing one without
``--force``, then checks every history chain of the restored copy as ``powerlist verify`` does.
On PostgreSQL both explain that ``pg_dump`` and ``pg_restore`` are the tools, and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from powerlist.common import State, fail, pass_state, reports_errors

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("file", type=FILE)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@pass_state
@reports_errors
def backup(state: State, file: Path, force: bool) -> None:
    """Copy the SQLite database to FILE, consistently, while the product runs."""
    from engine.persistence.backup import backup as copy_out

    copied = copy_out(state.engine, file, force=force)
    click.echo(f"backed up to {copied.path}: {copied.pages} pages, {copied.bytes} bytes")


@click.command()
@click.argument("file", type=FILE)
@click.option("--force", is_flag=True, help="Overwrite a database that already holds data.")
@pass_state
@reports_errors
def restore(state: State, file: Path, force: bool) -> None:
    """Restore the SQLite database from the backup FILE, then verify every history chain."""
    from engine.api import verify_history
    from engine.persistence.backup import restore as copy_in
    from engine.persistence.migrate import is_up_to_date
    from engine.supervision.violation_chain import verify as verify_violations

    copied = copy_in(state.engine, file, force=force)
    state.engine.dispose()  # nothing pooled from before the copy
    click.echo(f"restored {copied.path} from {file}: {copied.pages} pages")
    if not is_up_to_date(state.engine):
        click.echo("note: the restored schema is older than this release: run 'powerlist init'", err=True)
    with state.transaction() as session:
        report = verify_history(session)
        violations = verify_violations(session)
    if not report.ok:
        fail(f"the restored history was altered: {report.bad}", 1)
    if not violations.ok:
        fail(f"the restored violation records were altered: {violations.bad}", 1)
    click.echo(f"verified: {report.instances} instances, {report.events} events, every chain intact")


commands = [backup, restore]
