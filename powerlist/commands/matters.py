"""The approval operations on a matter from the command line: 驳回 reject, 退回 return, 转办 transfer,
撤回 withdraw, 抄送 copy, 催办 remind, 加签 ``approver add`` and its decision ``approval decide``.

Each command is a thin adapter over the engine command of the same name in
:mod:`engine.workspace.operations`, which checks who may act through the one access policy, exactly
as the pages and the API do. Exit codes as everywhere: 0 done, 1 refused (no such matter for this
user, not allowed, the matter's state, the reason), 2 invalid input (a malformed id, a missing or
wrong option), never a traceback. ``--json`` prints what the operation did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from powerlist.cli import ID, TASK, State, echo_json, pass_state, reports_errors

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


commands = [reject, return_to, transfer, withdraw, copy, remind, approver, approval]
