"""The ``public`` blueprint, ``bp``, with what runs around its views (see :mod:`web.public`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy.orm import Session

from engine.audit import views
from engine.persistence.models import OrgUnit
from engine.public import qr, villages
from web import db

bp = Blueprint("public", __name__, url_prefix="/public")

DAYS_SHOWN = 30


@dataclass(frozen=True)
class VillageSection:
    """A section of the village page: its template (given ``section``, the value ``data`` returns)."""

    template: str
    data: Callable[[Session, OrgUnit], Any]
    order: int = 50


VILLAGE_SECTIONS: list[VillageSection] = []


def add_village_section(template: str, data: Callable[[Session, OrgUnit], Any], order: int = 50) -> None:
    VILLAGE_SECTIONS.append(VillageSection(template, data, order))
    VILLAGE_SECTIONS.sort(key=lambda section: section.order)


@bp.get("/")
def board() -> str:
    session = db.session()
    return render_template(
        "public/board.html",
        anchors=views.anchors(session, DAYS_SHOWN, daily=True),
        items=villages.public_items(session),
        villages=villages.villages(session),
    )


@bp.get("/villages/<code>")
def village(code: str) -> str:
    session = db.session()
    unit = villages.public_village(session, code)
    address = qr.village_url(current_app.config["PUBLIC_URL"], unit.code)
    sections = [(section.template, section.data(session, unit)) for section in VILLAGE_SECTIONS]
    return render_template(
        "public/village.html", village=unit, place=villages.place_name(unit), address=address, sections=sections
    )


@bp.get("/villages/<code>/qr.svg")
def village_qr(code: str) -> Response:
    unit = villages.public_village(db.session(), code)
    url = qr.village_url(current_app.config["PUBLIC_URL"], unit.code)
    response = Response(qr.svg(url, title=unit.name), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
