"""Every error code the engine raises is worded in Chinese and English by the one catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from engine.errors import NotFound, PermissionDenied
from engine.messages import CATALOGUE, describe

ENGINE = Path(__file__).resolve().parent.parent / "engine"
CODE = re.compile(r'code="([a-z_]+\.[a-z_.]+)"|Refusal\(\s*"[a-z]+",\s*f?"[^"]*",\s*"([a-z_]+\.[a-z_.]+)"', re.S)


def raised_codes() -> set[str]:
    found: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        for match in CODE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_code_the_engine_raises_has_both_wordings():
    codes = raised_codes()
    assert len(codes) > 40
    assert sorted(codes - CATALOGUE.keys()) == []


def test_each_wording_is_in_its_language():
    for code, (chinese, english) in CATALOGUE.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), code
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in english), code


def test_english_readers_get_the_catalogue_and_chinese_readers_the_particulars():
    denied = PermissionDenied(
        "shangtang.cadre 不能办理「提议」",
        code="task.not_holder",
        params={"user": "u", "step": "s", "role": "r", "unit": "x"},
    )
    assert describe(denied, "zh") == "shangtang.cadre 不能办理「提议」"
    assert describe(denied, "en") == "u may not do 's': it is for the r of x"
    english_only = NotFound("no active user 'ghost'", code="user.unknown", params={"user": "ghost"})
    assert describe(english_only, "zh") == "没有启用的用户 ghost"


TEXTS = ENGINE / "texts"
PARAM = re.compile(r"\{(\w+)\}")


def worded_codes(language: str) -> list[tuple[str, str, str]]:
    """(code, wording, file) for each error code of ``engine/texts/<language>``, duplicates kept."""
    found = []
    for path in sorted((TEXTS / language).glob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        section = loaded if path.stem == "errors" else loaded.get("errors", {})
        found += [(code, wording, path.name) for code, wording in section.items()]
    return found


def test_each_error_code_is_worded_once_in_each_language_with_the_same_params():
    """An English wording may read ``{name_en}``, the English form of the Chinese one's ``{name}``."""
    zh, en = worded_codes("zh"), worded_codes("en")
    for worded in (zh, en):
        codes = [code for code, _, _ in worded]
        assert sorted({c for c in codes if codes.count(c) > 1}) == []
    chinese = {code: (wording, file) for code, wording, file in zh}
    english = {code: (wording, file) for code, wording, file in en}
    assert sorted(chinese.keys() ^ english.keys()) == []
    for code, (wording, file) in chinese.items():
        other, other_file = english[code]
        assert file == other_file, code
        assert set(PARAM.findall(wording)) == {name.removesuffix("_en") for name in PARAM.findall(other)}, code
