"""A matter's page: its diagram, steps in progress, timeline and attachments; withdraw, copy, approvals."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from engine.errors import NotFound, PermissionDenied, PowerlistError
from engine.public import receipts
from engine.workspace import attachments, matter_detail, operations
from web import db
from web.actions import attachments_folder
from web.cadre.blueprint import bp
from web.i18n import gettext as _

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@bp.get("/matters/<int:instance_id>")
@login_required
def matter(instance_id: int):
    session = db.session()
    view = matter_detail.matter(session, current_user.username, instance_id)
    svg = matter_detail.diagram_svg(session, current_user.username, instance_id)
    copy_to = operations.copy_candidates(session, instance_id)
    with db.writing() as write:
        operations.mark_copies_read(write, instance_id, current_user.username)
        receipt = receipts.display(receipts.receipt_for(write, instance_id))
    return render_template("cadre/matter.html", matter=view, svg=svg, copy_to=copy_to, receipt=receipt)


@bp.get("/matters/<int:instance_id>/diagram.svg")
@login_required
def diagram(instance_id: int):
    svg = matter_detail.diagram_svg(db.session(), current_user.username, instance_id)
    if not svg:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


def _file_response(row) -> Response:
    path = attachments.read_blob(attachments_folder(), row)
    inline = row.content_type in attachments.INLINE_TYPES
    response = send_file(
        path, mimetype=row.content_type, as_attachment=not inline, download_name=row.filename, max_age=0
    )
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/matters/<int:instance_id>/attachments/<sha256>")
@login_required
def attachment(instance_id: int, sha256: str):
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        abort(404)
    row = attachments.for_viewing(db.session(), current_user.username, instance_id, sha256)
    return _file_response(row)


@bp.get("/uploads/<int:attachment_id>")
@login_required
def upload(attachment_id: int):
    row = attachments.upload_for_viewing(db.session(), current_user.username, attachment_id)
    return _file_response(row)


def _matter_operation(instance_id: int, run, message: str):
    try:
        with db.writing() as session:
            run(session)
    except (NotFound, PermissionDenied):
        raise
    except PowerlistError as exc:
        flash(str(exc), "error")
        return redirect(url_for("cadre.matter", instance_id=instance_id))
    flash(message, "success")
    return redirect(url_for("cadre.matter", instance_id=instance_id))


@bp.post("/matters/<int:instance_id>/withdraw")
@login_required
def withdraw(instance_id: int):
    user, reason = current_user.username, request.form.get("reason") or ""
    _visible(instance_id)
    return _matter_operation(instance_id, lambda s: operations.withdraw(s, instance_id, user, reason), _("已撤回"))


@bp.post("/matters/<int:instance_id>/copy")
@login_required
def copy(instance_id: int):
    user, note = current_user.username, request.form.get("note")
    recipients = request.form.getlist("to")
    _visible(instance_id)
    return _matter_operation(
        instance_id, lambda s: operations.copy(s, instance_id, user, recipients, note), _("已抄送")
    )


def _visible(instance_id: int) -> None:
    from engine.workspace.access import visible_instance

    visible_instance(db.session(), current_user.username, instance_id)


@bp.route("/approvals/<int:approval_id>", methods=["GET", "POST"])
@login_required
def approval(approval_id: int):
    session = db.session()
    view = matter_detail.approval(session, current_user.username, approval_id)
    error = None
    if request.method == "POST":
        choice = request.form.get("decision")
        if choice not in ("agree", "disagree"):
            error = _("请选择同意或不同意")
        else:
            try:
                with db.writing() as write:
                    operations.decide(
                        write, approval_id, current_user.username, choice == "agree", request.form.get("comment")
                    )
                flash(_("加签审批已提交"), "success")
                return redirect(url_for("cadre.matter", instance_id=view["instance"]))
            except (NotFound, PermissionDenied):
                raise
            except PowerlistError as exc:
                error = str(exc)
    return render_template("cadre/approval.html", approval=view, error=error), 400 if error else 200
