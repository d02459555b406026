"""The powerlist engine: power-list BPMN flows, run durably.

No Flask here. Callers (the CLI, the web app, the scheduler) open a SQLAlchemy session and call
the functions of :mod:`engine.api`; each state change is one transaction.
"""
