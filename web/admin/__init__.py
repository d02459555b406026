"""Administrators' pages: flows (upload, validate, preview, deploy, versions, retire), organisation,
users and API tokens. Every view requires the ``admin`` role; the engine checks the county."""

from __future__ import annotations

from web.admin import flows, people  # noqa: F401,I001  (the views register on bp, in this order)
from web.admin.blueprint import bp

__all__ = ["bp"]
