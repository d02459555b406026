"""Pages for villagers, with no login: the power list and the record's daily digests.

The digests are what the disclosure board (村务公开栏) shows: anyone who copied one down can later
ask an auditor to check it, and a deleted or rewritten record no longer matches.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from engine.audit import views
from engine.catalog.catalog import power_list
from web import db

bp = Blueprint("public", __name__, url_prefix="/public")

DAYS_SHOWN = 30


@bp.get("/")
def board() -> str:
    session = db.session()
    items = power_list(session)
    return render_template(
        "public/board.html",
        anchors=views.anchors(session, DAYS_SHOWN),
        items=[item for item in items if item.versions],
    )
