"""The villages' decision registers (决议台账): ``powerlist decisions list|record|close``.

Thin adapters over :mod:`engine.supervision.decisions`: who may read, record and close is the one
access policy's (``decision.*``). Exit codes as everywhere: 0 done, 1 refused, 2 invalid input.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

import click

from powerlist.common import State, echo_json, pass_state, reports_errors


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"{Decimal(fen) / 100:,.2f}"


@click.group()
def decisions() -> None:
    """A village's register of passed decisions and what has been spent against each."""


@decisions.command("list")
@click.argument("village")
@click.option("--year", type=click.IntRange(2000, 2100), default=None)
@click.option("--as", "actor", required=True, help="Who reads it.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def list_(state: State, village: str, year: int | None, actor: str, as_json: bool) -> None:
    """Each decision with its amount, and what was contracted, paid and settled against it."""
    from engine.supervision import decisions as register

    with state.transaction() as session:
        rows = register.register_of(session, actor, village, year)
    if as_json:
        echo_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo("（决议台账为空）")
    for r in rows:
        flag = " 超支!" if r.over else ""
        click.echo(
            f"{r.number:<22} {r.status_title:<4} {r.passed_on} {r.kind_title} {r.purpose} "
            f"批准 {_yuan(r.amount_fen)} 合同 {_yuan(r.contracted_fen)} 支出 {_yuan(r.paid_fen)} "
            f"流水 {_yuan(r.settled_fen)}{flag}"
        )


@decisions.command("record")
@click.argument("village")
@click.option("--kind", required=True, help="resolution, joint_meeting, representatives or payment_approval.")
@click.option("--amount", default=None, help="Approved amount in yuan, e.g. 120000.00 (omit when no money).")
@click.option("--purpose", required=True, help="What was decided.")
@click.option("--passed-on", required=True, metavar="YYYY-MM-DD", help="The day it was passed.")
@click.option("--note", required=True, help="Where the minutes are kept, or the attachment's number.")
@click.option("--as", "actor", required=True, help="The town agency clerk who records it.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def record(state: State, village: str, kind: str, amount: str | None, purpose: str, passed_on: str, note: str,
           actor: str, as_json: bool) -> None:  # fmt: skip
    """Register a decision passed on paper (before the village used the system)."""
    from engine.supervision import decisions as register

    with state.transaction() as session:
        decision = register.record_paper(
            session, actor, village, kind=kind, amount_fen=amount, purpose=purpose, passed_on=passed_on,
            note=note,
        )  # fmt: skip
        shown: dict[str, Any] = register.describe(decision)
    if as_json:
        echo_json(shown)
    else:
        click.echo(f"registered {shown['number']}")


@decisions.command("close")
@click.argument("village")
@click.argument("number")
@click.option("--reason", required=True, help="Why (e.g. 工程已竣工决算).")
@click.option("--as", "actor", required=True, help="The town agency clerk who closes it.")
@pass_state
@reports_errors
def close(state: State, village: str, number: str, reason: str, actor: str) -> None:
    """Close a decision whose work is done: nothing may cite it any more."""
    from engine.supervision import decisions as register

    with state.transaction() as session:
        register.close(session, actor, village, number, reason)
    click.echo(f"closed {number}")


commands = [decisions]
