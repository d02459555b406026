"""Deployed definitions restored for running, once per process (versions are immutable)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from engine.definitions.descriptions import StepInfo
from engine.persistence.models import DefinitionVersion
from engine.runtime.serializer import load_specs


@dataclass
class LoadedDefinition:
    id: int
    key: str
    version: int
    name: str
    meta: dict[str, Any]
    steps: dict[str, StepInfo]
    forms: dict[str, dict[str, Any]]
    form_texts: dict[str, str]
    spec: Any
    subprocess_specs: dict[str, Any]

    def step(self, step_id: str) -> StepInfo:
        try:
            return self.steps[step_id]
        except KeyError:
            raise LookupError(f"flow '{self.key}' v{self.version} has no user task '{step_id}'") from None

    def start_form(self) -> tuple[dict[str, Any] | None, str | None]:
        """The start event's form (the start data a matter takes besides its title), if it has one."""
        path = self.meta.get("start_form")
        if not path:
            return None, None
        return self.forms.get(path), self.form_texts.get(path)

    def form(self, step: StepInfo) -> tuple[dict[str, Any] | None, str | None]:
        if not step.form:
            return None, None
        return self.forms.get(step.form), self.form_texts.get(step.form)


# Keyed by content, not row id: several databases (tests, SQLite and PostgreSQL) may share a process.
_cache: dict[tuple[str, str], LoadedDefinition] = {}
_lock = threading.Lock()


def loaded(row: DefinitionVersion) -> LoadedDefinition:
    cache_key = (row.key, row.content_hash)
    found = _cache.get(cache_key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(cache_key)
        if found is None:
            spec, subprocess_specs = load_specs(row.spec_json)
            steps = {s["id"]: StepInfo(**s) for s in row.meta.get("steps", [])}
            forms = dict(row.forms or {})
            found = LoadedDefinition(
                id=row.id,
                key=row.key,
                version=row.version,
                name=row.name,
                meta=row.meta,
                steps=steps,
                forms=forms,
                form_texts={k: json.dumps(v, sort_keys=True) for k, v in forms.items()},
                spec=spec,
                subprocess_specs=subprocess_specs,
            )
            _cache[cache_key] = found
    return found


def loaded_version(session: Any, version_id: int, key: str, content_hash: str) -> LoadedDefinition:
    """The restored definition, reading the version row only when this process has not restored it yet."""
    found = _cache.get((key, content_hash))
    if found is not None:
        return found
    return loaded(session.get(DefinitionVersion, version_id))


def clear() -> None:
    """Forget restored definitions."""
    with _lock:
        _cache.clear()
