"""API views of the supervisors' overview: the risk map, grades and the monthly red and black lists."""

from __future__ import annotations

from flask import jsonify, request

from engine.supervision import overview
from engine.supervision.overview import Period
from web import db
from web.api.blueprint import bp
from web.api.views import user


def _period(kinds: tuple[str, ...], default_kind: str) -> Period:
    value = request.args.get("period", "").strip()
    return Period.parse(value, kinds) if value else Period.current(default_kind)


def _unit() -> str | None:
    return (request.args.get("unit") or "").strip()[:16] or None


@bp.get("/overview/risk")
def overview_risk():
    period = _period(overview.KINDS, "quarter")
    only_warned = request.args.get("items") == "warned"
    view = overview.risk_map(db.session(), user(), period, _unit(), only_warned=only_warned)
    return jsonify(overview.as_json(view))


@bp.get("/overview/grades")
def overview_grades():
    period = _period(("quarter", "year"), "quarter")
    trend = overview.check_trend(request.args.get("trend") or 4)
    return jsonify(overview.as_json(overview.grades(db.session(), user(), period, _unit(), trend=trend)))


@bp.get("/overview/lists")
def overview_lists():
    period = _period(("month",), "month")
    return jsonify(overview.as_json(overview.lists(db.session(), user(), period, _unit())))
