"""API views of the supervisors' overview: the risk map, grades and the monthly red and black lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request

from engine.calendar import CST
from engine.clock import as_utc
from engine.supervision import overview
from engine.supervision.overview import Period, Tally
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
    return jsonify(as_json(view))


@bp.get("/overview/grades")
def overview_grades():
    period = _period(("quarter", "year"), "quarter")
    trend = overview.check_trend(request.args.get("trend") or 4)
    return jsonify(as_json(overview.grades(db.session(), user(), period, _unit(), trend=trend)))


@bp.get("/overview/lists")
def overview_lists():
    period = _period(("month",), "month")
    return jsonify(as_json(overview.lists(db.session(), user(), period, _unit())))


def as_json(value: Any) -> Any:
    """A view as plain JSON values: periods as their text, tallies with their count and worst colour,
    times in China time (ISO 8601)."""
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, Tally):
        return {"red": value.red, "yellow": value.yellow, "blue": value.blue, "points": value.points,
                "count": value.count, "worst": value.worst}  # fmt: skip
    if isinstance(value, datetime):
        return as_utc(value).astimezone(CST).isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {name: as_json(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value
