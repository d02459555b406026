"""Every error code the engine raises is worded in Chinese and English by the one catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from engine.errors import NotFound, PermissionDenied
from engine.messages import CATALOGUE, describe

ENGINE = Path(__file__).resolve().parents[2] / "engine"
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
        words = PARAM.sub("", chinese)
        assert any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in words) or not words.strip(), code
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


def test_each_error_code_is_worded_once_in_each_language():
    zh, en = worded_codes("zh"), worded_codes("en")
    for worded in (zh, en):
        codes = [code for code, _, _ in worded]
        assert sorted({c for c in codes if codes.count(c) > 1}) == []
    chinese = {code: file for code, _, file in zh}
    english = {code: file for code, _, file in en}
    assert sorted(chinese.keys() ^ english.keys()) == []
    assert [code for code, file in chinese.items() if english[code] != file] == []


def _raised_codes() -> list[tuple[str, set[str], str]]:
    """(code, params given, place) for each engine call that names a catalogue code with literal params:
    ``X(code="c", params={...})`` and ``FieldError.coded(field, "c", name=...)``."""
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            place = f"{path.relative_to(ENGINE.parent)}:{node.lineno}"
            code = keywords.get("code")
            params = keywords.get("params")
            if isinstance(code, ast.Constant) and isinstance(code.value, str) and isinstance(params, ast.Dict):
                if all(isinstance(k, ast.Constant) for k in params.keys):
                    found.append((code.value, {k.value for k in params.keys}, place))
            elif (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "coded"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and not any(k.arg is None for k in node.keywords)
            ):
                found.append((node.args[1].value, set(keywords), place))
    return found


def test_every_raise_gives_the_params_its_wordings_read():
    """Each language may read other params (the Chinese a village's name, the English its code), but
    every param either wording reads is given where the error is raised."""
    wordings = {code: [wording] for code, wording, _ in worded_codes("zh")}
    for code, wording, _ in worded_codes("en"):
        wordings.setdefault(code, []).append(wording)
    raised = _raised_codes()
    assert len(raised) > 100
    missing = [
        f"{place} {code}: {sorted(needed - given)}"
        for code, given, place in raised
        if code in wordings
        for needed in [{name for w in wordings[code] for name in PARAM.findall(w)}]
        if needed - given
    ]
    assert missing == []
