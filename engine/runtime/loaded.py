"""Deployed definitions restored for running, once per database (versions are immutable)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import object_session

from engine import caches
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


# Kept per database: a version's row id and number belong to its database, and two databases in one
# process (tests, SQLite beside PostgreSQL) may hold the same flow under other ids.
_restored = caches.PerDatabase()
_lock = threading.Lock()
# The restored SpiffWorkflow specs, the costly part, depend only on the flow's content (its key and
# content hash), so every database in the process shares them.
_specs: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
caches.register(_specs.clear)


def _specs_of(row: DefinitionVersion) -> tuple[Any, dict[str, Any]]:
    found = _specs.get((row.key, row.content_hash))
    if found is None:
        found = _specs[(row.key, row.content_hash)] = load_specs(row.spec_json)
    return found


def loaded(row: DefinitionVersion) -> LoadedDefinition:
    session = object_session(row)
    cache = _restored.of(session) if session is not None else {}
    cache_key = (row.key, row.content_hash)
    found = cache.get(cache_key)
    if found is not None:
        return found
    with _lock:
        found = cache.get(cache_key)
        if found is None:
            spec, subprocess_specs = _specs_of(row)
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
            cache[cache_key] = found
    return found


def loaded_version(session: Any, version_id: int, key: str, content_hash: str) -> LoadedDefinition:
    """The restored definition, reading the version row only when this process has not restored it yet."""
    found = _restored.of(session).get((key, content_hash))
    if found is not None:
        return found
    return loaded(session.get(DefinitionVersion, version_id))


def clear() -> None:
    """Forget restored definitions."""
    _restored.clear()
    _specs.clear()
