"""Files a browser asks for at the site's root: ``/favicon.ico`` (the icon is an SVG under /static)."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("site", __name__)


@bp.get("/favicon.ico")
def favicon():
    response = send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    return response
