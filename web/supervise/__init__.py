"""The supervisors' pages (监督): the worklist of the violations and complaints a supervising unit
must handle, a violation's facts, history and handling, and search over the matters in scope.

Every page needs a supervising role (village supervisory committee, town or county discipline
commission) or the auditor's (read only); the engine keeps each user to the villages of their scope
and decides every action.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from engine.policy.rules import access_rules
from web import menu

bp = Blueprint("supervise", __name__, url_prefix="/supervise")


def supervising_roles() -> frozenset[str]:
    return access_rules().roles("supervising")


def may_open(user) -> bool:
    """Supervisors and auditors (who read and change nothing)."""
    return bool(getattr(user, "is_authenticated", False)) and user.holds(*supervising_roles(), "auditor")


@bp.before_request
@login_required
def require_supervisor() -> None:
    if not may_open(current_user):
        abort(403)


menu.add("监督", "supervise.worklist", may_open, badge="supervise", order=50)

from web.supervise import worklist  # noqa: E402,F401  (the views register on bp)
