"""A flow's heatmap: per step how often overdue, skipped, reworked, and the median time taken."""

from __future__ import annotations

from flask import render_template, request

from engine.audit import views
from web import db
from web.auditor import filters
from web.auditor.blueprint import bp, scope
from web.auditor.diagrams import heat_svg
from web.auditor.params import Params
from web.i18n import gettext as _


@bp.get("/heatmap")
def heatmap():
    params = Params(request.args)
    offered = filters.choices()
    chosen = filters.read(params, offered["flows"])
    metric = params.choice("metric", views.METRICS, _("着色依据")) or "overdue"
    flow = chosen.flow or (offered["flows"][0].key if offered["flows"] else None)
    heat, svg = None, ""
    if flow and not params.errors:
        heat = views.heatmap_view(db.session(), scope(), flow, chosen.unit, chosen.since, chosen.until, metric)
        svg = heat_svg(heat)
    return (
        render_template(
            "auditor/heatmap.html", heat=heat, svg=svg, flow=flow, metric=metric, errors=params.errors, **offered
        ),
        400 if params.errors else 200,
    )
