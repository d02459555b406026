"""三务公开: generate, review and post the periodic disclosures; list what is due.

``powerlist disclosures due|prepare|review|post``: thin adapters over :mod:`engine.public.disclosures`,
whose ``disclosure.*`` checks are the one access policy's. Exit codes as everywhere: 0 done, 1 refused,
2 invalid input.
"""

from __future__ import annotations

from dataclasses import asdict

import click

from powerlist.common import State, echo_json, pass_state, reports_errors


@click.group()
def disclosures() -> None:
    """A village's periodic disclosures (党务、村务、财务公开): what is due, prepare, review, post."""


def _line(row) -> str:
    return f"{row.kind} {row.period} #{row.revision} {row.status} sha256:{row.digest}"


@disclosures.command("due")
@click.option("--village", required=True, help="The village's code, e.g. QX0101.")
@click.option("--as", "actor", required=True, help="Who reads it (the village's cadres, 村监会, auditors).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def due(state: State, village: str, actor: str, as_json: bool) -> None:
    """Every recent period of each kind: its due day, its state, posted on time or how many days late."""
    from engine.public import disclosures as area

    with state.transaction() as session:
        rows = area.due_for(session, actor, village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    for r in rows:
        if r.posted_on:
            when = f"公开于 {r.posted_on}" + (f"（逾期 {r.late_days} 天）" if r.late_days else "（按时）")
        else:
            when = f"逾期 {r.late_days} 天未公开" if r.overdue else "未到期"
        revision = f"#{r.revision} sha256:{r.digest[:12]}" if r.revision else ""
        click.echo(f"{r.kind:<16} {r.period:<8} 截止 {r.due_on}  {r.status_title:<8} {when} {revision}")


@disclosures.command("prepare")
@click.argument("kind", type=click.Choice(["finance", "village_affairs", "party_affairs"]))
@click.argument("period", metavar="PERIOD")
@click.option("--village", required=True)
@click.option("--note", default=None, help="A short note shown with it (numbers of IDs, phones, cards are hidden).")
@click.option("--as", "actor", required=True, help="A village cadre (party secretary, chair, bookkeeper, cadre).")
@pass_state
@reports_errors
def prepare(state: State, kind: str, period: str, village: str, note: str | None, actor: str) -> None:
    """Generate the disclosure of KIND for PERIOD (2026-11 monthly, 2026Q3 quarterly) from the record."""
    from engine.public import disclosures as area

    with state.transaction() as session:
        row = area.prepare(session, actor, village, kind, period, note=note)
        click.echo(f"prepared {_line(row)}")


@disclosures.command("review")
@click.argument("kind", type=click.Choice(["finance", "village_affairs", "party_affairs"]))
@click.argument("period", metavar="PERIOD")
@click.option("--village", required=True)
@click.option(
    "--revision",
    required=True,
    type=click.IntRange(min=1),
    help="The revision you read (``due`` shows it as #N); refused if the draft was prepared again since.",
)
@click.option("--approve", is_flag=True, help="Sign it: its content and digest are frozen.")
@click.option("--return", "reason", default=None, metavar="REASON", help="Return it with the reason.")
@click.option("--as", "actor", required=True, help="A member of the village's 村务监督委员会 (not who prepared it).")
@pass_state
@reports_errors
def review(
    state: State, kind: str, period: str, village: str, revision: int, approve: bool, reason: str | None, actor: str
) -> None:
    """The 村监会 signs the prepared disclosure (the revision it read) or returns it."""
    from engine.public import disclosures as area

    if approve == (reason is not None):
        raise click.UsageError("give exactly one of --approve or --return REASON")
    with state.transaction() as session:
        row = area.review(session, actor, village, kind, period, revision=revision, approve=approve, reason=reason)
        click.echo(f"reviewed {_line(row)}")


@disclosures.command("post")
@click.argument("kind", type=click.Choice(["finance", "village_affairs", "party_affairs"]))
@click.argument("period", metavar="PERIOD")
@click.option("--village", required=True)
@click.option("--place", "places", multiple=True, help="Where it is posted (repeat), e.g. 村务公开栏.")
@click.option("--as", "actor", required=True, help="A village cadre.")
@pass_state
@reports_errors
def post(state: State, kind: str, period: str, village: str, places: tuple[str, ...], actor: str) -> None:
    """Post the signed disclosure today; after its due day it still posts, marked late."""
    from engine.public import disclosures as area

    with state.transaction() as session:
        row = area.post(session, actor, village, kind, period, places=list(places))
        late = area.late_days(row)
        click.echo(f"posted {_line(row)} on {row.posted_on}" + (f" ({late} days late)" if late else ""))


@disclosures.command("summary")
@click.option("--village", required=True)
@click.option("--half", required=True, metavar="YYYYH1|YYYYH2", help="The half year, e.g. 2026H1.")
@click.option("--as", "actor", required=True, help="A village cadre, its 村监会 or an auditor.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def summary(state: State, village: str, half: str, actor: str, as_json: bool) -> None:
    """The generated summary of a half year (all matters and decisions) that the 两委's half-yearly report
    attaches, and its SHA-256 digest to write on the report."""
    from engine.public import disclosures as area

    with state.transaction() as session:
        found = area.summary_for(session, actor, village, half)
    if as_json:
        echo_json(asdict(found))
        return
    content = found.content
    click.echo(f"{content['village']} {content['half']} {content['first']} … {content['last']}")
    for m in content["matters"]:
        click.echo(f"  {m['name']}: 新办 {m['started']} 办结 {m['completed']}")
    for d in content["decisions"]:
        click.echo(f"  {d['number']} {d['purpose']} {d['passed_on']}")
    click.echo(f"sha256:{found.digest}")


commands = [disclosures]
