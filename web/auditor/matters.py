"""The matters of a village, town or county, and one matter replayed step by step on its diagram."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from engine.audit import views
from web import db
from web.auditor import filters
from web.auditor.blueprint import bp, scope
from web.auditor.diagrams import replay_svg
from web.auditor.params import Params
from web.i18n import gettext as _

PER_PAGE = 20


@bp.get("/")
def index():
    return redirect(url_for("auditor.matters"))


@bp.get("/matters")
def matters():
    session = db.session()
    params = Params(request.args)
    offered = filters.choices()
    chosen = filters.read(params, offered["flows"])
    page = params.integer("page", _("页码"), 1, 1, 100000) or 1
    listing = None
    if not params.errors:
        listing = views.list_matters(
            session,
            scope(),
            chosen.unit,
            chosen.flow,
            chosen.since,
            chosen.until,
            chosen.status,
            chosen.colour,
            page,
            PER_PAGE,
        )
    return (
        render_template(
            "auditor/matters.html",
            listing=listing,
            errors=params.errors,
            colours=views.violations_recorded(session, scope()),
            **offered,
        ),
        400 if params.errors else 200,
    )


@bp.get("/matters/<int:instance_id>")
def replay(instance_id: int):
    session = db.session()
    views.require_matter(session, scope(), instance_id)
    params = Params(request.args)
    as_of = params.moment("as_of", _("查看时间"))
    pos = params.integer("pos", _("位置"), None, 0, 1_000_000)
    view = views.replay_view(session, scope(), instance_id, pos, None if params.errors else as_of)
    check = views.verify_matter(session, scope(), instance_id)
    return (
        render_template(
            "auditor/replay.html", view=view, svg=replay_svg(view), check=check, errors=params.errors
        ),
        400 if params.errors else 200,
    )
