"""Reading a matter's state in tests: its open steps, the length of its history, a flow's example,
and the register decisions an example cites."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from engine.catalog.examples import ExamplePath, example_path
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


def town_agency_of(village: str) -> str:
    """The demo town agency clerk of ``village``'s town (who keeps its decision register)."""
    from powerlist.demo import TOWN_SLUGS

    return f"{TOWN_SLUGS[village[:4]]}.agency"


def cited_data(sessions, example: ExamplePath, step: str, village: str | None = None) -> dict:
    """The example's data for ``step`` with the decisions it cites registered in ``village`` (the
    example's own by default) and their numbers put in."""
    from engine.catalog.examples import cite

    target = replace(example, village=village or example.village)
    with sessions() as session, session.begin():
        numbers = register_cited(session, target, town_agency_of(target.village))
    return cite(dict(next(s.data for s in example.steps if s.step == step)), numbers)


def example(flow: Path, name: str) -> ExamplePath:
    """The example path ``name`` of the flow in ``flow`` (its examples.yaml)."""
    return example_path(flow, name)
