"""决议公开 and 结果公开: the decisions and results a village published, and a page per matter.

A matter's page is named by a slug that says nothing of other matters (see
:func:`engine.public.decisions.slug_of`), never by a sequential id.
"""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy.orm import Session

from engine.definitions.listing import listed
from engine.persistence.models import OrgUnit
from engine.public import decisions as published
from engine.public.items import item_page
from engine.public.villages import place_name, public_village
from web import db
from web.public.blueprint import add_village_section, bp

SHOWN_ON_VILLAGE_PAGE = 3


@bp.get("/villages/<code>/decisions")
def decisions(code: str) -> str:
    session = db.session()
    unit = public_village(session, code)
    entries = published.published(session, unit.id)
    item, item_name = request.args.get("item", "")[:100], ""
    if item in listed(session):
        item_name = item_page(session, item).name
        entries = [e for e in entries if e.item == item]
    else:
        item = ""
    return render_template(
        "public/decisions.html",
        village=unit,
        place=place_name(unit),
        entries=entries,
        item=item,
        item_name=item_name,
    )


@bp.get("/villages/<code>/decisions/<slug>")
def decision(code: str, slug: str) -> str:
    session = db.session()
    unit = public_village(session, code)
    page = published.matter_page(session, unit.id, slug)
    return render_template("public/decision.html", village=unit, place=place_name(unit), page=page)


def _latest(session: Session, unit: OrgUnit) -> dict:
    return {"code": unit.code, "entries": published.latest(session, unit.id, SHOWN_ON_VILLAGE_PAGE)}


add_village_section("public/_village_decisions.html", _latest, order=40)
