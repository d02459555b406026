"""Supervision tests: waived checks recorded as violations, and the timed flow's data. The clock
(``now``), the driver for matters (``world``) and ``rectification_flow`` are the shared fixtures of
tests/support/world.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.world import STARTER, T0, VILLAGE, World, shipped  # noqa: F401  (imported from here)

DATA = Path(__file__).resolve().parent / "data"
TIMED = DATA / "timed" / "timed_posting.bpmn"


@pytest.fixture(autouse=True)
def _county_allows_waivers(monkeypatch):
    """Waived checks as a county whose waiver rules admit every exception records them: the violations
    they raise are what these tests read (by default a statutory check admits none, see test_runtime)."""
    from engine.workspace import waivers

    monkeypatch.setattr(waivers, "rules", lambda: {"default": True, "flows": {}})
