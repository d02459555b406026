"""Example paths of a flow (``processes/<key>/examples.yaml``): the form data of every step, per branch.

They document each flow for administrators and are run by the tests. A step may list ``refused``
variants of its data that the engine must refuse, naming a field. A path may cite decisions of the
village's register made elsewhere: the file's ``decisions`` mapping describes them (kind, amount,
purpose, date) and a step's data names one as ``{decision: name}``; whoever runs the path registers
them first and puts their numbers in (:func:`cite`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from engine.texts import text

EXAMPLES_FILE = "examples.yaml"


class ExamplesInvalid(ValueError):
    """The examples file does not have the expected shape."""


@dataclass(frozen=True)
class Refusal:
    """A variant of a step's data that must be refused, and the field the refusal names."""

    title: str
    change: dict[str, Any]
    field: str
    message: str
    remove: tuple[str, ...] = ()

    def data(self, base: dict[str, Any]) -> dict[str, Any]:
        merged = {**base, **self.change}
        for name in self.remove:
            merged.pop(name, None)
        return merged


@dataclass(frozen=True)
class ExampleStep:
    step: str
    data: dict[str, Any]
    refused: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class ExamplePath:
    name: str
    title: str
    village: str
    steps: tuple[ExampleStep, ...]
    end: str
    start: dict[str, Any] = field(default_factory=dict)
    started_by: str | None = None  # role of whoever starts the matter; else the first step's role
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # register entries it cites

    def step_data(self) -> dict[str, dict[str, Any]]:
        """The data each step of the path submits, by step id (a step the path passes twice: its last)."""
        return {step.step: step.data for step in self.steps}

    def cited(self) -> dict[str, dict[str, Any]]:
        """The decisions the path's data names, by name."""
        names: set[str] = set()
        for step in self.steps:
            _names(step.data, names)
            for refusal in step.refused:
                _names(refusal.change, names)
        return {name: self.decisions[name] for name in sorted(names)}


def _names(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        if set(value) == {"decision"}:
            found.add(value["decision"])
        else:
            for item in value.values():
                _names(item, found)
    elif isinstance(value, list):
        for item in value:
            _names(item, found)


def cite(value: Any, numbers: dict[str, str]) -> Any:
    """``value`` with every ``{decision: name}`` replaced by that decision's number in the register."""
    if isinstance(value, dict):
        if set(value) == {"decision"}:
            return numbers[value["decision"]]
        return {key: cite(item, numbers) for key, item in value.items()}
    if isinstance(value, list):
        return [cite(item, numbers) for item in value]
    return value


def examples_path(bpmn_path: Path) -> Path:
    return bpmn_path.parent / EXAMPLES_FILE


def example_path(flow: Path, name: str) -> ExamplePath:
    """The path ``name`` of the examples beside the flow file ``flow``."""
    for path in load_examples(examples_path(flow)):
        if path.name == name:
            return path
    raise KeyError(f"{examples_path(flow)} has no path {name!r}")


def load_examples(path: Path) -> list[ExamplePath]:
    """The paths of an examples file, in file order."""
    document = _plain(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
    where = str(path)
    root = _mapping(document, where)
    defaults = {key: root[key] for key in ("village", "started_by") if key in root}
    decisions = _decisions(root.get("decisions", {}), f"{where}: decisions")
    paths = _mapping(root.get("paths"), f"{where}: paths")
    found = [
        _path(name, {**defaults, **_mapping(raw, f"{where}: {name}")}, f"{where}: {name}", decisions)
        for name, raw in paths.items()
    ]
    for path_ in found:
        unknown: set[str] = set()
        for step in path_.steps:
            _names(step.data, unknown)
            for refusal in step.refused:
                _names(refusal.change, unknown)
        missing = sorted(unknown - set(decisions))
        if missing:
            raise ExamplesInvalid(f"{where}: {path_.name} cites {', '.join(missing)}, not under decisions")
    return found


DECISION_FIELDS = {"kind", "amount_fen", "purpose", "passed_on", "note"}


def _decisions(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    found = {}
    for name, entry in _mapping(raw, where).items():
        entry = _mapping(entry, f"{where}: {name}")
        extra = set(entry) - DECISION_FIELDS
        if extra or not {"kind", "purpose", "passed_on"} <= set(entry):
            raise ExamplesInvalid(f"{where}: {name} needs kind, purpose, passed_on (and amount_fen, note) only")
        found[str(name)] = {"amount_fen": None, "note": text("catalog.decision_note"), **entry}
    return found


def _path(name: str, raw: dict[str, Any], where: str, decisions: dict[str, dict[str, Any]]) -> ExamplePath:
    village = raw.get("village")
    started_by = raw.get("started_by")
    steps = raw.get("steps")
    if not isinstance(village, str) or not village:
        raise ExamplesInvalid(f"{where}: no village")
    if not isinstance(steps, list) or not steps:
        raise ExamplesInvalid(f"{where}: steps must be a non-empty list")
    if started_by is not None and not isinstance(started_by, str):
        raise ExamplesInvalid(f"{where}: started_by must be a role code")
    return ExamplePath(
        name=name,
        title=_text(raw.get("title"), f"{where}: title"),
        village=village,
        steps=tuple(_step(item, f"{where}: step {index + 1}") for index, item in enumerate(steps)),
        end=_text(raw.get("end"), f"{where}: end"),
        start=_mapping(raw.get("start", {}), f"{where}: start"),
        started_by=started_by,
        decisions=decisions,
    )


def _step(raw: Any, where: str) -> ExampleStep:
    raw = _mapping(raw, where)
    refused = raw.get("refused", [])
    if not isinstance(refused, list):
        raise ExamplesInvalid(f"{where}: refused must be a list")
    return ExampleStep(
        step=_text(raw.get("step"), f"{where}: step"),
        data=_mapping(raw.get("data"), f"{where}: data"),
        refused=tuple(_refusal(item, f"{where}: refused {index + 1}") for index, item in enumerate(refused)),
    )


def _refusal(raw: Any, where: str) -> Refusal:
    raw = _mapping(raw, where)
    remove = raw.get("remove", [])
    if not isinstance(remove, list) or not all(isinstance(name, str) for name in remove):
        raise ExamplesInvalid(f"{where}: remove must be a list of field names")
    return Refusal(
        title=_text(raw.get("title"), f"{where}: title"),
        change=_mapping(raw.get("change", {}), f"{where}: change"),
        field=_text(raw.get("field"), f"{where}: field"),
        message=_text(raw.get("message"), f"{where}: message"),
        remove=tuple(remove),
    )


def _plain(value: Any) -> Any:
    """YAML reads an unquoted 2025-03-01 as a date; forms take dates as ISO text."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExamplesInvalid(f"{where}: expected a mapping")
    return dict(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ExamplesInvalid(f"{where}: expected text")
    return value
