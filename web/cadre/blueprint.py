"""The ``cadre`` blueprint, ``bp``, with what runs around its views (see :mod:`web.cadre`)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from web import menu

bp = Blueprint("cadre", __name__)


@bp.app_context_processor
def menu_context() -> dict:
    from engine.workspace import inbox
    from web import db

    counts: dict[str, int] = {}
    if current_user.is_authenticated:
        try:
            counts = inbox.counts(db.session(), current_user.username)
        except Exception:  # the menu must not turn an error page into another error
            counts = {}
    return {"menu_items": menu.for_user(current_user), "menu_counts": counts}


def _has_desk(user) -> bool:
    return user.has_duties or not user.is_admin


menu.add("待办", "cadre.inbox", _has_desk, badge="todo", order=10)
menu.add("已办", "cadre.done", _has_desk, order=20)
menu.add("我发起的", "cadre.started", _has_desk, order=30)
menu.add("发起事项", "cadre.start", _has_desk, order=40)
menu.add("决议台账", "cadre.register", lambda user: _has_desk(user) or user.has_duties, order=45)
