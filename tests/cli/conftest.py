"""The audit tests' flow and matters, for the audit commands (tests/engine/audit/conftest.py)."""

from tests.engine.audit.conftest import flow, matters  # noqa: F401  (fixtures)
