"""Which flow step an activity name of an imported log means.

A name maps to a step by, in order: the exact step id, the exact step name (Chinese), then the
auditor's mapping table for the flow (``audit_activity_mapping``), then a mapping given for one run.
Names are compared after Unicode NFKC normalisation and trimming, so full-width and half-width
spellings agree.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock, texts
from engine.audit.models import ActivityMapping
from engine.audit.reference_model import ProcessModel
from engine.errors import PowerlistError

MAX_SOURCE_LENGTH = 200


class MappingFileInvalid(PowerlistError):
    exit_code = 2


def normalize(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip()


@dataclass
class ActivityMapper:
    """Resolves activity names to step ids of one flow model."""

    model: ProcessModel
    table: dict[str, str] = field(default_factory=dict)  # normalized source name -> step id
    _cache: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._ids = {normalize(s): s for s in self.model.steps}
        for alias, step in self.model.aliases.items():  # other tasks of the same name (models read from files)
            self._ids.setdefault(normalize(alias), step)
        self._names: dict[str, str] = {}
        for step, name in zip(self.model.steps, self.model.names, strict=True):
            self._names.setdefault(normalize(name), step)

    def __call__(self, name: str) -> str | None:
        found = self._cache.get(name, "")
        if found != "":
            return found
        key = normalize(name)
        found = self._ids.get(key) or self._names.get(key) or self.table.get(key)
        self._cache[name] = found
        return found

    def add(self, source: str, step_id: str) -> None:
        self.table[normalize(source)] = step_id
        self._cache.clear()


def mapper_for(session: Session | None, model: ProcessModel, extra: dict[str, str] | None = None) -> ActivityMapper:
    """The flow's stored mapping table, then ``extra`` (e.g. a mapping file given for one run) on top."""
    mapper = ActivityMapper(model)
    if session is not None:
        for row in session.scalars(select(ActivityMapping).where(ActivityMapping.flow_key == model.key)):
            mapper.add(row.source, row.step_id)
    for source, step in (extra or {}).items():
        mapper.add(source, step)
    return mapper


def resolve_mapping(model: ProcessModel, pairs: dict[str, str], source: str = "mapping") -> dict[str, str]:
    """``pairs`` (activity name -> step id or name) with every step resolved to the model's step id;
    :class:`MappingFileInvalid` names the first step the model does not have."""
    steps = ActivityMapper(model)
    resolved: dict[str, str] = {}
    for name, step in pairs.items():
        target = steps(step)
        if target is None:
            known = ", ".join(f"{s} ({n})" for s, n in list(zip(model.steps, model.names, strict=True))[:20])
            raise MappingFileInvalid(
                f"{source}: '{name}' maps to '{step}', which is not a step of the model; its steps: {known}"
            )
        resolved[name] = target
    return resolved


def mappings(session: Session, key: str) -> list[dict[str, str]]:
    rows = session.scalars(
        select(ActivityMapping).where(ActivityMapping.flow_key == key).order_by(ActivityMapping.source)
    )
    return [{"source": r.source, "step": r.step_id, "updated_by": r.updated_by or ""} for r in rows]


def set_mapping(session: Session, model: ProcessModel, source: str, step: str, actor: str | None = None) -> None:
    """Map ``source`` to ``step`` (a step id or the step's exact name) for the flow."""
    source = normalize(source)
    if not source or len(source) > MAX_SOURCE_LENGTH:
        raise PowerlistError(f"an activity name must have 1 to {MAX_SOURCE_LENGTH} characters")
    target = ActivityMapper(model)(step)
    if target is None:
        raise PowerlistError(f"flow '{model.key}' has no step '{step}'; its steps: {', '.join(model.steps)}")
    row = session.scalar(
        select(ActivityMapping).where(ActivityMapping.flow_key == model.key, ActivityMapping.source == source)
    )
    if row is None:
        row = ActivityMapping(flow_key=model.key, source=source, step_id=target, updated_at=clock.now())
        session.add(row)
    row.step_id, row.updated_at, row.updated_by = target, clock.now(), actor
    session.flush()


def remove_mapping(session: Session, key: str, source: str) -> bool:
    result = session.execute(
        delete(ActivityMapping).where(ActivityMapping.flow_key == key, ActivityMapping.source == normalize(source))
    )
    return bool(result.rowcount)


def read_mapping_file(path: str | Path) -> dict[str, str]:
    """A two-column CSV (activity name, step id or name); a header row is allowed."""
    data = Path(path).read_bytes()
    if len(data) > 1024 * 1024:
        raise MappingFileInvalid(f"{path}: a mapping file may hold at most 1 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    result: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise MappingFileInvalid(f"{path}: line {number}: expected two columns, activity name and step")
        header = ("source", "activity", *texts.data("audit.logs.mapping_headers"))
        if number == 1 and normalize(cells[0]).lower() in header:
            continue
        result[cells[0]] = cells[1]
    return result
