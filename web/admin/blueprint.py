"""The ``admin`` blueprint, ``bp``, with what runs around its views (see :mod:`web.admin`)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from web import menu
from web.security import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
@admin_required
def require_admin() -> None:
    """Every page of this blueprint is for administrators only."""


menu.add("流程管理", "admin.flows", lambda user: user.is_admin, order=60)
menu.add("人员管理", "admin.users", lambda user: user.is_admin, order=70)
