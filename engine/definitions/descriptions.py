"""Plain descriptions of a parsed flow, shared by deploy, runtime, web and printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import Problem
from engine.texts import data

# The power list's categories (pl:category), in the order pages list them: engine/texts/*/catalog.yaml names them.
CATEGORIES = tuple(data("catalog.categories"))


@dataclass(frozen=True)
class StepInfo:
    """One user task of a flow, as the cadre and the rules see it."""

    id: str
    name: str
    role: str
    form: str | None = None  # path of the JSON Schema relative to the BPMN file
    time_limit: str | None = None  # ISO 8601 duration
    calendar: str = "calendar"  # "calendar" or "working"
    legal_basis: str | None = None
    documentation: str | None = None
    lane: str | None = None
    line: int | None = None
    operations: list[str] | None = None  # what the step allows besides completing it; None: every operation

    def allows(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations


@dataclass
class ParsedDefinition:
    """Everything deploy needs from one BPMN file and its forms."""

    key: str
    name: str
    category: str | None
    number: str | None
    responsible_body: str | None
    legal_basis: str | None
    description: str | None
    steps: list[StepInfo]
    forms: dict[str, dict[str, Any]]  # form path -> JSON Schema
    spec: Any  # SpiffWorkflow BpmnProcessSpec of the top process
    subprocess_specs: dict[str, Any] = field(default_factory=dict)
    has_di: bool = False
    start_form: str | None = None  # path of the start event's form: the start data a matter takes

    def step(self, step_id: str) -> StepInfo | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass
class ValidationReport:
    """The outcome of validating an upload: every problem found, or the parsed definition."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    definition: ParsedDefinition | None = None
    warnings: list[Problem] = field(default_factory=list)  # shown before deploying; they refuse nothing

    @property
    def ok(self) -> bool:
        return not self.problems and self.definition is not None
