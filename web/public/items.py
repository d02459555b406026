"""The power list's items for villagers: each with its flowchart and a plain-language page."""

from __future__ import annotations

from web.public import bp  # noqa: F401
