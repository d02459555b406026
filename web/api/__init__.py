"""The JSON API (/api/v1) for integrations: the same actions as the pages, with bearer tokens.

Requests authenticate with ``Authorization: Bearer <token>`` only; the session cookie is ignored,
so the API needs no CSRF token. The OpenAPI document is at /api/v1/openapi.json.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf_exempt = True

PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    from engine.workspace import tokens
    from web import db

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        found, due = tokens.identify(db.session(), token.strip())
        if found is not None and due:  # a write only every few minutes per token, not per request
            with db.writing() as session:
                found = tokens.user_for(session, token.strip())
        user = found.username if found is not None else None
    if user is None:
        response = jsonify({"error": {"code": "Unauthorized", "message": "a valid bearer token is required"}})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="powerlist"'
        return response
    g.api_user = user
    return None


from web.api import views  # noqa: E402,F401,I001  (the views register on bp; areas add theirs below)
from web.api import violations  # noqa: E402,F401  (the supervisors' views)
from web.api import overview  # noqa: E402,F401
from web.api import documents  # noqa: E402,F401
from web.api import drafts  # noqa: E402,F401
