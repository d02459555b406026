"""The ``api`` blueprint, ``bp``, with what runs around its views (see :mod:`web.api`)."""

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
