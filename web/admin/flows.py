"""Putting a flow into service: upload, validation report, preview, deploy; versions and retiring;
moving running matters to a newer version (:mod:`engine.workspace.migration`).

Only the flows published to the administrator's counties are listed and shown; the engine decides.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.catalog.flowchart import RenderFailed
from engine.definitions import guide, listing
from engine.diagram import DiagramUnavailable, diagram_of, render_svg
from engine.errors import DefinitionInvalid, NotFound, PermissionDenied, PowerlistError
from engine.messages import describe
from engine.workspace import admin as flows_admin
from engine.workspace import migration
from web import db, flow_changes
from web.admin.blueprint import bp
from web.i18n import gettext as _
from web.i18n import locale

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@bp.get("/")
def index():
    return redirect(url_for("admin.flows"))


@bp.get("/flows")
def flows():
    return render_template("admin/flows.html", items=flows_admin.items(db.session(), current_user.username))


def _uploaded_files() -> list[tuple[str, bytes]]:
    files = []
    for upload in request.files.getlist("files"):
        if upload and upload.filename:
            files.append((upload.filename, upload.stream.read(flows_admin.MAX_ZIP_BYTES + 1)))
    return files


def _svg(bpmn: bytes | str) -> str:
    try:
        return render_svg(diagram_of(bpmn))
    except DiagramUnavailable:
        return ""


@bp.route("/flows/upload", methods=["GET", "POST"])
def upload():
    if request.method == "GET":
        return render_template("admin/upload.html")
    files = _uploaded_files()
    if not files:
        return render_template("admin/upload.html", error=_("请选择 BPMN 文件（和它的表单，或一个 zip 包）")), 400
    collected = flows_admin.collect_upload(files)
    report = flows_admin.validate(collected)
    if not report.ok:
        return (
            render_template(
                "admin/upload.html",
                problems=flows_admin.problem_rows(report.problems, locale()),
                filename=collected.bpmn_name or files[0][0],
                forms=sorted(collected.forms),
            ),
            400,
        )
    key = report.definition.key if report.definition else None
    try:
        with db.writing() as session:
            staged_id = flows_admin.stage(session, collected, current_user.username, key)
    except PermissionDenied as exc:
        return render_template("admin/upload.html", error=str(exc)), 403
    return render_template(
        "admin/preview.html",
        preview=flows_admin.preview(report),
        warnings=flows_admin.problem_rows(report.warnings, locale()),
        changes=flow_changes.staged(flows_admin.staged_changes(db.session(), report, current_user.username)),
        staged_id=staged_id,
        filename=collected.bpmn_name,
        forms=sorted(collected.forms),
        svg=_svg(collected.bpmn or b""),
        counties=flows_admin.deploy_targets(db.session(), current_user.username),
    )


@bp.post("/flows/deploy")
def deploy():
    staged_id = request.form.get("staged") or ""
    try:
        with db.writing() as session:
            result = flows_admin.deploy_staged(session, staged_id, current_user.username)
    except DefinitionInvalid as exc:
        return render_template("admin/upload.html", problems=flows_admin.problem_rows(exc.problems, locale())), 400
    if result.created:
        flash(
            _("已部署：{key} 第 {version} 版。新发起的事项将使用这个版本。", key=result.key, version=result.version),
            "success",
        )
    else:
        flash(_("内容与第 {version} 版相同，没有产生新版本。", version=result.version), "info")
    return redirect(url_for("admin.flow", key=result.key))


@bp.get("/flows/<key>")
def flow(key: str):
    session, actor = db.session(), current_user.username
    versions = flow_changes.versions(flows_admin.versions(session, key, actor))
    shown = next((v for v in versions if v["in_service"]), versions[0])
    svg = _svg(flows_admin.bpmn_of(session, key, shown["version"], actor))
    return render_template(
        "admin/flow.html",
        key=key,
        versions=versions,
        shown=shown,
        svg=svg,
        counties=flows_admin.counties_of(session, key),
        may_retire=flows_admin.may_retire(session, key, actor),
        listing=flows_admin.listing_of(session, key, actor),
    )


@bp.get("/flows/<key>/<int:version>/diagram.svg")
def flow_diagram(key: str, version: int):
    svg = _svg(flows_admin.bpmn_of(db.session(), key, version, current_user.username))
    if not svg:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


@bp.get("/flows/<key>/<int:version>/download")
def download(key: str, version: int):
    """The version's BPMN file and forms as a ZIP, to edit and upload again."""
    name, content = flows_admin.bundle(db.session(), key, version, current_user.username)
    response = Response(content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/flows/<key>/<int:version>/flowchart.pdf")
def wall_chart(key: str, version: int):
    """The printable wall chart (照图办事) of the version, A4 or A3."""
    paper = "A3" if request.args.get("paper") == "A3" else "A4"
    try:
        pdf = flows_admin.wall_chart(db.session(), key, version, current_user.username, paper)
    except RenderFailed:
        abort(503, _("现在不能生成流程图：服务器缺少 graphviz"))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{key}-v{version}.pdf"'
    return response


@bp.post("/flows/<key>/publish")
def publish(key: str):
    """向村民公示: after the administrator checked the category and number of the version they saw."""
    reviewed = _version_number(request.form.get("version"), "version", _("审核的版本"), required=True)
    if request.form.get("reviewed") != "1":
        flash(_("请先核对分类和编号，勾选“已核对”后再公示"), "error")
        return redirect(url_for("admin.flow", key=key))
    try:
        with db.writing() as session:
            listing.publish(session, key, current_user.username, reviewed)
    except NotFound:
        raise
    except PowerlistError as exc:
        flash(describe(exc, locale()), "error")
    else:
        flash(_("已向村民公示：村民公开页的权力清单将列出这个事项。"), "success")
    return redirect(url_for("admin.flow", key=key))


@bp.post("/flows/<key>/withdraw")
def withdraw(key: str):
    try:
        with db.writing() as session:
            listing.withdraw(session, key, current_user.username)
    except NotFound:
        raise
    except PowerlistError as exc:
        flash(describe(exc, locale()), "error")
    else:
        flash(_("已停止向村民公示。"), "success")
    return redirect(url_for("admin.flow", key=key))


@bp.get("/conventions")
def conventions():
    """The guide to the pl: conventions, in the interface's language (or the one asked for)."""
    language = request.args.get("lang") if request.args.get("lang") in ("zh", "en") else locale()
    return render_template("admin/conventions.html", guide=guide.render(language), language=language)


@bp.post("/flows/<key>/<int:version>/retire")
def retire(key: str, version: int):
    return _version_change(
        key, version, flows_admin.retire_version, _("第 {version} 版已停用，正在办理的事项不受影响。")
    )


@bp.post("/flows/<key>/<int:version>/reinstate")
def reinstate(key: str, version: int):
    return _version_change(key, version, flows_admin.reinstate_version, _("第 {version} 版已恢复使用。"))


def _version_change(key: str, version: int, change, message: str):
    try:
        with db.writing() as session:
            change(session, key, version, current_user.username)
    except NotFound:
        raise
    except PowerlistError as exc:
        flash(describe(exc, locale()), "error")
    else:
        flash(message.format(version=version), "success")
    return redirect(url_for("admin.flow", key=key))


def _version_number(value: str | None, field: str, label: str, required: bool = False) -> int | None:
    """A version number from the request (None when left empty and not required); anything else is a
    400 naming the field."""
    text = (value or "").strip()
    if not text and not required:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        abort(400, _("{label}（{field}）应当是正整数，而不是「{value}」", label=label, field=field, value=text[:40]))
    return int(text)


@bp.route("/flows/<key>/<version>/migrate", methods=["GET", "POST"])
def migrate(key: str, version: str):
    """GET: what a migration of the running matters to ``version`` would do (a dry run); POST: do it.

    The engine command decides who may and which matters move; this view only parses and shows.
    """
    values = request.form if request.method == "POST" else request.args
    to_version = _version_number(version, "version", _("目标版本"), required=True)
    assert to_version is not None
    from_version = _version_number(values.get("from"), "from", _("原版本"))
    village = (values.get("village") or "").strip()[:40] or None
    dry_run = request.method == "GET"
    try:
        report = migration.migrate(
            db.sessions(),
            key,
            to_version,
            current_user.username,
            from_version=from_version,
            village=village,
            dry_run=dry_run,
        )
    except NotFound as exc:
        if exc.code != "unit.not_found":
            raise
        abort(
            400, _("{label}（{field}）：{message}", label=_("村代码"), field="village", message=describe(exc, locale()))
        )
    session = db.session()
    if session.in_transaction():
        session.commit()  # read what the migration's own transactions wrote, not an older snapshot
    details = report.as_dict(locale())["details"]
    rows = flows_admin.matters_of(session, key, [d["instance"] for d in details], current_user.username)
    versions = flows_admin.versions(session, key, current_user.username)
    return render_template(
        "admin/migrate.html",
        key=key,
        name=versions[0]["name"],
        to_version=to_version,
        from_version=from_version,
        village=village or "",
        older=[v["version"] for v in versions if v["version"] < to_version],
        report=report,
        matters=[{**d, **rows.get(d["instance"], {"village_name": "", "steps": []})} for d in details],
    )
