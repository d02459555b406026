"""The powerlist engine: power-list BPMN flows, run durably.

No Flask here. Callers (the CLI, the web app, the scheduler) open a SQLAlchemy session and call
the functions of :mod:`engine.api`; each state change is one transaction. Each of them calls
:func:`bootstrap` once at start, which installs the built-in hooks (see :mod:`engine.wiring`).
"""

__all__ = [
    "bootstrap",
    # the public modules: the web app and the command line import only these (see .importlinter)
    "api",
    "audit",
    "caches",
    "calendar",
    "catalog",
    "clock",
    "definitions",
    "diagram",
    "errors",
    "expressions",
    "history",
    "inputs",
    "messages",
    "org",
    "persistence",
    "policy",
    "public",
    "queries",
    "runtime",
    "scheduler",
    "supervision",
    "workspace",
]


def bootstrap() -> None:
    """Install the engine's built-in hooks and sources and load every model module (once is enough;
    a second call changes nothing)."""
    from engine import wiring

    wiring.bootstrap()
