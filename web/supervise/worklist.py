"""The worklist page, a violation's page with its handling forms, and search results."""

from __future__ import annotations

from flask_login import current_user

from web.supervise import bp


@bp.get("/")
def worklist():
    return f"监督 {current_user.username}"
