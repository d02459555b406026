"""补贴去哪了: import, publish and list subsidy rosters; list households' door-plate codes (户码).

Thin adapters over :mod:`engine.public.subsidies` (the staff page calls the same commands).
Exit codes as everywhere: 0 done, 1 refused, 2 invalid input.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import click

# Imported here, not in each command: the subsidy flows' step hook registers with it, for every command.
from engine.public import subsidies as book
from powerlist.common import ID, State, echo_json, fail, pass_state, reports_errors


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


@click.group()
def subsidies() -> None:
    """Subsidy rosters (补贴名册) a village publishes, and its households' lookup codes."""


@subsidies.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--village", required=True, help="The village's code, e.g. QX0101.")
@click.option(
    "--kind", required=True, help="The kind of subsidy (see rules/defaults/subsidies.yaml), e.g. subsistence."
)
@click.option("--period", required=True, help="2026-11 (monthly kinds), 2026Q4 (quarterly) or 2026 (yearly).")
@click.option("--as", "actor", required=True, help="The civil-affairs or agency clerk who publishes it.")
@click.option("--replace", is_flag=True, help="Replace the roster already published for that period (recorded).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def import_(state: State, file: str, village: str, kind: str, period: str, actor: str, replace: bool, as_json: bool):
    """Check a CSV or .xlsx roster and publish it: every row or none; each problem printed with its line and column."""
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    try:
        with state.transaction() as session:
            done = book.import_roster(session, actor, data, path.name, village, kind, period, replace=replace)
    except book.RosterInvalid as invalid:
        if as_json:
            echo_json({"error": invalid.code, "problems": [p.as_dict() for p in invalid.problems]})
        click.echo(f"error: {invalid.filename} 有 {len(invalid.problems)} 处问题，名册没有导入：", err=True)
        for problem in invalid.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(invalid.exit_code)
    if as_json:
        echo_json(asdict(done))
        return
    click.echo(
        f"published roster #{done.roster_id}: {done.village} {done.kind_name} {done.period} "
        f"{done.households} 户 {done.people} 人 {_yuan(done.total_fen)} 元 (sha256 {done.sha256[:12]}…)"
    )


@subsidies.command("list")
@click.option("--village", required=True)
@click.option("--as", "actor", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def list_(state: State, village: str, actor: str, as_json: bool) -> None:
    """The village's rosters, withdrawn and replaced ones too, newest period first."""
    with state.transaction() as session:
        rows = book.rosters_for_staff(session, actor, village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("（还没有补贴名册）")
    for r in rows:
        status = {"published": "公布中", "withdrawn": "已撤下", "replaced": "已替换"}.get(r.status, r.status)
        note = f" 原因：{r.withdraw_reason}" if r.withdraw_reason else ""
        click.echo(
            f"#{r.id} {r.period} {r.kind_name} {status} {r.households} 户 {r.people} 人 "
            f"{_yuan(r.total_fen)} 元 {r.source} {r.filename or ''} by {r.imported_by or '-'}{note}"
        )


@subsidies.command("withdraw")
@click.argument("roster_id", type=ID)
@click.option("--reason", required=True, help="Why it is taken down (kept in the record).")
@click.option("--as", "actor", required=True)
@pass_state
@reports_errors
def withdraw(state: State, roster_id: int, reason: str, actor: str) -> None:
    """Take a wrong roster down from the villagers' page; it stays in the record with the reason."""
    with state.transaction() as session:
        row = book.withdraw(session, actor, roster_id, reason)
    click.echo(f"withdrew roster #{row.id} ({row.village} {row.kind_name} {row.period})")


@subsidies.command("households")
@click.option("--village", required=True)
@click.option("--as", "actor", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def households(state: State, village: str, actor: str, as_json: bool) -> None:
    """The village's household codes (户码) to print on door plates, with the head's name masked."""
    with state.transaction() as session:
        rows = book.households_of(session, actor, village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("（还没有户码：导入一份名册后就有）")
    for r in rows:
        click.echo(f"{r.code}\t{r.head}\t{r.group}")


commands = [subsidies]
