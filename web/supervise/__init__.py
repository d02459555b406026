"""The supervisors' pages (监督): the worklist of the violations and complaints a supervising unit
must handle, a violation's facts, history and handling, and search over the matters in scope.

Every page needs a supervising role (village supervisory committee, town or county discipline
commission) or the auditor's (read only); a violation's own page is also open to its rectification
owner. The engine keeps each user to the villages of their scope and decides every action.
"""

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
    from web.cadre import menu_context

    try:
        counts = dict(menu_context().get("menu_counts") or {})
        counts["supervise"] = count_now(db.session(), current_user.username)
    except Exception:  # the menu must not turn an error page into another error
        return {}
    return {"menu_counts": counts}


menu.add("监督", "supervise.worklist", may_open, badge="supervise", order=50)

from web.supervise import worklist  # noqa: E402,F401,I001  (the views register on bp; areas add theirs below)
from web.supervise import overview  # noqa: E402,F401
from web.supervise import documents  # noqa: E402,F401
