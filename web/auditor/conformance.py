"""Conformance: check our own histories of a flow, or an uploaded event log (XES or CSV), and
download histories and findings as XES, CSV and Excel."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from flask import abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from engine import clock
from engine.audit import export as exports
from engine.audit import logs, views
from engine.audit.conformance import check_log
from engine.audit.descriptive import ModelRead, read_model
from engine.audit.mapping import ActivityMapper, MappingFileInvalid, mapper_for, read_mapping_file
from engine.audit.reference_model import model_for
from engine.calendar import CST
from engine.definitions.safe_xml import MAX_BPMN_BYTES
from engine.errors import DefinitionInvalid
from web import db
from web.auditor import filters, jobs
from web.auditor.blueprint import bp, scope
from web.auditor.findings import findings_view
from web.auditor.params import Params
from web.auditor.texts import unreadable
from web.formatting import filesize
from web.i18n import gettext as _

SPOOL_BYTES = 8 * 1024 * 1024
COLUMNS = ("case", "activity", "timestamp", "resource")
MAX_MAPPING_BYTES = 1024 * 1024
MAX_PROBLEMS_SHOWN = 20


@bp.get("/conformance")
def conformance():
    session = db.session()
    params = Params(request.args)
    offered = filters.choices()
    chosen = filters.read(params, offered["flows"])
    result = None
    if chosen.flow and not params.errors:
        findings = views.check_scope(
            session, scope(), chosen.flow, chosen.unit, chosen.since, chosen.until, chosen.status
        )
        people = {r for r in findings.log.resource_names if r}
        result = findings_view(findings, views.display_names(session, people))
        result["flow_name"] = next(f.name for f in offered["flows"] if f.key == chosen.flow)
    return (
        render_template(
            "auditor/conformance.html",
            result=result,
            errors=params.errors,
            upload={},
            upload_errors=[],
            max_bytes=jobs.max_bytes(),
            **offered,
        ),
        400 if params.errors else 200,
    )


@bp.post("/conformance/upload")
def upload():
    """Check an uploaded log against a deployed flow, or against an uploaded BPMN model (any
    modeler, descriptive or executable) read by :mod:`engine.audit.descriptive`."""
    session = db.session()
    form = Params(request.form)
    offered = filters.choices()
    flow = form.choice("flow", [f.key for f in offered["flows"]], _("事项"))
    fmt = form.choice("format", ("xes", "csv"), _("格式"))
    process = form.text("process", 200)
    columns = {name: value for name in COLUMNS if (value := form.text(f"{name}_column", 100))}
    ended = bool(request.form.get("ended"))
    log_file = request.files.get("log")
    model_file = request.files.get("model")
    has_model = model_file is not None and bool(model_file.filename)
    errors = list(form.errors)
    if jobs.busy():  # before storing the upload; jobs.start decides
        return _upload_page(offered, [_busy(jobs.max_running())], 503)
    if has_model:
        flow = None  # an uploaded model replaces the flow chosen in the list
    elif not flow and not form.errors:
        errors.append(_("请选择要对照的事项流程"))
    if log_file is None or not log_file.filename:
        errors.append(_("请选择要检查的日志文件（XES 或 CSV）"))
    elif jobs.guess_format(log_file.filename, fmt) is None:
        errors.append(_("看不出这是 XES 还是 CSV 文件，请在“格式”中选择"))
    model = mapping = read = None
    content = b""
    if not errors and has_model:
        content = model_file.stream.read(MAX_BPMN_BYTES + 1)
        read, problems = _read_model(content, model_file.filename or "model.bpmn", process)
        errors.extend(problems)
        model = read.model if read else None
    elif not errors:
        model = model_for(views.require_flow(session, flow))
    if model is not None:
        mapping, problem = _mapping(request.files.get("mapping"), model)
        if problem:
            errors.append(problem)
    if errors:
        return _upload_page(offered, errors, 400)
    options = {
        "format": jobs.guess_format(log_file.filename, fmt),
        "columns": columns,
        "ended": ended,
        "mapping": mapping,
    }
    if read is not None:
        name = Path(model_file.filename or "model.bpmn").name[:200]
        options["model"] = {"file": name, "process": read.process_id, "process_name": read.process_name}
        flow = f"{name} · {read.process_name or read.process_id}"
    try:
        token = jobs.create(current_user.username, flow, log_file, options)
    except jobs.UploadTooLarge:
        message = _("文件太大了：最大 {size}", size=filesize(jobs.max_bytes()))
        return _upload_page(offered, [message], 413)
    if read is not None:
        (jobs.folder() / f"{token}.bpmn").write_bytes(content)
    try:
        jobs.start(token, current_user.username, model, mapper_for(None if read else session, model, mapping))
    except jobs.JobsBusy as exc:
        return _upload_page(offered, [_busy(exc.limit)], 503)
    return redirect(url_for("auditor.job", token=token))


def _busy(limit: int) -> str:
    return _("正在进行的日志检查已有 {n} 个（同时最多 {n} 个），请过几分钟再上传", n=limit)


def _read_model(content: bytes, filename: str, process: str | None) -> tuple[ModelRead | None, list[str]]:
    """The model of an uploaded BPMN file, or the problems that stop reading it (element, line)."""
    if len(content) > MAX_BPMN_BYTES:
        return None, [_("模型文件太大了：最大 {size}", size=filesize(MAX_BPMN_BYTES))]
    try:
        return read_model(content, Path(filename).name, process), []
    except DefinitionInvalid as exc:
        shown = []
        for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
            where = []
            if problem.line:
                where.append(_("第 {n} 行", n=problem.line))
            if problem.element_id:
                where.append(problem.element_id)
            prefix = "，".join(where)
            shown.append(_("模型文件无法读取：") + (f"{prefix}：" if prefix else "") + problem.message)
        return None, shown


def _job_model(token: str, state: dict[str, Any]):
    """The model a job was checked against: the uploaded file kept beside the log, or the flow."""
    chosen = state["options"].get("model")
    if not chosen:
        return model_for(views.require_flow(db.session(), state["flow"])), db.session()
    path = jobs.folder() / f"{token}.bpmn"
    if not path.is_file():
        abort(404)
    read, _problems = _read_model(path.read_bytes(), chosen["file"], chosen["process"])
    if read is None:
        abort(404)
    return read.model, None


def _upload_page(offered: dict[str, Any], errors: list[str], status: int):
    return (
        render_template(
            "auditor/conformance.html",
            result=None,
            errors=[],
            upload=request.form,
            upload_errors=errors,
            max_bytes=jobs.max_bytes(),
            **offered,
        ),
        status,
    )


def _mapping(upload, model) -> tuple[dict[str, str], str | None]:
    """The activity names → steps of an uploaded two-column CSV, each step resolved to its id."""
    if upload is None or not upload.filename:
        return {}, None
    content = upload.stream.read(MAX_MAPPING_BYTES + 1)
    if len(content) > MAX_MAPPING_BYTES:
        return {}, _("活动对照表最大 1 MB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.csv"
        path.write_bytes(content)
        try:
            pairs = read_mapping_file(path)
        except MappingFileInvalid as exc:
            line = re.search(r"line (\d+)", str(exc))
            where = _("第 {n} 行：", n=line.group(1)) if line else ""
            return {}, where + _("活动对照表每行应有两列：活动名称、步骤")
    steps = ActivityMapper(model)
    resolved: dict[str, str] = {}
    for source, step in pairs.items():
        target = steps(step)
        if target is None:
            return {}, _("活动对照表中的步骤“{step}”不是这个流程的步骤", step=step)
        resolved[source] = target
    return resolved, None


@bp.get("/conformance/jobs/<token>")
def job(token: str):
    state = jobs.load(token, current_user.username)
    flow_name = next((f.name for f in views.flow_options(db.session()) if f.key == state["flow"]), state["flow"])
    error = unreadable(state.get("error")) if state["status"] == "failed" else None
    return render_template(
        "auditor/job.html", job=state, progress=jobs.progress(state), flow_name=flow_name, error=error
    )


@bp.get("/conformance/jobs/<token>/status")
def job_status(token: str):
    return jsonify(jobs.progress(jobs.load(token, current_user.username)))


@bp.get("/conformance/jobs/<token>/export/<kind>")
def job_export(token: str, kind: str):
    if kind not in exports.EXPORTS:
        abort(404)
    state = jobs.load(token, current_user.username)
    if state["status"] != "done":
        abort(404)
    session = db.session()
    model, mapping_session = _job_model(token, state)
    try:
        imported = jobs.read_log(token, state, mapper_for(mapping_session, model, state["options"].get("mapping")))
    except logs.LogUnreadable:
        abort(404)
    try:
        with jobs.slot():
            findings = check_log(imported.log, model, budget=jobs.budget())
    except jobs.JobsBusy as exc:
        abort(503, _busy(exc.limit))
    chosen = state["options"].get("model")
    if chosen:  # an uploaded model: no deployed flow, its tasks' names
        names = dict(zip(model.steps, model.names, strict=True))
        anchor = exports.anchor_info(exports.latest_anchor(session))
        info = exports.ExportInfo(model.key, chosen.get("process_name") or model.key, clock.now(), anchor, names)
    else:
        info = exports.export_info(session, state["flow"])
    stem = Path(state["filename"]).name.split(".")[0] or "log"
    return _send(kind, f"{stem}-checked", lambda out: exports.write_export(kind, imported.log, findings, info, out))


def _chosen_export(kind: str):
    if kind not in exports.EXPORTS:
        abort(404)
    params = Params(request.args)
    offered_flows = views.flow_options(db.session())
    chosen = filters.read(params, offered_flows)
    if params.errors or not chosen.flow:
        abort(400, "；".join(params.errors) or _("请选择事项流程"))
    unit = views.require_unit(db.session(), scope(), chosen.unit).code
    return chosen, unit


@bp.get("/export/<kind>")
def export(kind: str):
    """Histories of a flow in the user's scope (with the filters of the conformance page). The CSV
    starts with its header row; its metadata is the separate download ``/export/<kind>/meta``, and
    every download names the newest anchor in its ``X-Powerlist-Anchor`` header."""
    chosen, unit = _chosen_export(kind)

    def write(out) -> None:
        exports.export_for_auditor(
            db.session(), scope(), chosen.flow, kind, out, unit, chosen.since, chosen.until, chosen.status
        )

    return _send(kind, f"{chosen.flow}-{unit}", write)


@bp.get("/export/<kind>/meta")
def export_meta(kind: str):
    """The metadata of the export ``kind`` with the same filters (what the CLI writes beside a CSV as
    FILE.meta.json): flow, time, filters, counts, the newest anchor."""
    chosen, unit = _chosen_export(kind)
    meta = exports.export_for_auditor(
        db.session(), scope(), chosen.flow, kind, None, unit, chosen.since, chosen.until, chosen.status
    )
    _mimetype, extension = exports.EXPORTS[kind]
    response = jsonify(meta)
    name = f"{_download_name(kind, f'{chosen.flow}-{unit}', extension)}{exports.SIDECAR_SUFFIX}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _anchored(response)


def _download_name(kind: str, stem: str, extension: str) -> str:
    day = clock.now().astimezone(CST).strftime("%Y%m%d")
    suffix = "-findings" if kind == "findings" else ""
    return f"{stem}{suffix}-{day}.{extension}"


def _anchored(response):
    response.headers["X-Powerlist-Anchor"] = exports.newest_anchor_digest(db.session()) or "none"
    return response


def _send(kind: str, stem: str, write):
    mimetype, extension = exports.EXPORTS[kind]
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # send_file closes it
    try:
        write(out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    response = send_file(
        out, mimetype=mimetype, as_attachment=True, download_name=_download_name(kind, stem, extension)
    )
    return _anchored(response)
