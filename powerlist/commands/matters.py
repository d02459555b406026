"""The approval operations on a matter from the command line: 驳回 reject, 退回 return, 转办 transfer,
撤回 withdraw, 抄送 copy, 催办 remind, 加签 ``approver add`` and its decision ``approval decide``;
and ``matters migrate``, moving running matters to a newer version of their flow.

Each command is a thin adapter over the engine command of the same name in
:mod:`engine.workspace.operations`, which checks who may act through the one access policy, exactly
as the pages and the API do. Exit codes as everywhere: 0 done, 1 refused (no such matter for this
user, not allowed, the matter's state, the reason), 2 invalid input (a malformed id, a missing or
wrong option), never a traceback. ``--json`` prints what the operation did.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from powerlist.common import ID, TASK, State, echo_json, pass_state, reports_errors

if TYPE_CHECKING:
    from engine.workspace.operations import Outcome


def _as_option(help_text: str = "Username of the person doing it."):
    return click.option("--as", "actor", required=True, help=help_text)


def _json_option():
    return click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")


def _report(outcome: Outcome, as_json: bool, done: str) -> None:
    """The outcome as JSON, or one line: what was done, the matter's state, the steps now open."""
    if as_json:
        echo_json(outcome.as_dict())
        return
    opened = ", ".join(f"{t['name']} ({t['id']})" for t in outcome.opened)
    click.echo(f"{done}; matter {outcome.instance_id} {outcome.status}" + (f"; next: {opened}" if opened else ""))


def _run(state: State, operation, *args: Any) -> Outcome:
    with state.transaction() as session:
        return operation(session, *args)


@click.command()
@click.argument("task_id", type=TASK, metavar="TASK")
@_as_option("The holder of the step.")
@click.option("--reason", required=True, help="Why the matter is refused (kept in its history).")
@_json_option()
@pass_state
@reports_errors
def reject(state: State, task_id: str, actor: str, reason: str, as_json: bool) -> None:
    """驳回: refuse the matter at this step; it ends (cancelled) and the reason stays in its history."""
    from engine.workspace import operations

    _report(_run(state, operations.reject, task_id, actor, reason), as_json, "rejected")


@click.command("return")
@click.argument("task_id", type=TASK, metavar="TASK")
@click.option("--to", "step_id", required=True, metavar="STEP", help="Id of an earlier step the matter went through.")
@_as_option("The holder of the step.")
@click.option("--reason", required=True, help="Why it goes back (kept in its history).")
@_json_option()
@pass_state
@reports_errors
def return_to(state: State, task_id: str, step_id: str, actor: str, reason: str, as_json: bool) -> None:
    """退回: send the matter back from this step to an earlier step of the same matter."""
    from engine.workspace import operations

    _report(_run(state, operations.return_to, task_id, actor, step_id, reason), as_json, f"returned to {step_id}")


@click.command()
@click.argument("task_id", type=TASK, metavar="TASK")
@click.option("--to", "to", required=True, metavar="USER", help="Another holder of the step's role in the same place.")
@_as_option("The holder of the step.")
@click.option("--reason", required=True, help="Why it is handed over (kept in its history).")
@_json_option()
@pass_state
@reports_errors
def transfer(state: State, task_id: str, to: str, actor: str, reason: str, as_json: bool) -> None:
    """转办: hand the step to another holder of the same role in the same village or town."""
    from engine.workspace import operations

    _report(_run(state, operations.transfer, task_id, actor, to, reason), as_json, f"transferred to {to}")


@click.command()
@click.argument("instance_id", type=ID, metavar="MATTER")
@_as_option("Who did the latest step, or who started a matter nobody has acted on.")
@click.option("--reason", required=True, help="Why it is taken back (kept in its history).")
@_json_option()
@pass_state
@reports_errors
def withdraw(state: State, instance_id: int, actor: str, reason: str, as_json: bool) -> None:
    """撤回: take back one's latest step before anyone acts on what followed, or cancel a matter
    one started that nobody has acted on yet."""
    from engine.workspace import operations

    _report(_run(state, operations.withdraw, instance_id, actor, reason), as_json, "withdrawn")


@click.command()
@click.argument("instance_id", type=ID, metavar="MATTER")
@click.option("--to", "recipients", required=True, multiple=True, metavar="USER", help="Who gets it; repeatable.")
@_as_option()
@click.option("--note", default=None, help="A note for the recipients.")
@_json_option()
@pass_state
@reports_errors
def copy(
    state: State, instance_id: int, recipients: tuple[str, ...], actor: str, note: str | None, as_json: bool
) -> None:
    """抄送: copy the matter to people who may see it (supervisors, usually) for their information."""
    from engine.workspace import operations

    names = list(recipients)
    _report(_run(state, operations.copy, instance_id, actor, names, note), as_json, f"copied to {', '.join(names)}")


@click.command()
@click.argument("task_id", type=TASK, metavar="TASK")
@_as_option()
@click.option("--note", default=None, help="A note for the holders of the step.")
@_json_option()
@pass_state
@reports_errors
def remind(state: State, task_id: str, actor: str, note: str | None, as_json: bool) -> None:
    """催办: remind the holders of an open step (at most once an hour per person and step)."""
    from engine.workspace import operations

    _report(_run(state, operations.remind, task_id, actor, note), as_json, "reminded")


@click.group()
def approver() -> None:
    """加签: ask another person to approve a step."""


@approver.command("add")
@click.argument("task_id", type=TASK, metavar="TASK")
@click.option("--approver", "approver_name", required=True, metavar="USER", help="Who is to approve.")
@click.option(
    "--position",
    required=True,
    type=click.Choice(["before", "after"]),
    help="before: they approve before the holder does the step (前加签); after: the holder's "
    "submission waits for their approval (后加签).",
)
@_as_option("The holder of the step.")
@click.option("--reason", required=True, help="Why their approval is asked (kept in the history).")
@_json_option()
@pass_state
@reports_errors
def approver_add(
    state: State, task_id: str, approver_name: str, position: str, actor: str, reason: str, as_json: bool
) -> None:
    """Ask USER to approve this step, before it is done or before its submission takes effect."""
    from engine.workspace import operations

    outcome = _run(state, operations.add_approver, task_id, actor, approver_name, position, reason)
    _report(outcome, as_json, f"added approver {approver_name} ({position})")


@click.group()
def approval() -> None:
    """An added approval (加签) one was asked to decide."""


@approval.command("decide")
@click.argument("approval_id", type=ID, metavar="APPROVAL")
@_as_option("The approver named in the approval.")
@click.option("--agree/--disagree", "agree", default=None, help="The decision (one of the two is required).")
@click.option("--comment", default=None, help="Why (required with --disagree).")
@_json_option()
@pass_state
@reports_errors
def approval_decide(
    state: State, approval_id: int, actor: str, agree: bool | None, comment: str | None, as_json: bool
) -> None:
    """Agree or not to an added approval; agreeing to a 后加签 completes the waiting submission."""
    from engine.workspace import operations

    if agree is None:
        raise click.UsageError("give --agree or --disagree")
    outcome = _run(state, operations.decide, approval_id, actor, agree, comment)
    _report(outcome, as_json, "agreed" if agree else "disagreed")


@click.group()
def matters() -> None:
    """Matters of a flow as a whole."""


@matters.command("migrate")
@click.option("--flow", "key", required=True, metavar="KEY", help="The flow whose running matters move.")
@click.option("--to-version", "to_version", required=True, type=click.IntRange(min=1), help="The newer version.")
@click.option(
    "--from-version",
    "from_version",
    type=click.IntRange(min=1),
    default=None,
    help="Move only matters of this version (default: every older version).",
)
@click.option("--village", default=None, metavar="CODE", help="Move only the matters of this village.")
@click.option("--as", "actor", default=None, help="An administrator of the flow's counties (default: the operator).")
@click.option("--dry-run", is_flag=True, help="Report what would move and why not; change nothing.")
@_json_option()
@pass_state
@reports_errors
def matters_migrate(
    state: State,
    key: str,
    to_version: int,
    from_version: int | None,
    village: str | None,
    actor: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Move the running matters of a flow to a newer deployed version, each in its own transaction.

    A matter whose open or completed step is gone from the new version (or changed id or kind), or
    whose open step changed role or required fields, stays as it is and is reported with the
    reasons. Exits 1 when a real run left any matter behind.
    """
    import os

    from engine.persistence.db import make_sessionmaker
    from engine.workspace import migration

    report = migration.migrate(
        make_sessionmaker(state.engine),
        key,
        to_version,
        actor,
        from_version=from_version,
        village=village,
        dry_run=dry_run,
    )
    language = os.environ.get("POWERLIST_LANG", "zh")
    if as_json:
        echo_json(report.as_dict(language))
    else:
        verb = "would move" if dry_run else "moved"
        for move in report.matters:
            done = move.movable if dry_run else move.moved
            head = f"matter {move.instance_id} ({move.village}, v{move.from_version})"
            if done:
                opened = f"; opened: {', '.join(move.opened)}" if move.opened else ""
                click.echo(f"{head}: {verb} to v{to_version}; open: {', '.join(move.open_steps) or '-'}{opened}")
            else:
                reasons = "; ".join(r["message"] for r in move.as_dict(language)["reasons"])
                click.echo(f"{head}: stays: {reasons}")
        count = report.movable if dry_run else report.moved
        click.echo(f"{key}: {count} of {len(report.matters)} running matters {verb} to v{to_version}")
    if not dry_run and report.refused:
        sys.exit(1)


commands = [reject, return_to, transfer, withdraw, copy, remind, approver, approval, matters]
