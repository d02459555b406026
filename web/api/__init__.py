"""The JSON API (/api/v1) for integrations: the same actions as the pages, with bearer tokens.

Requests authenticate with ``Authorization: Bearer <token>`` only; the session cookie is ignored,
so the API needs no CSRF token. The OpenAPI document is at /api/v1/openapi.json."""

from __future__ import annotations

from web.api import documents, drafts, overview, views, violations  # noqa: F401,I001  (the views register on bp, in this order)
from web.api.blueprint import bp, csrf_exempt

__all__ = ["bp", "csrf_exempt"]
