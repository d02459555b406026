"""三务公开 for the village's cadres and its committee: what is due, review, post."""

from __future__ import annotations

from web.cadre import bp  # noqa: F401
