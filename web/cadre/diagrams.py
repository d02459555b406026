"""A matter's diagram on a page of its own ("打开大图"): the drawing at full size with zoom buttons,
panned by dragging or with a finger, opening on the step in progress."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from engine.workspace import matter_detail
from web import db
from web.cadre.blueprint import bp


@bp.get("/matters/<int:instance_id>/diagram")
@login_required
def diagram_page(instance_id: int):
    session = db.session()
    view = matter_detail.matter(session, current_user.username, instance_id)
    svg = matter_detail.diagram_svg(session, current_user.username, instance_id)
    if not svg:
        abort(404)
    return render_template("cadre/diagram.html", matter=view, svg=svg)
