"""Audit commands: conformance checking, exports, history anchors and activity mappings.

``conformance`` exits 0 whether or not it finds deviations (its output is the report), 1 for an
unknown flow, 2 for an unreadable log or model file (every problem named by element and line) or
bad arguments.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from engine.calendar import CST
from powerlist.common import State, echo_json, pass_state, reports_errors

MAX_REJECTS_SHOWN = 20


@contextmanager
def _progress(path: Path, label: str) -> Iterator[Any]:
    """A progress bar on stderr fed with the number of bytes read so far."""
    size = path.stat().st_size
    with click.progressbar(length=size, label=label, file=sys.stderr, show_eta=False) as bar:
        done = [0]

        def advance(count: int) -> None:
            if count > done[0]:
                bar.update(min(count, size) - done[0])
                done[0] = min(count, size)

        yield advance


def _mapper(session, key: str, mapping_file: str | None):
    from engine.audit.mapping import mapper_for, read_mapping_file

    model = _model(session, key)
    extra = read_mapping_file(mapping_file) if mapping_file else None
    return model, mapper_for(session, model, extra)


def _import(mapper, path: Path, fmt: str | None, columns: dict[str, str], ended: bool):
    from engine.audit import logs

    name = path.name.lower()
    fmt = fmt or ("csv" if name.endswith((".csv", ".csv.gz", ".txt")) else "xes")
    compressed = name.endswith(".gz")
    with _progress(path, f"reading {path.name}") as advance:
        # A compressed file would report decompressed bytes against the compressed size: no bar then.
        source = gzip.open(path, "rb") if compressed else path
        try:
            if fmt == "xes":
                return logs.read_xes(source, mapper, None if compressed else advance, ended=ended)
            return logs.read_csv(source, mapper, None if compressed else advance, columns=columns, ended=ended)
        except (OSError, EOFError, zlib.error) as exc:
            raise logs.LogUnreadable(f"cannot read {path.name}: {exc}") from exc
        finally:
            if compressed:
                source.close()


@click.command()
@click.argument("key", required=False)
@click.option(
    "--model",
    "model_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Check against this BPMN 2.0 file (any modeler, descriptive or executable) instead of a deployed flow.",
)
@click.option("--process", "process", default=None, help="With --model: the process (pool) to use, by id or name.")
@click.option(
    "--log", "log_file", type=click.Path(dir_okay=False, exists=True), help="Check this event log instead of our own."
)
@click.option("--format", "fmt", type=click.Choice(["xes", "csv"]), default=None, help="Log format (default: by name).")
@click.option(
    "--map",
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, exists=True),
    help="CSV: activity name, step.",
)
@click.option("--village", default=None, help="Only matters of this village, town or county (own histories).")
@click.option("--case-column", default=None, help="CSV column of the case id (name or number).")
@click.option("--activity-column", default=None, help="CSV column of the activity.")
@click.option("--time-column", default=None, help="CSV column of the time stamp.")
@click.option("--resource-column", default=None, help="CSV column of who did it.")
@click.option("--ended", is_flag=True, help="Treat every case of the log as finished (missing last steps count).")
@click.option(
    "--variant-seconds",
    type=click.FloatRange(min=0, min_open=True, max=86400),
    default=None,
    help="With --log: wall-clock seconds the exact search may spend on one sequence of steps (default 10); "
    "a case past it is listed as not checked.",
)
@click.option(
    "--budget-seconds",
    type=click.FloatRange(min=0, min_open=True, max=86400 * 7),
    default=None,
    help="With --log: wall-clock seconds the exact search may spend on the whole log (default 600).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def conformance(
    state: State,
    key: str | None,
    model_file: str | None,
    process: str | None,
    log_file: str | None,
    fmt: str | None,
    mapping_file: str | None,
    village: str | None,
    case_column: str | None,
    activity_column: str | None,
    time_column: str | None,
    resource_column: str | None,
    ended: bool,
    variant_seconds: float | None,
    budget_seconds: float | None,
    as_json: bool,
) -> None:
    """Check recorded cases of flow KEY against its model: skipped, swapped, repeated, overdue steps.

    With --model FILE.bpmn --log FILE, check an event log against any BPMN 2.0 model instead (no
    deployed flow, no database needed): the fewest skipped and inserted steps that explain each case."""
    from engine.audit.conformance import JOB_SECONDS, VARIANT_SECONDS, Budget, check_log
    from engine.audit.histories import Scope, check_histories

    imported = None
    read = None
    budget = Budget(variant_seconds or VARIANT_SECONDS, budget_seconds or JOB_SECONDS)
    if not log_file and (variant_seconds or budget_seconds):
        option = "--variant-seconds" if variant_seconds else "--budget-seconds"
        raise click.BadParameter(
            "applies to a --log check (our own histories keep the default budget)", param_hint=option
        )
    if log_file and village:
        raise click.BadParameter("applies to our own histories, not to an imported log", param_hint="--village")
    if model_file:
        if key:
            raise click.BadParameter("give a flow KEY or --model, not both", param_hint="--model")
        if not log_file:
            raise click.BadParameter("a model file is checked against a log: add --log FILE", param_hint="--log")
        read, mapper = _file_model(model_file, process, mapping_file)
        columns = {"case": case_column, "activity": activity_column, "timestamp": time_column}
        columns["resource"] = resource_column
        imported = _import(mapper, Path(log_file), fmt, {k: v for k, v in columns.items() if v}, ended)
        findings = check_log(imported.log, read.model, budget=budget)
    elif not key:
        raise click.BadParameter("name a deployed flow KEY, or give --model FILE.bpmn --log FILE", param_hint="KEY")
    elif process:
        raise click.BadParameter("applies to --model only", param_hint="--process")
    elif log_file:
        with state.transaction() as session:
            model, mapper = _mapper(session, key, mapping_file)
        columns = {"case": case_column, "activity": activity_column, "timestamp": time_column}
        columns["resource"] = resource_column
        imported = _import(mapper, Path(log_file), fmt, {k: v for k, v in columns.items() if v}, ended)
        findings = check_log(imported.log, model, budget=budget)
    else:
        with state.transaction() as session:
            findings = check_histories(session, Scope(key=key, unit=village))
    by_case = findings.by_case()
    if as_json:
        output: dict[str, Any] = {"summary": findings.summary().as_dict()}
        if read is not None:
            output["model"] = {"file": model_file, **asdict(read.summary())}
        if imported is not None:
            output["import"] = {**asdict(imported.summary()), "rejected_rows": [r.__dict__ for r in imported.rejected]}
        output["cases"] = {case: [d.as_dict() for d in items] for case, items in by_case.items()}
        echo_json(output)
        return
    if read is not None:
        info = read.summary()
        click.echo(
            f"model {model_file}: process {info.process} ({info.process_name or '-'}), "
            f"{info.tasks} tasks, {info.activities} activities",
            err=True,
        )
        for note in info.notes:
            click.echo(f"  note: {note}", err=True)
    if imported is not None:
        _print_import(imported, "--mapping" if read is not None else "'powerlist mapping set' or --map")
    for case, reason in findings.summary().unchecked.items():
        click.echo(f"case {case}: {reason}")
    for case, items in by_case.items():
        click.echo(f"case {case}: {len(items)} deviation(s)")
        for d in items:
            when = d.at.astimezone(CST).strftime("%Y-%m-%d %H:%M") if d.at else "-"
            click.echo(
                f"  #{d.event:<3} {d.kind:<8} {d.step} ({d.step_name}) {when} {d.resource or '-'}: {d.describe()}"
            )
    summary = findings.summary()
    counts = ", ".join(f"{kind} {n}" for kind, n in summary.deviations.items())
    click.echo(
        f"{summary.flow}: {summary.cases} cases, {summary.events} events; "
        f"{summary.deviating_cases} cases deviate ({counts})"
    )
    timing = summary.timing
    click.echo(
        f"checked by {summary.method} in {timing.total_ms:.1f} ms "
        f"(per case: mean {timing.mean_ms:.3f} ms, max {timing.max_ms:.3f} ms)",
        err=True,
    )


def _file_model(model_file: str, process: str | None, mapping_file: str | None):
    """The model read from a BPMN file and the mapper of log activities to its tasks."""
    from engine.audit.descriptive import read_model_file
    from engine.audit.mapping import mapper_for, read_mapping_file, resolve_mapping

    read = read_model_file(model_file, process)
    extra = resolve_mapping(read.model, read_mapping_file(mapping_file), mapping_file) if mapping_file else None
    return read, mapper_for(None, read.model, extra)


def _print_import(result, how_to_map: str = "'powerlist mapping set' or --map") -> None:
    summary = result.summary()
    skipped = f", skipped {summary.skipped} (lifecycle not complete)" if summary.skipped else ""
    click.echo(
        f"read {summary.read} events: used {summary.used}, rejected {summary.rejected}{skipped}; "
        f"{summary.cases} cases",
        err=True,
    )
    for rejected in result.rejected[:MAX_REJECTS_SHOWN]:
        click.echo(f"  rejected {rejected}", err=True)
    if result.rejected_count > MAX_REJECTS_SHOWN:
        click.echo(f"  … and {result.rejected_count - MAX_REJECTS_SHOWN} more (see --json)", err=True)
    if summary.unknown_activities:
        names = ", ".join(f"{n} ({c})" for n, c in list(summary.unknown_activities.items())[:10])
        click.echo(f"  unknown activities: {names}; map them with {how_to_map}", err=True)


@click.command()
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(["xes", "csv", "xlsx"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option("--findings", is_flag=True, help="Include conformance findings (CSV: the findings table).")
@click.option("--village", default=None, help="Only matters of this village, town or county.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def export(state: State, key: str, fmt: str, out: str, findings: bool, village: str | None, as_json: bool) -> None:
    """Export the histories of flow KEY as XES, CSV or an Excel workbook.

    Each row is a step done, a return (退回) or a transfer (转办), with amounts in yuan, the form,
    names and offices, times in China time and durations in seconds. The metadata (flow, time,
    filters, counts, the newest anchor) is in the workbook's first sheet, the XES log's attributes,
    or for CSV in FILE.meta.json beside it (the CSV starts with its header row)."""
    from engine.audit.export import export_flow, sidecar_path
    from engine.audit.histories import Scope

    target = Path(out)
    if target.parent and not target.parent.exists():
        raise click.BadParameter(f"folder {target.parent} does not exist", param_hint="--out")
    partial = target.with_name(f".{target.name}.part")
    meta, meta_partial = sidecar_path(target), target.with_name(f".{target.name}.meta.part")
    try:
        with state.transaction() as session:
            summary = export_flow(session, key, fmt, partial, findings, Scope(unit=village), meta_partial)
        if summary.meta is not None:
            os.replace(meta_partial, meta)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        meta_partial.unlink(missing_ok=True)
    summary.path = str(target)
    summary.meta = str(meta) if summary.meta is not None else None
    if as_json:
        echo_json(summary.__dict__)
        return
    extra = f", {summary.deviations} findings" if summary.deviations is not None else ""
    anchor = f"; anchor {summary.anchor}" if summary.anchor else "; no anchor yet (run 'powerlist anchor')"
    sidecar = f" (metadata in {meta})" if summary.meta else ""
    click.echo(f"exported {summary.cases} matters, {summary.events} events{extra} to {target}{sidecar}{anchor}")


@click.command()
@click.option("--hour", "hourly", is_flag=True, help="Make this hour's anchor (China time) instead of today's.")
@click.option("--qr", "show_qr", is_flag=True, help="Also print a QR code of the check address, to photograph.")
@click.option(
    "--qr-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the QR code of the check address to FILE.svg or FILE.png, to print.",
)
@click.option(
    "--base-url",
    default=None,
    help="Address of the web app for the QR code (default: $POWERLIST_PUBLIC_URL or http://localhost:5000).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def anchor(state: State, hourly: bool, show_qr: bool, qr_file: str | None, base_url: str | None, as_json: bool) -> None:
    """Make (once a day, or once an hour with --hour) and print the digest over every history and
    violation chain; keep it outside the database."""
    from engine.audit.anchor import anchor_info, check_path, make_anchor, today
    from engine.clock import now
    from engine.public import qr as codes

    if qr_file is not None and Path(qr_file).suffix.lower().lstrip(".") not in codes.FORMATS:
        raise click.BadParameter("the file must end in .svg or .png", param_hint="--qr-file")
    try:
        base = codes.public_base_url(base_url, "--base-url") if base_url is not None else codes.configured_base_url()
    except codes.PublicUrlInvalid as exc:
        raise click.BadParameter(str(exc), param_hint="--base-url") from None
    with state.transaction() as session:
        row = make_anchor(session, today(), now().astimezone(CST).hour if hourly else None)
        info = anchor_info(row)
    url = base + check_path(info["digest"])
    if qr_file is not None:
        codes.write(url, qr_file)
    if as_json:
        echo_json(dict(info, check_url=url))
        return
    click.echo(
        f"anchor {info['label']} {info['digest']} ({info['instances']} matters, {info['events']} events, "
        f"{info['violations']} violations)"
    )
    if show_qr:
        out = io.StringIO()
        codes.make(url).terminal(out=out, compact=True)
        click.echo(out.getvalue(), nl=False)
        click.echo(url)
    if qr_file is not None:
        click.echo(f"wrote {qr_file}: {url}")


@click.group()
def mapping() -> None:
    """Edit how activity names of imported logs map to a flow's steps."""


def _model(session, key: str):
    from engine.audit.reference_model import model_for
    from engine.definitions.deploy import latest_version

    return model_for(latest_version(session, key))


@mapping.command("list")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def mapping_list(state: State, key: str, as_json: bool) -> None:
    """Show the mapping table of flow KEY."""
    from engine.audit.mapping import mappings

    with state.transaction() as session:
        model = _model(session, key)
        rows = mappings(session, key)
    names = dict(zip(model.steps, model.names, strict=True))
    if as_json:
        echo_json([{**r, "step_name": names.get(r["step"])} for r in rows])
        return
    if not rows:
        click.echo(f"no mappings for {key}; step ids and names map by themselves")
    for r in rows:
        click.echo(f"{r['source']} -> {r['step']} ({names.get(r['step'], '?')})")


@mapping.command("set")
@click.argument("key")
@click.argument("source")
@click.argument("step")
@click.option("--as", "actor", default=None, help="Who changes the table.")
@pass_state
@reports_errors
def mapping_set(state: State, key: str, source: str, step: str, actor: str | None) -> None:
    """Map activity name SOURCE to STEP (a step id or name) for flow KEY."""
    from engine.audit.mapping import set_mapping

    with state.transaction() as session:
        set_mapping(session, _model(session, key), source, step, actor)
    click.echo(f"mapped '{source}' to {step} in {key}")


@mapping.command("remove")
@click.argument("key")
@click.argument("source")
@pass_state
@reports_errors
def mapping_remove(state: State, key: str, source: str) -> None:
    """Remove the mapping of SOURCE from flow KEY."""
    from engine.audit.mapping import remove_mapping
    from engine.errors import NotFound

    with state.transaction() as session:
        if not remove_mapping(session, key, source):
            raise NotFound(f"no mapping of '{source}' in {key}")
    click.echo(f"removed '{source}' from {key}")


@mapping.command("load")
@click.argument("key")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--as", "actor", default=None)
@pass_state
@reports_errors
def mapping_load(state: State, key: str, file: str, actor: str | None) -> None:
    """Store every row of a two-column CSV (activity name, step) as mappings of flow KEY."""
    from engine.audit.mapping import read_mapping_file, set_mapping

    pairs = read_mapping_file(file)
    with state.transaction() as session:
        model = _model(session, key)
        for source, step in pairs.items():
            set_mapping(session, model, source, step, actor)
    click.echo(f"stored {len(pairs)} mappings for {key}")


commands = [conformance, export, anchor, mapping]
