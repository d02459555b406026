"""The wording of the error codes of 三务公开 (periodic disclosures and the half-yearly reports),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {}
