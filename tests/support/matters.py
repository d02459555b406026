"""Reading a matter's state in tests: its open steps, the length of its history, a flow's example,
and the register decisions an example cites."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.catalog.examples import ExamplePath, examples_path, load_examples
from engine.persistence.models import HistoryEvent, OpenTask


def open_steps(sessions, instance_id: int) -> list[OpenTask]:
    with sessions() as session:
        return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)))


def history_length(sessions, instance_id: int) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(HistoryEvent.instance_id == instance_id))


def register_cited(session, example: ExamplePath, town_agency: str) -> dict[str, str]:
    """Record the decisions the example cites (as passed on paper, by the town agency) and return
    their numbers by name, for :func:`engine.catalog.examples.cite`."""
    from engine.supervision import decisions

    return {
        name: decisions.record_paper(session, town_agency, example.village, **entry).number
        for name, entry in example.cited().items()
    }


def example(flow: Path, name: str) -> ExamplePath:
    """The example path ``name`` of the flow in ``flow`` (its examples.yaml)."""
    return next(p for p in load_examples(examples_path(flow)) if p.name == name)
