"""Words the engine writes for people, kept as data rather than code.

Document wording, generated disclosures, export headers and the wording of error codes live in
``engine/texts/<language>/<area>.yaml``, so no engine module holds interface text and a translator
edits YAML, never Python. ``text("supervision.notice.title", n=3)`` reads the key ``notice.title``
of ``zh/supervision.yaml`` and fills ``{n}``; ``language="en"`` reads the English file, falling
back to the Chinese where an area has no English.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["LANGUAGES", "data", "error_text", "error_wording", "text", "texts"]

LANGUAGES = ("zh", "en")


@cache
def _area(language: str, area: str) -> dict[str, Any]:
    path = resources.files(__package__).joinpath(language, f"{area}.yaml")
    if not path.is_file():
        return {}
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"engine/texts/{language}/{area}.yaml must hold a mapping")
    return loaded


def _lookup(key: str, language: str) -> Any:
    area, _, rest = key.partition(".")
    for lang in (language, "zh") if language != "zh" else ("zh",):
        node: Any = _area(lang, area)
        for part in rest.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
    raise KeyError(f"no text {key!r}")


def data(key: str, language: str = "zh") -> Any:
    """The value under ``key`` as the file holds it (a string, a list or a mapping)."""
    return _lookup(key, language)


def text(key: str, language: str = "zh", /, **params: Any) -> str:
    """The string under ``key``, with ``{name}`` filled from ``params`` when any are given."""
    value = _lookup(key, language)
    if not isinstance(value, str):
        raise TypeError(f"text {key!r} is not a string")
    return value.format(**params) if params else value


def texts(key: str, language: str = "zh") -> dict[str, str]:
    """The mapping under ``key`` (labels by code, say), with the Chinese filling keys the language lacks."""
    merged = dict(_lookup(key, "zh")) if language != "zh" else {}
    value = _lookup(key, language)
    if not isinstance(value, dict):
        raise TypeError(f"text {key!r} is not a mapping")
    merged.update(value)
    return merged


@cache
def error_wording(language: str = "zh") -> dict[str, str]:
    """How each error code reads in ``language``: ``errors.yaml`` and every area's ``errors:`` section.

    A code worded in two files is refused, so no area silently rewords another's error.
    """
    folder = resources.files(__package__).joinpath(language)
    merged: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        area = entry.name.removesuffix(".yaml")
        loaded = _area(language, area)
        section = loaded if area == "errors" else loaded.get("errors", {})
        for code, wording in section.items():
            if code in merged:
                raise ValueError(f"error code {code!r} is worded twice (engine/texts/{language}/{area}.yaml)")
            merged[code] = wording
    return merged


def error_text(code: str, params: dict[str, Any] | None = None, language: str = "zh") -> str | None:
    """The wording of ``code`` filled from ``params``, or None when the catalogue has no such code."""
    wording = error_wording(language).get(code)
    if wording is None and language != "zh":
        wording = error_wording("zh").get(code)
    if wording is None:
        return None
    try:
        return wording.format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return wording
