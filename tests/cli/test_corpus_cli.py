"""Every reference model through ``powerlist validate``: exit 0 or 2, a report line per problem, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine.definitions.test_corpus import FILES

LINE = re.compile(r"^\S.*: \[[a-z0-9-]+\] .+")

pytestmark = pytest.mark.skipif(not FILES, reason="BPMN MIWG reference corpus not found")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_validate_command_reports_every_reference_model(cli, path: Path) -> None:
    result = cli("validate", str(path))
    assert result.code in (0, 2), result.err
    if result.code == 2:
        lines = result.out.strip().splitlines()
        assert lines and all(LINE.match(line) for line in lines), result.out
        assert "problem(s)" in result.err
        content = path.read_bytes()
        if b'isExecutable="true"' not in content:
            assert "descriptive (non-executable) model" in result.out
    else:
        assert ": ok - " in result.out
