"""Every piece of interface text has its English."""

from __future__ import annotations

import re
from pathlib import Path

from web.messages import ENGLISH

WEB = Path(__file__).resolve().parents[2] / "web"


def test_every_interface_text_has_an_english_translation():
    found = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])(.+?)\1""", text)}
        found |= set(re.findall(r'menu\.add\(\s*"([^"]+)"', text))
    chinese = {s for s in found if re.search(r"[\u4e00-\u9fff]", s)}
    assert len(chinese) > 200
    assert sorted(chinese - ENGLISH.keys()) == []
    for key, english in ENGLISH.items():
        assert set(re.findall(r"\{(\w+)\}", key)) == set(re.findall(r"\{(\w+)\}", english)), key
