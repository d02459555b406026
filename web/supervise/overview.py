"""The supervisors' overview (总览): the village × item risk map (风险地图), grades per quarter and year
with their trend (考核), and the monthly red and black lists (晾晒台). Read-only pages over
:mod:`engine.supervision.overview`, which keeps each reader to their scope."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from engine.audit import views as audit_views
from engine.messages import describe
from engine.supervision import overview
from engine.supervision.overview import OverviewInputInvalid, Period
from web import db, menu
from web.i18n import locale_or_default
from web.supervise.blueprint import bp, may_open

COLOURS = overview.COLOURS


def _period(kinds: tuple[str, ...], default_kind: str) -> Period:
    value = request.args.get("period", "").strip()
    return Period.parse(value, kinds) if value else Period.current(default_kind)


def _unit() -> str | None:
    return (request.args.get("unit") or "").strip()[:16] or None


def _page(template: str, build, kinds: tuple[str, ...], default_kind: str, **extra: Any):
    """Render ``template`` with ``view`` built for the period asked; a bad period or count answers 400
    with the page, its selector and the message naming the field."""
    session = db.session()
    scope = overview.reader_scope(session, current_user.username)
    errors: list[str] = []
    view = None
    period = None
    try:
        period = _period(kinds, default_kind)
        view = build(session, period)
    except OverviewInputInvalid as refused:
        errors.append(describe(refused, locale_or_default()))
    return (
        render_template(
            template,
            view=view,
            period=period,
            kinds=kinds,
            units=audit_views.unit_options(session, scope),
            unit=_unit(),
            errors=errors,
            colours=COLOURS,
            **extra,
        ),
        400 if errors else 200,
    )


@bp.get("/overview/risk")
def risk():
    only_warned = request.args.get("items") == "warned"

    def build(session, period):
        return overview.risk_map(session, current_user.username, period, _unit(), only_warned=only_warned)

    return _page("supervise/overview_risk.html", build, overview.KINDS, "quarter", only_warned=only_warned)


@bp.get("/overview/grades")
def grades():
    def build(session, period):
        trend = request.args.get("trend") or 4
        return overview.grades(session, current_user.username, period, _unit(), trend=overview.check_trend(trend))

    return _page("supervise/overview_grades.html", build, ("quarter", "year"), "quarter")


@bp.get("/overview/lists")
def lists():
    def build(session, period):
        return overview.lists(session, current_user.username, period, _unit())

    return _page("supervise/overview_lists.html", build, ("month",), "month")


menu.add("总览", "supervise.risk", may_open, order=51)
