"""How each error code reads, in Chinese and English: the one catalogue that pages, API answers and
the command line word the engine's errors from. The wording is data (``engine/texts``).

An error carries a stable ``code`` and its ``params`` (see :class:`engine.errors.PowerlistError`);
an entry here words it. A code without an entry reads as the error's own message.
"""

from __future__ import annotations

from functools import cache

from engine.errors import PowerlistError
from engine.texts import LANGUAGES, error_wording

__all__ = ["LANGUAGES", "catalogue", "describe"]


@cache
def catalogue() -> dict[str, tuple[str, str]]:
    """code -> (Chinese, English), read from ``engine/texts/<language>/*.yaml`` when first needed."""
    zh, en = error_wording("zh"), error_wording("en")
    return {code: (wording, en.get(code, wording)) for code, wording in zh.items()}


def __getattr__(name: str) -> dict[str, tuple[str, str]]:
    # ``CATALOGUE`` is read on first use, so a process that words no error reads no wording files
    if name == "CATALOGUE":
        return catalogue()
    raise AttributeError(name)


def describe(error: PowerlistError, language: str = "zh") -> str:
    """The error worded for a person reading ``language``.

    In Chinese the error's own message is kept when it is Chinese (it names the particulars); in
    English, and for an engine message that is not Chinese, the catalogue's wording is used.
    """
    own = str(error)
    if language == "zh" and _is_chinese(own):
        return own
    entry = catalogue().get(getattr(error, "code", ""))
    if entry is None:
        return own
    template = entry[1 if language == "en" else 0]
    try:
        return template.format(**getattr(error, "params", {}))
    except (KeyError, IndexError, ValueError):
        return own


# the CJK Unified Ideographs block, U+4E00 to U+9FFF
_IDEOGRAPHS = range(0x4E00, 0x9FFF + 1)


def _is_chinese(text: str) -> bool:
    return any(ord(ch) in _IDEOGRAPHS for ch in text)
