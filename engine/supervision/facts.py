"""What rule conditions see: a matter's completed forms and who did them, evaluated as safe expressions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.clock import as_utc, format_time
from engine.expressions import ExpressionError, compile_expression
from engine.history import events as history
from engine.history.events import EventKind
from engine.persistence.models import HistoryEvent, Matter
from engine.ruleset import UnknownRule, rule


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return as_utc(value).astimezone(CST).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ExpressionError(f"not a date: {value!r}")
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"not an ISO date or time: {value!r}") from None
    return _to_date(parsed if parsed.tzinfo else parsed.replace(tzinfo=CST))


def days_between(start: Any, end: Any) -> int:
    """Whole days from ``start`` to ``end`` (dates, or times taken as their China-time day)."""
    return (_to_date(end) - _to_date(start)).days


def date_of(value: Any) -> str:
    """The China-time day of a time, as ``YYYY-MM-DD``."""
    return _to_date(value).isoformat()


def _rule(key: Any) -> Any:
    try:
        return rule(str(key))
    except UnknownRule as exc:
        raise ExpressionError(str(exc)) from None


FUNCTIONS = {"rule": _rule, "days_between": days_between, "date": date_of}
_FROM_HISTORY = ("steps", "done", "actors")


@dataclass
class MatterFacts:
    """The latest form of each completed step of a matter, who completed it and when."""

    item: str
    status: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    actors: dict[str, str | None] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)


class Names(Mapping[str, Any]):
    """Names for a rule condition. ``steps``, ``done`` and ``actors`` read the matter's history only
    when a condition uses them, so most steps never read it."""

    def __init__(self, session: Session, instance: Matter, item: str, event: HistoryEvent | None = None):
        self._session, self._instance = session, instance
        self._values: dict[str, Any] = {}
        current: dict[str, Any] = {}
        if event is not None:
            current = json.loads(event.data).get("form") or {}
            self._values.update(current)
        self._values.update(
            form=current,
            actor=event.actor if event is not None else None,
            event=_event_names(event) if event is not None else {},
            item=item,
            status=instance.status,
        )
        self._facts: MatterFacts | None = None

    def _history(self) -> MatterFacts:
        if self._facts is None:
            self._facts = matter_facts(self._session, self._instance, self._values["item"])
        return self._facts

    def __getitem__(self, name: str) -> Any:
        if name in _FROM_HISTORY:
            return getattr(self._history(), name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, *_FROM_HISTORY])

    def __len__(self) -> int:
        return len(self._values) + len(_FROM_HISTORY)


def _event_names(event: HistoryEvent) -> dict[str, Any]:
    payload = json.loads(event.data)
    return {
        "kind": event.kind,
        "step": event.step_id,
        "at": format_time(event.at),
        "date": date_of(event.at),
        "reason": payload.get("reason"),
        "waived": payload.get("waived") or [],
    }


def matter_facts(session: Session, instance: Matter, item: str) -> MatterFacts:
    facts = MatterFacts(item=item, status=instance.status)
    for event in history.events_of(session, instance.id):
        if event.kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED) and event.step_id:
            facts.steps[event.step_id] = json.loads(event.data).get("form") or {}
            facts.actors[event.step_id] = event.actor
            if event.step_id not in facts.done:
                facts.done.append(event.step_id)
    return facts


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """The value of a rule condition, or None when it cannot be evaluated (e.g. a field is missing)."""
    try:
        return compile_expression(text).evaluate(names, FUNCTIONS)
    except ExpressionError:
        return None
