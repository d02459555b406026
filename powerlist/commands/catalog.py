"""The power list as a whole: ``powerlist catalog`` and the printable ``powerlist flowchart``."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from powerlist.common import State, echo_json, fail, pass_state, reports_errors


@contextmanager
def database(state: State) -> Iterator[Session | None]:
    """A session when the database is set up; None (and nothing created) when it is not."""
    from engine.persistence.db import database_url

    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_file():
            yield None
            return
    try:
        ready = inspect(state.engine).has_table("definition_version")
    except (OperationalError, ProgrammingError) as exc:
        click.echo(f"note: database not reachable ({str(exc.orig or exc).splitlines()[0]})", err=True)
        ready = False
    if not ready:
        yield None
        return
    with state.transaction() as session:
        yield session


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def catalog(state: State, as_json: bool) -> None:
    """List the power list (小微权力清单): the items in processes/ and their deployed versions."""
    from engine.catalog.catalog import power_list

    with database(state) as session:
        items = power_list(session)
    if as_json:
        echo_json([item.as_dict() for item in items])
        return
    if items and items[0].versions is None:
        click.echo("database not set up: listing the shipped flows only", err=True)
    for item in items:
        versions = _versions(item.versions)
        steps = f"{item.steps}步" if item.steps else "-"
        columns = (_pad(item.number or "-", 5), _pad(item.category_label, 18), _pad(item.name, 28), _pad(versions, 8))
        click.echo(f"{' '.join(columns)} {steps:<5} {item.key}")
        for problem in item.problems:
            click.echo(f"      invalid: {problem}", err=True)


def _pad(text: str, width: int) -> str:
    """Left-align in a column of terminal cells; Chinese characters take two."""
    cells = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(width - cells, 0)


def _versions(versions: list[dict] | None) -> str:
    if versions is None:
        return "-"
    live = [v for v in versions if not v["retired"]]
    if not live:
        return "未部署"
    return ",".join(f"v{v['version']}" for v in live)


@click.command()
@click.argument("source", metavar="KEY|FILE.bpmn")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.svg, FILE.pdf or FILE.png")
@click.option("--paper", type=click.Choice(["A4", "A3"], case_sensitive=False), default="A4", show_default=True)
@click.option(
    "--orientation",
    type=click.Choice(["portrait", "landscape"], case_sensitive=False),
    default="portrait",
    show_default=True,
)
@pass_state
@reports_errors
def flowchart(state: State, source: str, out: str, paper: str, orientation: str) -> None:
    """Draw the printable flowchart (照图办事) of a power item, by key or BPMN file.

    Steps are numbered and placed in the flow's order from its start. Pages are exactly A4 or A3 in
    the orientation asked for; text is never below 8 pt on paper, so a large chart continues on more
    pages (one PDF, or FILE-2.svg, FILE-3.svg … for SVG and PNG), and the command says so.
    """
    from engine.catalog.catalog import load_flow
    from engine.catalog.flowchart import FORMATS, RenderFailed, draw

    fmt = Path(out).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise click.BadParameter(f"the file must end in {', '.join('.' + f for f in FORMATS)}", param_hint="--out")
    if source.endswith(".bpmn") or Path(source).is_file():
        flow = load_flow(source)
    else:
        with database(state) as session:
            flow = load_flow(source, session)
    try:
        chart = draw(flow.definition, flow.graph, fmt, paper.upper(), orientation.lower())
    except RenderFailed as exc:
        fail(str(exc), 3)
    paths = chart.paths(Path(out))
    for path, content in zip(paths, chart.documents, strict=True):
        try:
            path.write_bytes(content)
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or exc}", 2)
    heading = f"{flow.definition.number or ''} {flow.definition.name}"
    click.echo(f"{out}: {heading} ({chart.summary()}, from {flow.source})")
    for path in paths[1:]:
        click.echo(f"{path}: continued")
    note = chart.overflow_note()
    if note:
        click.echo(f"note: {note}", err=True)


commands = [catalog, flowchart]
