"""Extension points that other parts of the product register on, inside the step's transaction.

Rules, timers and notifications observe steps here instead of being called from the runtime.
A hook that raises aborts the step: nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class StepContext:
    """What one step did: the instance row, the events it appended and the tasks it opened/closed."""

    session: Session
    instance: Any  # engine.persistence.models.Matter
    definition: Any  # engine.runtime.loaded.LoadedDefinition
    events: list[Any]  # engine.persistence.models.HistoryEvent, in order
    opened: list[Any]  # engine.runtime.steps.OpenedTask
    closed: list[str]  # ids of user tasks no longer open
    actor: str | None
    now: datetime
    workflow: Any = None  # the SpiffWorkflow BpmnWorkflow as saved by this step; read, never change it
    extra: dict[str, Any] = field(default_factory=dict)


StepHook = Callable[[StepContext], None]

# The process's hooks, in the order they run: installed by ``engine.bootstrap()`` (and by tests that
# add their own, which take them out again with ``clear``).
_after_step: list[StepHook] = []


def after_step(hook: StepHook) -> StepHook:
    """Register ``hook`` to run after every step, before its transaction commits."""
    if hook not in _after_step:
        _after_step.append(hook)
    return hook


def run_after_step(context: StepContext) -> None:
    for hook in list(_after_step):
        hook(context)


def installed() -> tuple[StepHook, ...]:
    """The hooks that run after every step, in order."""
    return tuple(_after_step)


def clear() -> None:
    """Remove every hook (a test that installs its own; ``engine.bootstrap()`` installs the built-in ones again)."""
    _after_step.clear()
