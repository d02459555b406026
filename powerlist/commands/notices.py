"""Documents and talks: issue a 预警通知书, 整改通知书 or 三色督查令, record its receipt, print it as
PDF; record a 约谈 or 提醒谈话.

Exit codes as everywhere: 0 done, 1 refused (permission, state), 2 invalid input, 3 internal error.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.calendar import local_iso
from powerlist.common import ID, State, echo_json, fail, pass_state, reports_errors

if TYPE_CHECKING:
    from engine.supervision.notices import Document

KINDS = click.Choice(["warning", "rectification", "order"])


def _line(doc: Document) -> str:
    received = f"received {local_iso(doc.received_at)} by {doc.received_by}" if doc.received_at else "not received"
    target = f"violation #{doc.violation}" if doc.violation else f"grade notice #{doc.notice}"
    return (
        f"#{doc.id} {doc.number} {doc.title} {doc.village} {doc.village_name} ({target}) "
        f"issued {local_iso(doc.issued_at)} by {doc.issued_by}; {received}"
    )


def _write(path: str, content: bytes) -> None:
    try:
        Path(path).write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {path}: {exc}", 2)


@click.group()
def notice() -> None:
    """Documents: issue (预警通知书 warning, 整改通知书 rectification, 三色督查令 order), receive, pdf, list."""


@notice.command("issue")
@click.argument("kind", type=KINDS)
@click.option("--violation", "violation_id", type=ID, default=None, help="The violation it is issued for.")
@click.option("--village", default=None, help="Or: the village graded C or D …")
@click.option("--period", default=None, help="… in this quarter, e.g. 2026Q4.")
@click.option("--as", "actor", required=True)
@click.option("--facts", default=None, help="The issuer's own findings, a paragraph of the document.")
@click.option("--rectify-by", default=None, help="Day to rectify by (YYYY-MM-DD); default from the rules.")
@click.option("--preview", is_flag=True, help="Show the text without issuing (no number, nothing written).")
@click.option("--pdf", "pdf_path", default=None, help="Also write the document as PDF to this file.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def notice_issue(
    state: State, kind, violation_id, village, period, actor, facts, rectify_by, preview, pdf_path, as_json
):
    """Issue a document for a violation, or for a village's grade in a quarter; prints its number."""
    from engine.supervision import notices

    with state.transaction() as session:
        doc = notices.issue(
            session,
            actor,
            kind,
            violation_id=violation_id,
            village=village,
            period=period,
            facts=facts,
            rectify_by=rectify_by,
            preview=preview,
        )
    if pdf_path:
        _write(pdf_path, notices.render_pdf(doc))
    if as_json:
        echo_json(asdict(doc))
        return
    if preview:
        content = doc.content
        click.echo(f"{content['title']}\n{content['number']}\n{content['addressee']}")
        for paragraph in content["paragraphs"]:
            click.echo(f"  {paragraph}")
        click.echo("\n".join(content["signature"]))
        return
    click.echo(f"issued {_line(doc)}")


@notice.command("receive")
@click.argument("document_id", type=ID)
@click.option("--as", "actor", required=True)
@click.option("--by", "received_by", required=True, help="Who signed for it (name and office).")
@click.option("--on", "received_on", default=None, help="Day it was signed for (YYYY-MM-DD); default today.")
@click.option("--note", default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def notice_receive(state: State, document_id, actor, received_by, received_on, note, as_json):
    """Record that a document was received (签收)."""
    from engine.supervision import notices

    with state.transaction() as session:
        doc = notices.receive(session, actor, document_id, received_by, received_on=received_on, note=note)
    if as_json:
        echo_json(asdict(doc))
        return
    click.echo(f"received {_line(doc)}")


@notice.command("pdf")
@click.argument("document_id", type=ID)
@click.option("--as", "actor", required=True)
@click.option("--out", "out_path", required=True, help="FILE.pdf, or FILE.html for the printable page.")
@pass_state
@reports_errors
def notice_pdf(state: State, document_id, actor, out_path):
    """Write a document as PDF (A4, with its QR code), or as its printable HTML page."""
    from engine.supervision import notices

    with state.transaction() as session:
        doc = notices.get_document(session, actor, document_id)
    if out_path.lower().endswith((".html", ".htm")):
        _write(out_path, notices.render_html(doc).encode())
    else:
        _write(out_path, notices.render_pdf(doc))
    click.echo(f"wrote {out_path}: {doc.number}")


@notice.command("list")
@click.option("--as", "actor", required=True)
@click.option("--violation", "violation_id", type=ID, default=None)
@click.option("--village", default=None, help="Village, town or county code.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def notice_list(state: State, actor, violation_id, village, as_json):
    """The documents the user may read, newest first."""
    from engine.supervision import notices

    with state.transaction() as session:
        rows = notices.documents(session, actor, violation_id=violation_id, village=village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("no documents")
    for row in rows:
        click.echo(_line(row))


@click.group()
def talk() -> None:
    """Talks: record a 约谈 (interview) or 提醒谈话 (reminder); list them."""


@talk.command("record")
@click.argument("kind", type=click.Choice(["interview", "reminder"]))
@click.option("--violation", "violation_id", type=ID, default=None)
@click.option("--village", default=None)
@click.option("--as", "actor", required=True)
@click.option("--on", "held_on", required=True, help="Day of the talk (YYYY-MM-DD).")
@click.option("--place", required=True)
@click.option("--present", multiple=True, required=True, help="A person present: 'name，office' (repeat).")
@click.option("--subject", "subject_name", required=True, help="The person talked to.")
@click.option("--subject-office", default=None)
@click.option("--summary", required=True)
@click.option("--outcome", required=True)
@click.option("--follow-up", "follow_up_on", default=None, help="Day to follow up (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def talk_record(state: State, kind, violation_id, village, actor, held_on, place, present, **rest):
    """Record a talk about a violation and/or with a village."""
    from engine.supervision import talks

    as_json = rest.pop("as_json")
    with state.transaction() as session:
        row = talks.record(
            session,
            actor,
            kind,
            violation_id=violation_id,
            village=village,
            held_on=held_on,
            place=place,
            present="\n".join(present),
            **rest,
        )
    if as_json:
        echo_json(asdict(row))
        return
    click.echo(f"recorded {row.kind_name} #{row.id} {row.village} {row.held_on} with {row.subject_name}")


@talk.command("list")
@click.option("--as", "actor", required=True)
@click.option("--violation", "violation_id", type=ID, default=None)
@click.option("--village", default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def talk_list(state: State, actor, violation_id, village, as_json):
    """The talks the user may read, newest first."""
    from engine.supervision import talks

    with state.transaction() as session:
        rows = talks.talks(session, actor, violation_id=violation_id, village=village)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("no talks")
    for row in rows:
        click.echo(f"#{row.id} {row.kind_name} {row.held_on} {row.village} {row.subject_name}: {row.outcome}")


commands = [notice, talk]
