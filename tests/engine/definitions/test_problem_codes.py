"""Every problem code the validator can report has a Chinese summary for administrators."""

from __future__ import annotations

import re
from pathlib import Path

from engine.definitions.codes import PROBLEM_SUMMARIES

DEFINITIONS = Path(__file__).resolve().parents[3] / "engine" / "definitions"


def test_every_problem_code_has_a_chinese_summary():
    used = set()
    for path in DEFINITIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'problem\(\s*"([a-z]+(?:-[a-z0-9]+)*)"', text))
        used |= set(re.findall(r'Problem\(\s*"([a-z]+(?:-[a-z0-9]+)*)"', text))
        used |= set(re.findall(r'code="([a-z]+(?:-[a-z0-9]+)*)"', text))
    assert len(used) > 20
    assert sorted(used - PROBLEM_SUMMARIES.keys()) == []


def test_every_problem_code_has_an_english_summary_and_nothing_more():
    from engine.definitions.codes import GUIDE_ANCHORS, summary

    assert sorted(PROBLEM_SUMMARIES.keys() ^ GUIDE_ANCHORS.keys()) == []
    assert [code for code in GUIDE_ANCHORS if not summary(code, "en")] == []
