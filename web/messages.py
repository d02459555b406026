"""English for the interface's Chinese text, keyed by the Chinese as templates and ``_()`` calls write it.

The wording is data: ``web/texts/en/<area>.yaml`` maps each msgid to its English, so a translator
edits YAML, never Python. A msgid given two different English wordings is refused.
"""

from __future__ import annotations

from importlib import resources

import yaml

__all__ = ["ENGLISH", "english"]


def _add(merged: dict[str, str], wording: dict[str, str], source: str) -> None:
    for msgid, english in wording.items():
        if merged.get(msgid, english) != english:
            raise ValueError(f"{msgid!r} has two English wordings ({source})")
        merged[msgid] = english


def english() -> dict[str, str]:
    """Every msgid's English, read from the areas' data files."""
    merged: dict[str, str] = {}
    folder = resources.files("web").joinpath("texts", "en")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            loaded = yaml.load(entry.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
            _add(merged, loaded, f"web/texts/en/{entry.name}")
    return merged


ENGLISH: dict[str, str] = english()
