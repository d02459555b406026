"""Subsidy rosters for the staff who keep them: import a spreadsheet, check it, publish it, withdraw it."""

from __future__ import annotations

from web.cadre import bp  # noqa: F401
