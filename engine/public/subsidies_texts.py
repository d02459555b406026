"""The wording of the error codes of 补贴去哪了 (subsidy rosters and the household lookup),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {}
