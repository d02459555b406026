"""三务公开: the village's periodic disclosures and the half-yearly reports."""

from __future__ import annotations

from flask import render_template

from engine.public import disclosures as area
from engine.public import villages
from web import db
from web.public.blueprint import add_village_section, bp


@bp.get("/villages/<code>/disclosures")
def disclosures(code: str) -> str:
    session = db.session()
    unit = villages.public_village(session, code)
    return render_template(
        "public/disclosures.html", village=unit, place=villages.place_name(unit), page=area.public_page(session, unit)
    )


add_village_section("public/_village_disclosures.html", area.section, order=30)
