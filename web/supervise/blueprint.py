"""The ``supervise`` blueprint, ``bp``, with what runs around its views (see :mod:`web.supervise`)."""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from engine.policy.rules import access_rules
from web import menu

bp = Blueprint("supervise", __name__, url_prefix="/supervise")

# A violation's page and its forms: the engine lets its rectification owner in too.
OWNER_ENDPOINTS = frozenset({"supervise.violation", "supervise.act"})


def supervising_roles() -> frozenset[str]:
    return access_rules().roles("supervising")


def may_open(user) -> bool:
    """Supervisors and auditors (who read and change nothing)."""
    return bool(getattr(user, "is_authenticated", False)) and user.holds(*supervising_roles(), "auditor")


@bp.before_request
@login_required
def require_supervisor() -> None:
    if request.endpoint not in OWNER_ENDPOINTS and not may_open(current_user):
        abort(403)


@bp.app_context_processor
def badge() -> dict:
    """The 监督 menu's badge: what the user must handle now. Only supervisors' pages pay for it."""
    if not may_open(current_user):
        return {}
    from engine.supervision.worklist import count_now
    from web import db
    from web.cadre.blueprint import menu_context

    try:
        counts = dict(menu_context().get("menu_counts") or {})
        counts["supervise"] = count_now(db.session(), current_user.username)
    except Exception:  # the menu must not turn an error page into another error
        return {}
    return {"menu_counts": counts}


menu.add("监督", "supervise.worklist", may_open, badge="supervise", order=50)
