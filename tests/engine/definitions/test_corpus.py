"""The BPMN MIWG reference models: validation never raises and always explains itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions.validate import load_definition_file, validate_bpmn

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "bpmn-miwg-reference"
FILES = sorted(CORPUS.glob("*.bpmn")) if CORPUS.is_dir() else []
CODE = re.compile(r"^[a-z]+(-[a-z0-9]+)*$")

pytestmark = pytest.mark.skipif(not FILES, reason=f"BPMN MIWG reference corpus not found at {CORPUS}")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_reference_model_validates_without_raising(path: Path) -> None:
    report = load_definition_file(path)

    assert report.ok or report.problems
    assert report.ok == (report.definition is not None)
    for problem in report.problems:
        assert CODE.match(problem.code), problem
        assert problem.message
    assert "internal-error" not in {p.code for p in report.problems}

    content = path.read_bytes()
    if b'isExecutable="true"' not in content:
        assert "not-executable" in {p.code for p in report.problems}
        assert any("descriptive (non-executable) model" in p.message for p in report.problems)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_reference_model_truncated_still_never_raises(path: Path) -> None:
    content = path.read_bytes()
    report = validate_bpmn(content[: len(content) // 2], path.name)
    assert [p.code for p in report.problems] == ["xml-syntax"]
