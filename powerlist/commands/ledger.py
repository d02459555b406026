"""我们的钱包: import a village's monthly accounts journal and list what the wallet shows.

``powerlist ledger import FILE --village CODE --month YYYY-MM --as USER [--replace --reason TEXT]`` is the
same engine command as the staff page (:func:`engine.public.ledger.import_journal`, checked by the one
access policy's ``ledger.import``); ``powerlist ledger show --village CODE [--year YYYY] [--month M]
[--json]`` prints what the public page shows, ``powerlist ledger imports`` the village's imports.

Exit codes as everywhere: 0 done, 1 refused, 2 invalid input (every problem of a journal on its own line).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import click

from powerlist.common import State, echo_json, pass_state, reports_errors


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"{Decimal(fen) / 100:,.2f}"


@click.group()
def ledger() -> None:
    """The village's collective accounts (我们的钱包): import a month's journal, show the wallet."""


@ledger.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--village", required=True, help="The village's code, e.g. QX0101.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month the journal is for.")
@click.option("--as", "actor", required=True, help="Who imports it (the town 三资中心 or the village bookkeeper).")
@click.option("--replace", is_flag=True, help="Replace the month's earlier import (needs --reason).")
@click.option("--reason", default=None, help="Why the month is imported again.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def import_(
    state: State, file: Path, village: str, month: str, actor: str, replace: bool, reason: str | None, as_json: bool
) -> None:
    """Import one month's journal (CSV or .xlsx), all or nothing."""
    from engine.public import ledger as area

    try:
        data = file.read_bytes()
    except OSError as exc:
        click.echo(f"{file}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    try:
        with state.transaction() as session:
            row = area.import_journal(session, actor, village, month, data, file.name, replace=replace, reason=reason)
            shown = area.describe(row)
    except area.JournalInvalid as exc:
        for problem in exc.problems:
            click.echo(f"{file.name} {problem}", err=True)
        sys.exit(2)
    if as_json:
        echo_json(asdict(shown))
    else:
        click.echo(
            f"imported {village} {shown.month}: {shown.lines} lines, income {_yuan(shown.income_fen)}, "
            f"spending {_yuan(shown.spending_fen)}, sha256:{shown.sha256}"
        )


@ledger.command("imports")
@click.option("--village", required=True, help="The village's code, e.g. QX0101.")
@click.option("--as", "actor", required=True, help="Who reads it.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def imports(state: State, village: str, actor: str, as_json: bool) -> None:
    """The village's imports, newest month first, replaced ones marked."""
    from engine.public import ledger as area

    with state.transaction() as session:
        rows = area.imports(session, actor, village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    for r in rows:
        replaced = f" replaced {r.replaced_at}" if r.replaced_at else ""
        click.echo(f"{r.month} {r.file} {r.lines} lines sha256:{r.sha256[:16]}{replaced}")


@ledger.command("show")
@click.option("--village", required=True, help="The village's code, e.g. QX0101.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Default: this year.")
@click.option("--month", type=click.IntRange(1, 12), default=None, help="One month of the year.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def show(state: State, village: str, year: int | None, month: int | None, as_json: bool) -> None:
    """What the public wallet page shows: totals, each month, each payment and the income."""
    from engine.public import wallet

    with state.transaction() as session:
        shown = wallet.wallet(session, village, year, month)
    if as_json:
        echo_json(asdict(shown))
        return
    s = shown.summary
    period = f"{shown.year}-{month:02d}" if month else str(shown.year)
    click.echo(f"{shown.village} {period}")
    click.echo(
        f"期初 {_yuan(s['opening_fen'])}  收入 {_yuan(s['income_fen'])}  支出 {_yuan(s['spending_fen'])}  "
        f"期末 {_yuan(s['closing_fen'])}"
    )
    if s["balance_from"]:
        click.echo(f"结余自 {s['balance_from']} 起算（这一年没有导入年初余额）")
    for m in shown.months:
        if m.income_fen or m.spending_fen:
            click.echo(f"  {m.month} 收入 {_yuan(m.income_fen)} 支出 {_yuan(m.spending_fen)}")
    for p in s["payments"]:
        extra = "" if p["source"] == "flow" else " 账上支出"
        if p["books_differ"]:
            extra += f" 账面金额与审批支付金额不一致（表单 {_yuan(p['form_fen'])}）"
        if p["books_over"]:
            extra += f" 账面金额超过批准金额 {_yuan(p['approved_fen'])}"
        if p["resolution"]:
            extra += f" {p['resolution']['text']}"
        click.echo(f"  {p['date']} 支出 {_yuan(p['amount_fen'])} {p['purpose']}{extra}")
    for i in s["income"]:
        click.echo(f"  {i['date']} 收入 {_yuan(i['amount_fen'])} {i['summary']}")


commands = [ledger]
