"""Trusting the record: re-computing the hash chains, and the daily anchors (存证摘要)."""

from __future__ import annotations

import re

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from engine.audit import anchor, views
from engine.errors import InvalidState
from engine.public import qr
from web import db
from web.auditor import filters
from web.auditor.blueprint import bp, scope
from web.auditor.params import Params
from web.i18n import gettext as _

DIGEST = re.compile(r"[0-9a-f]{16,64}")


@bp.get("/verify")
def verify():
    session = db.session()
    params = Params(request.args)
    matter = params.integer("matter", _("事项编号"), None, 1, 2**62)
    unit = params.text("unit", 40)
    result = None
    if not params.errors:
        if matter is not None:
            result = views.verify_matter(session, scope(), matter)
        elif request.args.get("run"):
            result = views.verify_unit(session, scope(), unit)
    return (
        render_template("auditor/verify.html", result=result, errors=params.errors, units=filters.choices()["units"]),
        400 if params.errors else 200,
    )


@bp.get("/anchors")
def anchors():
    session = db.session()
    digest = (request.args.get("digest") or "").strip().lower()
    check, error = None, None
    if digest:
        if not DIGEST.fullmatch(digest):
            error = _("请输入存证摘要：16 到 64 位十六进制数字（0–9、a–f）")
        else:
            check = views.check_anchor(session, scope(), digest)
    return (
        render_template(
            "auditor/anchors.html",
            today=views.today_anchor(session),
            rows=views.anchors(session),
            check=check,
            digest=digest[:80],
            error=error,
            may_anchor=scope().may_anchor,
        ),
        400 if error else 200,
    )


@bp.post("/anchors")
def make_anchor():
    current = scope()
    try:
        with db.writing() as session:
            digest = views.make_today_anchor(session, current)
    except InvalidState as exc:
        flash(_("无法生成今天的存证：{reason}", reason=str(exc)), "error")
        return redirect(url_for("auditor.anchors"))
    flash(_("今天的存证摘要：{digest}", digest=digest), "success")
    return redirect(url_for("auditor.anchors"))


@bp.get("/anchors/<label>/print")
def print_anchor(label: str):
    """One anchor on a page to print and file or send upwards: its digest and a QR code of the
    address that checks the database against it."""
    found = views.anchor_by_label(db.session(), label)
    if found is None:
        abort(404)
    url = current_app.config["PUBLIC_URL"] + anchor.check_path(found.digest)
    return render_template("auditor/anchor_print.html", anchor=found, check_url=url)


@bp.get("/anchors/<label>/qr.svg")
def anchor_qr(label: str) -> Response:
    found = views.anchor_by_label(db.session(), label)
    if found is None:
        abort(404)
    url = current_app.config["PUBLIC_URL"] + anchor.check_path(found.digest)
    return Response(qr.svg(url, title=found.label), mimetype="image/svg+xml")
