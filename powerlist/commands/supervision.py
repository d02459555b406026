"""Supervision commands: sweeps and the scheduler, evidence, violations, scores, rule sets, calendars.

Exit codes as everywhere: 0 done, 1 refused (permission, state), 2 invalid input, 3 internal error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine import clock
from engine.calendar import local_iso
from engine.clock import as_utc
from engine.supervision.models import ViolationStatus
from powerlist.common import ID, State, echo_json, fail, pass_state, reports_errors

if TYPE_CHECKING:
    from engine.supervision.queries import ViolationRecord

PROCESSES = Path(__file__).resolve().parent.parent.parent / "processes"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}") from exc


def _set_time(as_of: str | None) -> None:
    if as_of is None:
        return
    if not clock.simulated_time_allowed():
        fail("--as-of moves the clock and is for tests and demos only: set POWERLIST_ALLOW_SIMULATED_TIME=1", 2)
    try:
        when = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--as-of: not an ISO date and time: {as_of!r}", 2)
    if when.tzinfo is None:
        fail("--as-of needs a time zone offset, e.g. 2026-11-20T09:00:00+08:00", 2)
    clock.clock.set(when)


def _violation_line(v: ViolationRecord) -> str:
    where = f"{v.village}" + (f" #{v.instance}" if v.instance else "")
    return (
        f"#{v.id:<5} {v.severity:<6} {v.status:<12} {where:<14} {v.title}：{v.message} "
        f"[{v.supervisor}，扣{v.points}分] {local_iso(v.detected_at) or ''}".rstrip()
    )


# --- timers ----------------------------------------------------------------------------------


@click.command()
@click.option("--as-of", default=None, metavar="ISO-TIME", help="Sweep as if it were this time (simulated time only).")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Timers per transaction.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def sweep(state: State, as_of: str | None, batch: int, as_json: bool) -> None:
    """Fire every timer due now (deadline warnings, BPMN timers, escalations) and print what fired."""
    from engine.supervision.sweep import sweep as run_sweep

    _set_time(as_of)
    report = run_sweep(state.engine, batch=batch)
    if as_json:
        echo_json(report.as_dict())
        return
    if not report.fired:
        click.echo("nothing due" + (f" ({report.busy} busy, left for the next sweep)" if report.busy else ""))
    for fired in report.fired:
        where = f" instance {fired.instance_id}" if fired.instance_id else ""
        due = local_iso(as_utc(fired.due_at))
        click.echo(f"{fired.outcome:<8} {fired.kind:<16} {fired.key}{where} due {due}")
        for raised in fired.raised:
            click.echo(f"         raised violation #{raised['id']} [{raised['severity']}] {raised['title']}")
        if fired.error:
            click.echo(f"         error: {fired.error}")
    if report.busy:
        click.echo(f"{report.busy} timer(s) busy in a step, left for the next sweep")


@click.command()
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds between sweeps."
)
@pass_state
@reports_errors
def scheduler(state: State, interval: float) -> None:
    """Run the sweeping scheduler in the foreground (a separate process beside the web app)."""
    import logging

    from engine.scheduler import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick
    url = state.engine.url.render_as_string(hide_password=True)
    click.echo(f"scheduler: sweeping every {interval:g}s on {url}; stop with Ctrl-C", err=True)
    run_forever(state.engine, interval)


# --- evidence --------------------------------------------------------------------------------


class _EvidenceGroup(click.Group):
    """``evidence ID …`` records one piece; ``evidence import FILE`` a statement."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_EvidenceGroup)
def evidence() -> None:
    """Record evidence of a matter, such as a village-card payment, or import a card statement (CSV)."""


@evidence.command("record")
@click.argument("instance_id", type=ID)
@click.option("--kind", default="payment", show_default=True, help="payment, receipt or document.")
@click.option("--amount", default=None, help="Amount in yuan, e.g. 950.00.")
@click.option("--payee", default=None)
@click.option("--at", "at", default=None, help="When it happened (ISO; China time without an offset). Default: now.")
@click.option("--reference", default=None, help="Card transaction or voucher reference.")
@click.option("--note", default=None)
@click.option("--as", "actor", default=None, help="Who records it (kept in the matter's history).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def evidence_record(state: State, instance_id: int, kind: str, amount, payee, at, reference, note, actor, as_json):
    """Record one piece of evidence for a matter; payments are checked against its approval."""
    from engine.supervision import evidence as ev
    from engine.supervision.queries import violation_dict

    try:
        item = ev.EvidenceInput(
            kind=kind,
            at=ev.parse_time(at) if at else clock.now(),
            amount_fen=ev.parse_amount(amount) if amount is not None else None,
            payee=payee,
            reference=reference,
            note=note,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    with state.transaction() as session:
        result = ev.record(session, instance_id, item, actor)
        raised = [violation_dict(session, v) for v in result.violations]
    if as_json:
        echo_json(
            {"evidence": result.evidence.id, "created": result.created, "violations": [asdict(v) for v in raised]}
        )
        return
    click.echo(
        f"recorded evidence #{result.evidence.id} for instance {instance_id}"
        if result.created
        else f"evidence #{result.evidence.id} was already recorded"
    )
    for violation in raised:
        click.echo("raised " + _violation_line(violation))


@evidence.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "actor", default=None, help="Who imports it (kept in the matters' history).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def evidence_import(state: State, file: str, actor: str | None, as_json: bool) -> None:
    """Import a village-card statement: rows are matched to matters by reference; unmatched rows are kept and listed.

    Columns (English or Chinese headers): transaction_id/交易流水号, village/村代码, at/交易时间,
    payee/收款方, amount/金额 (yuan), reference/关联事项 (matter number such as PL123, or the
    payment reference recorded in its payment step), note/摘要.
    """
    from engine.supervision.statements import import_statement

    text = _read(file)
    with state.transaction() as session:
        report = import_statement(session, text, Path(file).name, actor)
    if as_json:
        echo_json(report.__dict__)
        return
    click.echo(
        f"imported {report.name}: {len(report.matched)} matched, {len(report.unmatched)} unmatched, "
        f"{len(report.duplicates)} already recorded, {len(report.violations)} violation(s) raised"
    )
    for row in report.unmatched:
        amount = f"{row['amount_fen'] / 100:.2f}"
        click.echo(
            f"unmatched line {row['line']}: {row['at']} {row['payee']} {amount} 元 "
            f"ref {row['reference'] or '-'} ({row['reason']}) kept as evidence #{row['evidence']}"
        )


# --- violations ------------------------------------------------------------------------------


@click.command()
@click.option("--village", default=None, help="Village, town or county code.")
@click.option("--status", default=None, type=click.Choice([s.value for s in ViolationStatus]))
@click.option("--period", default=None, help="Quarter, e.g. 2026Q4.")
@click.option("--instance", "instance_id", type=ID, default=None)
@click.option("--as", "actor", default=None, help="Only those this user supervises now or must rectify.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def violations(state: State, village, status, period, instance_id, actor, as_json) -> None:
    """List violation warnings, worst first."""
    from engine.supervision.queries import list_violations

    with state.transaction() as session:
        rows = list_violations(session, village, status, actor, period, instance_id)
    if as_json:
        echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("no violations")
    for row in rows:
        click.echo(_violation_line(row))


@click.group()
def violation() -> None:
    """Handle one violation: ack, assign, rectify, accept, reject, escalate, close; show it; verify the chains."""


def _handled(state: State, violation_id: int, action: str, actor: str, as_json: bool, **options: Any) -> None:
    """Run the one handling command (engine.supervision.handling) and print the violation after it."""
    from engine.supervision.handling import handle
    from engine.supervision.models import Violation
    from engine.supervision.queries import violation_dict

    with state.transaction() as session:
        handle(session, violation_id, action, actor, **options)
        result = violation_dict(session, session.get(Violation, violation_id))
    if as_json:
        echo_json(asdict(result))
        return
    click.echo(f"violation #{violation_id} {result.status} ({result.supervisor})")


def _action(name: str, help_text: str):
    @violation.command(name, help=help_text)
    @click.argument("violation_id", type=ID)
    @click.option("--as", "actor", required=True)
    @click.option("--note", required=True, help="What was done or decided (kept in the violation's history).")
    @click.option("--dismiss", is_flag=True, hidden=name != "close", help="Close as a false alarm: no points lost.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_state
    @reports_errors
    def command(state: State, violation_id: int, actor: str, note: str, dismiss: bool, as_json: bool) -> None:
        if dismiss and name != "close":
            fail("--dismiss goes with close", 2)
        _handled(state, violation_id, "dismiss" if dismiss else name, actor, as_json, note=note)

    return command


_action("ack", "Acknowledge a violation: the supervisor has taken it up.")
_action("rectify", "Report a violation rectified (its owner, or a supervisor).")
_action("escalate", "Pass a violation up to the next level of the chain.")
_action("close", "Close a violation (after rectification, or with --dismiss as a false alarm).")
_action("accept", "Accept a reported rectification: the violation closes as rectified.")
_action("reject", "Reject a reported rectification with the reason (--note): back to its owner.")


@violation.command("assign")
@click.argument("violation_id", type=ID)
@click.option("--as", "actor", required=True)
@click.option("--owner-role", required=True, help="The village role that rectifies, e.g. committee_chair.")
@click.option("--owner", "owner_user", default=None, help="A person holding that role in the village.")
@click.option("--deadline", required=True, metavar="YYYY-MM-DD", help="Rectify by the end of this day (China time).")
@click.option("--note", default=None, help="Kept in the violation's history.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def violation_assign(
    state: State, violation_id: int, actor: str, owner_role: str, owner_user, deadline: str, note, as_json: bool
) -> None:
    """Name a violation's rectification owner (a village role, optionally a person) and deadline."""
    _handled(
        state,
        violation_id,
        "assign",
        actor,
        as_json,
        note=note,
        owner_role=owner_role,
        owner_user=owner_user,
        deadline=deadline,
    )


@violation.command("show")
@click.argument("violation_id", type=ID)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def violation_show(state: State, violation_id: int, as_json: bool) -> None:
    """Show a violation with its evidence and every change."""
    from engine.supervision.queries import violation_detail

    with state.transaction() as session:
        detail = violation_detail(session, violation_id)
    if as_json:
        echo_json(asdict(detail))
        return
    click.echo(_violation_line(detail))
    click.echo(f"  legal basis: {detail.legal_basis}")
    rectify_by = local_iso(detail.rectify_by) or "-"
    click.echo(f"  owner: {detail.owner_role_name or '-'} {detail.owner_user or ''}; rectify by {rectify_by}")
    click.echo(f"  evidence: {json.dumps(detail.evidence, ensure_ascii=False)}")
    for event in detail.history:
        note = event.data.get("note") or ""
        click.echo(f"  {event.seq:>3} {local_iso(event.at)} {event.kind} by {event.actor} {note}")


@violation.command("verify")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def violation_verify(state: State, as_json: bool) -> None:
    """Re-check every violation's event chain against its row; exit 1 naming the first problem."""
    from engine.supervision.violation_chain import verify

    with state.transaction() as session:
        report = verify(session)
    if as_json:
        echo_json({"ok": report.ok, "violations": report.violations, "events": report.events, "bad": report.bad})
        sys.exit(0 if report.ok else 1)
    if not report.ok:
        fail(f"violation history was altered: {report.bad}", 1)
    click.echo(f"ok: {report.violations} violations, {report.events} events, every chain intact")


# --- scores ----------------------------------------------------------------------------------


@click.command()
@click.option("--period", default=None, help="Quarter, e.g. 2026Q4 (default: the current one).")
@click.option("--village", default=None, help="Village, town or county code.")
@click.option("--issue", is_flag=True, help="Also issue the warning and rectification notices the grades call for.")
@click.option("--as", "actor", default=None, help="Who issues the notices.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def scores(state: State, period, village, issue, actor, as_json) -> None:
    """Scores and grades of villages and cadres for a quarter (base minus deduction points)."""
    from engine.supervision import scores as scoring

    period = scoring.check_period(period) if period else scoring.current_period()
    if issue and not actor:
        fail("--issue needs --as USER", 2)
    with state.transaction() as session:
        result = scoring.scores(session, period, village)
        if issue:
            from engine.org.service import get_user

            get_user(session, actor)
            result["issued"] = scoring.issue_notices(session, period, actor, village)
    if as_json:
        echo_json(result)
        return
    click.echo(f"period {period}")
    # Units at their own level (a town's steps count against the town), people under their own unit.
    for row in result.get("units", result["villages"]):
        notice = {"warning": " 预警通知", "rectification": " 整改通知"}.get(row["notice"] or "", "")
        click.echo(
            f"  {row.get('level', 'village'):<7} {row.get('unit', row.get('village')):<8} {row['name']:<8} "
            f"score {row['score']:>4} grade {row['grade']} (-{row['deducted']}, {row['violations']} violations){notice}"
        )
    for row in result["cadres"]:
        level, unit = row.get("level", "village"), row.get("unit", row.get("village"))
        click.echo(f"  person  {row['user']:<24} {level:<7} {unit:<8} score {row['score']:>4} grade {row['grade']}")
    for row in result.get("issued", []):
        click.echo(f"issued {row['kind']} notice to {row['village']} (grade {row['grade']})")


# --- rules -----------------------------------------------------------------------------------


@click.group()
def rules() -> None:
    """The supervision rule set: show the effective one, validate a file, activate a county's version."""


@rules.command("show")
@click.option("--county", default=None, help="County code (default: the rules for all counties).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def rules_show(state: State, county: str | None, as_json: bool) -> None:
    """Print the effective rule set and its version."""
    import yaml

    from engine.supervision.rules import rules_for

    with state.transaction() as session:
        book = rules_for(session, county)
    if as_json:
        echo_json({"version": book.label, **book.data})
        return
    click.echo(f"# effective supervision rules {book.label}" + (f" for county {county}" if county else ""))
    click.echo(yaml.safe_dump(book.data, allow_unicode=True, sort_keys=False, width=120))


@rules.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def rules_validate(file: str) -> None:
    """Check a rule file (a whole rule set or a county's override); exit 2 listing every problem."""
    from engine.supervision.rules import RulesInvalid, base_data, merge, parse_text, validate
    from engine.supervision.semantics import lint_against_flows

    try:
        merged = merge(base_data(), parse_text(_read(file), file))
    except RulesInvalid as exc:
        for problem in exc.problems:
            click.echo(problem)
        sys.exit(2)
    problems = validate(merged)
    if problems:
        for problem in problems:
            click.echo(f"{file}: {problem}")
        click.echo(f"{file}: {len(problems)} problem(s)", err=True)
        sys.exit(2)
    for warning in lint_against_flows(merged["supervision"], PROCESSES):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{file}: ok - supervision rules {merged['supervision']['version']}")


@rules.command("activate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "actor", required=True)
@click.option("--county", default=None, help="County code; without it the version applies to all counties.")
@pass_state
@reports_errors
def rules_activate(state: State, file: str, actor: str, county: str | None) -> None:
    """Validate a rule file and make it the active version (recorded with who and when)."""
    from engine.org.service import get_user
    from engine.supervision.rules import ALL_COUNTIES, activate

    text = _read(file)
    with state.transaction() as session:
        get_user(session, actor)
        row = activate(session, text, actor, county or ALL_COUNTIES, Path(file).name)
        scope, version, label = row.scope, row.version, row.label
    click.echo(f"activated supervision rules {scope} v{version} ({label})")


@rules.command("versions")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def rules_versions(state: State, as_json: bool) -> None:
    """List every activated rule-set version."""
    from engine.supervision.rules import versions

    with state.transaction() as session:
        rows = [
            {
                "scope": r.scope,
                "version": r.version,
                "label": r.label,
                "active": r.active,
                "activated_at": r.activated_at.isoformat(),
                "activated_by": r.activated_by,
                "sha256": r.content_hash,
            }
            for r in versions(session)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no versions activated: the defaults in rules/defaults/supervision.yaml apply")
    for row in rows:
        mark = " (active)" if row["active"] else ""
        when, who = row["activated_at"], row["activated_by"]
        click.echo(f"{row['scope']:<6} v{row['version']:<3} {row['label']:<16} {when} by {who}{mark}")


# --- holiday calendar ------------------------------------------------------------------------


@click.group()
def calendar() -> None:
    """The holiday calendar behind working-day limits (rules/calendar/*.yaml, one file a year)."""


@calendar.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def calendar_validate(file: str) -> None:
    """Check a year's holiday file: dates of that year, no day both off and worked, worked days on weekends."""
    from engine.supervision.calendar_files import check_calendar

    problems, summary = check_calendar(_read(file))
    for problem in problems:
        click.echo(f"{file}: {problem}")
    if problems:
        sys.exit(2)
    click.echo(f"{file}: ok - {summary}")


@calendar.command("show")
@click.option("--year", type=click.IntRange(1900, 2200), default=None)
@click.option("--json", "as_json", is_flag=True)
def calendar_show(year: int | None, as_json: bool) -> None:
    """Print the holidays and worked weekend days in force (rules/calendar plus POWERLIST_RULES_DIR/calendar)."""
    from engine.supervision.deadlines import work_calendar

    loaded = work_calendar()
    holidays = sorted(d for d in loaded.holidays if year is None or d.year == year)
    workdays = sorted(d for d in loaded.workdays if year is None or d.year == year)
    years = sorted(loaded.years)
    if as_json:
        echo_json(
            {
                "holidays": [d.isoformat() for d in holidays],
                "workdays": [d.isoformat() for d in workdays],
                "years": years,
                "provisional": sorted(loaded.provisional),
            }
        )
        return
    if year is not None and year not in loaded.years:
        click.echo(f"warning: no holiday data for {year}: working days are counted by weekends only", err=True)
    for unconfirmed in sorted(y for y in loaded.provisional if year is None or y == year):
        click.echo(
            f"warning: {unconfirmed}'s adjusted working days (调休) are provisional: the statutory holidays only, "
            "until the county confirms the State Council's schedule",
            err=True,
        )
    click.echo("holidays: " + ", ".join(d.isoformat() for d in holidays))
    click.echo("workdays: " + ", ".join(d.isoformat() for d in workdays))
    click.echo(f"years with data: {years[0]}–{years[-1]}" if years else "years with data: none")


commands = [sweep, scheduler, evidence, violations, violation, scores, rules, calendar]
