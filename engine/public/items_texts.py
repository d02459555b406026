"""The wording of the error codes of the power list's items and the published decisions and results,
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {}
