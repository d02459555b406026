"""The ``auditor`` blueprint, ``bp``, with what runs around its views (see :mod:`web.auditor`)."""

from __future__ import annotations

from flask import Blueprint, abort, g
from flask_login import current_user, login_required

from engine.policy import audit as audit_policy
from web import db, menu
from web.i18n import gettext as _

bp = Blueprint("auditor", __name__, url_prefix="/audit")


@bp.before_request
@login_required
def require_auditor() -> None:
    """Only users holding an auditing role somewhere; their scope is checked by every view."""
    if not current_user.holds(*audit_policy.AUDIT_ROLES):
        abort(403)


def scope() -> audit_policy.AuditScope:
    if "audit_scope" not in g:
        g.audit_scope = audit_policy.audit_scope(db.session(), current_user.username)
    return g.audit_scope


@bp.app_template_filter("span")
def span(seconds: float | None) -> str:
    """A duration in seconds as days and hours, hours and minutes, or minutes."""
    if seconds is None:
        return ""
    seconds = max(float(seconds), 0.0)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        text = _("{n} 天", n=days)
        return f"{text} {_('{n} 小时', n=hours)}" if hours else text
    if hours:
        minutes = rest // 60
        return f"{_('{n} 小时', n=hours)} {_('{n} 分钟', n=minutes)}" if minutes else _("{n} 小时", n=hours)
    return _("{n} 分钟", n=max(rest // 60, 1 if seconds else 0))


menu.add("审计", "auditor.matters", lambda user: user.holds(*audit_policy.AUDIT_ROLES), order=55)
