"""The engine's wiring, done once per process by :func:`bootstrap` (the app factory, the command
line and the scheduler call it; the tests' conftest too).

It installs the built-in hooks and sources, in this order: the supervision step watcher, the
violations the audit views count, the complaints' concern and hooks, subsidy rosters produced by
flows, closing added approvals of a closed step, and dropping the drafts of a closed step. Every
model module is imported with :mod:`engine.persistence.schema`. Installing twice changes nothing.
"""

from __future__ import annotations

from engine.persistence import schema
from engine.public import complaints
from engine.public.subsidies import from_flows as subsidies_from_flows
from engine.supervision import audit_source
from engine.supervision import hook as supervision_hook
from engine.workspace import closing, drafts

INSTALLERS = (
    supervision_hook.install,
    audit_source.install,
    complaints.install,
    subsidies_from_flows.install,
    closing.install,
    drafts.install,
)


def bootstrap() -> None:
    """Install the built-in hooks and sources and load every model module; idempotent."""
    schema.load_all()
    for install in INSTALLERS:
        install()
