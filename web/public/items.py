"""The power list's items for villagers: each with its flowchart and a plain-language page."""

from __future__ import annotations

from flask import render_template

from engine.public import items
from engine.public.villages import villages
from web import db
from web.public.blueprint import bp


@bp.get("/items/<key>")
def item(key: str) -> str:
    session = db.session()
    page = items.item_page(session, str(key)[:100])
    return render_template("public/item.html", item=page, villages=villages(session))
