"""English for the interface's Chinese text, keyed by the Chinese as templates and ``_()`` calls write it.

The wording is data: ``web/texts/en/<area>.yaml`` maps each msgid to its English, so a translator
edits YAML, never Python. The areas ``web/messages_<area>.py`` listed below word theirs as a
mapping in Python. A msgid given two different English wordings is refused.
"""

from __future__ import annotations

from importlib import resources

import yaml

from web import (
    messages_admin,
    messages_conformance,
    messages_disclosures,
    messages_documents,
    messages_items,
    messages_register,
    messages_subsidies,
    messages_wallet,
)

__all__ = ["ENGLISH", "english"]

_MODULES = (
    messages_admin,
    messages_register,
    messages_documents,
    messages_subsidies,
    messages_wallet,
    messages_disclosures,
    messages_items,
    messages_conformance,
)


def _add(merged: dict[str, str], wording: dict[str, str], source: str) -> None:
    for msgid, english in wording.items():
        if merged.get(msgid, english) != english:
            raise ValueError(f"{msgid!r} has two English wordings ({source})")
        merged[msgid] = english


def english() -> dict[str, str]:
    """Every msgid's English: the data files first, then the areas' modules."""
    merged: dict[str, str] = {}
    folder = resources.files("web").joinpath("texts", "en")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            loaded = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            _add(merged, loaded, f"web/texts/en/{entry.name}")
    for module in _MODULES:
        _add(merged, module.ENGLISH, module.__name__)
    return merged


ENGLISH: dict[str, str] = english()
