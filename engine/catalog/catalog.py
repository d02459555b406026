"""The power list (小微权力清单): the items shipped in processes/ and the versions deployed of each."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog.graph import FlowGraph, flow_graph
from engine.definitions.descriptions import ParsedDefinition, ValidationReport
from engine.definitions.validate import load_definition_file, validate_bpmn
from engine.errors import DefinitionInvalid, NotFound
from engine.persistence.models import DefinitionVersion
from engine.queries import definitions
from engine.texts import text, texts

SHIPPED = Path(__file__).resolve().parents[2] / "processes"

CATEGORY_LABELS = texts("catalog.categories")


def category_label(category: str | None) -> str:
    """The name of a power-list category (engine/texts/zh/catalog.yaml); an unknown one reads as its code."""
    if not category:
        return text("catalog.uncategorised")
    return CATEGORY_LABELS.get(category, category)


@dataclass
class CatalogItem:
    """One power item: what processes/ ships and what the database runs."""

    key: str
    number: str | None
    category: str | None
    name: str
    responsible_body: str | None = None
    steps: int = 0
    file: str | None = None  # the shipped BPMN file, when there is one
    problems: list[str] = field(default_factory=list)  # why a shipped file does not validate
    versions: list[dict[str, Any]] | None = None  # None: no database to ask

    @property
    def category_label(self) -> str:
        return category_label(self.category)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "number": self.number,
            "category": self.category,
            "category_label": self.category_label,
            "name": self.name,
            "responsible_body": self.responsible_body,
            "steps": self.steps,
            "file": self.file,
            "problems": self.problems,
            "versions": self.versions,
        }


def shipped_files(folder: Path = SHIPPED) -> list[Path]:
    return sorted(folder.glob("*/*.bpmn"))


def shipped_file(key: str, folder: Path = SHIPPED) -> Path | None:
    path = folder / key / f"{key}.bpmn"
    return path if path.is_file() and path.parent.parent == folder else None


def shipped_items(folder: Path = SHIPPED) -> list[CatalogItem]:
    items = []
    for path in shipped_files(folder):
        report = load_definition_file(path)
        definition = report.definition
        if definition is None:
            items.append(CatalogItem(path.stem, None, None, path.stem, file=str(path), problems=_problems(report)))
            continue
        items.append(
            CatalogItem(
                key=definition.key,
                number=definition.number,
                category=definition.category,
                name=definition.name,
                responsible_body=definition.responsible_body,
                steps=len(definition.steps),
                file=str(path),
            )
        )
    return items


def power_list(session: Session | None = None, folder: Path = SHIPPED) -> list[CatalogItem]:
    """Shipped items and, with a session, every deployed item with its versions; by number."""
    items = {item.key: item for item in shipped_items(folder)}
    if session is not None:
        for item in items.values():
            item.versions = []
        for row in definitions(session):
            item = items.get(row.key)
            if item is None:
                item = items[row.key] = CatalogItem(
                    row.key, row.number, row.category, row.name, steps=row.steps, versions=[]
                )
            item.versions.append(
                {
                    "version": row.version,
                    "name": row.name,
                    "steps": row.steps,
                    "running": row.running,
                    "retired": row.retired,
                    "deployed_at": row.deployed_at,
                }
            )
    return sorted(items.values(), key=lambda item: (item.number is None, item.number or "", item.key))


@dataclass(frozen=True)
class LoadedFlow:
    """A valid flow ready to be printed: its definition, its graph and where it came from."""

    definition: ParsedDefinition
    graph: FlowGraph
    source: str


def load_flow(source: str, session: Session | None = None, folder: Path = SHIPPED) -> LoadedFlow:
    """A flow by BPMN file path, or by key: the newest deployed version, else the shipped file.

    Raises NotFound for an unknown key and DefinitionInvalid, listing every problem, for a bad file.
    """
    path = Path(source)
    if source.endswith(".bpmn") or path.is_file():
        return _loaded(load_definition_file(path), path.read_bytes() if path.is_file() else b"", str(path))
    if session is not None:
        row = session.scalar(
            select(DefinitionVersion)
            .where(DefinitionVersion.key == source, DefinitionVersion.retired.is_(False))
            .order_by(DefinitionVersion.version.desc())
            .limit(1)
        )
        if row is not None:
            content = row.bpmn_xml.encode("utf-8")
            forms = {name: json.dumps(schema).encode("utf-8") for name, schema in (row.forms or {}).items()}
            name = f"{row.key} v{row.version}"
            return _loaded(validate_bpmn(content, name, forms), content, name)
    shipped = shipped_file(source, folder)
    if shipped is None:
        raise NotFound(f"no power item '{source}' in {folder} or in the database")
    return _loaded(load_definition_file(shipped), shipped.read_bytes(), str(shipped))


def _loaded(report: ValidationReport, content: bytes, source: str) -> LoadedFlow:
    if not report.ok or report.definition is None:
        raise DefinitionInvalid(report.problems)
    return LoadedFlow(report.definition, flow_graph(content, source), source)


def _problems(report: ValidationReport) -> list[str]:
    return [str(problem) for problem in report.problems] or ["not a valid flow"]
