"""The village accounts for the staff who keep them: import a month's journal for 我们的钱包."""

from __future__ import annotations

from web.cadre import bp  # noqa: F401
