"""A power-list item as villagers read it: its flowchart and a page in plain words.

What the item is for, who may ask and who decides, each step in plain words with who does it and
its time limit (工作日 when the step counts working days), what to bring and the legal basis. The
shipped flows carry this text in ``processes/<flow>/villagers.yaml``; for any other flow (an
uploaded one) the page is made from the definition itself: its steps' names, offices, limits and
legal bases, so every item on the list has a page. Only items on the villagers' list
(:mod:`engine.definitions.listing`) with a version in service are found.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog.catalog import SHIPPED, category_label
from engine.catalog.graph import flow_graph
from engine.catalog.order import step_order
from engine.catalog.wording import time_limit_text
from engine.definitions.descriptions import StepInfo
from engine.definitions.listing import listed
from engine.diagram import DiagramUnavailable, flow_svg
from engine.errors import DefinitionInvalid, NotFound
from engine.persistence.models import DefinitionVersion
from engine.texts import text as wording
from engine.workspace.labels import role_name

TEXT_FILE = "villagers.yaml"


@lru_cache(maxsize=64)
def _read_text(path: str, mtime: float) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    found = data.get("villagers") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def villager_text(key: str, folder: Path = SHIPPED) -> dict[str, Any]:
    """The plain-language text shipped for flow ``key`` (``processes/<key>/villagers.yaml``), or {}."""
    path = folder / key / TEXT_FILE
    if not key.isidentifier() or not path.is_file() or path.parent.parent != folder:
        return {}
    return _read_text(str(path), path.stat().st_mtime)


def _version(session: Session, key: str) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.key == key, DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no item {key}", code="item.not_found", params={"key": key})
    return row


def _order(row: DefinitionVersion, steps: list[StepInfo]) -> list[StepInfo]:
    try:
        order = step_order(flow_graph(row.bpmn_xml.encode("utf-8"), f"{row.key}.bpmn"))
    except DefinitionInvalid:
        return steps
    rank = {step_id: n for n, step_id in enumerate(order)}
    return sorted(steps, key=lambda s: rank.get(s.id, len(rank)))


def _step_info(raw: dict[str, Any]) -> StepInfo:
    known = set(StepInfo.__dataclass_fields__)
    return StepInfo(**{k: v for k, v in raw.items() if k in known})


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int) and str(v).strip()]
    return []


@dataclass(frozen=True, slots=True)
class ItemPublication:
    """What one step of an item makes public: its kind of publication and the titles of the fields shown."""

    step: str
    kind_label: str
    fields: list[str]


@dataclass(frozen=True, slots=True)
class ItemStep:
    """One step of an item as its page explains it: who handles it, in how long, on what basis."""

    id: str
    name: str
    who: str
    limit: str
    working_days: bool
    text: str
    basis: str


@dataclass(frozen=True, slots=True)
class ItemPage:
    """Everything an item's plain-language page shows; ``written`` when the item has a text of its own."""

    key: str
    number: Any
    name: str
    category_label: str
    responsible_body: str
    purpose: str
    who_asks: str
    who_decides: str
    bring: list[str]
    notes: list[str]
    public: list[str]
    published: list[ItemPublication]
    basis: str
    steps: list[ItemStep]
    svg: str | None
    written: bool


def _published(row: DefinitionVersion) -> list[ItemPublication]:
    """What the item's steps make public, as the published-decisions rules say: per step, the kind
    and the titles of the fields shown."""
    from engine.public.decisions import kind_labels, rules

    forms = row.forms or {}
    schemas = {
        s["id"]: (forms.get(s.get("form") or "") or {}).get("properties") or {} for s in row.meta.get("steps", [])
    }
    names = {s["id"]: s["name"] for s in row.meta.get("steps", [])}
    shown = []
    for step, publication in (rules().flows.get(row.key) or {}).items():
        if step not in names:
            continue
        refs = [r for r in (publication.amount, *publication.fields) if r is not None]
        labels = [str(schemas.get(r.step, {}).get(r.name, {}).get("title") or "") for r in refs]
        if publication.votes:
            labels.append(wording("public.published.votes"))
        kind_label = kind_labels()[publication.kind]
        shown.append(ItemPublication(names[step], kind_label, [x for x in labels if x]))
    return shown


def item_page(session: Session, key: str) -> ItemPage:
    """Everything the item's page shows; an item not on the villagers' list (or retired) is not found."""
    shown = listed(session).get(key)
    if shown is None:
        raise NotFound(f"no item {key} on the villagers' list", code="item.not_found", params={"key": key})
    category, number = shown
    row = _version(session, key)
    meta = row.meta or {}
    text = villager_text(key)
    own = {s.get("step"): s for s in text.get("steps") or [] if isinstance(s, dict)}
    steps = []
    for step in _order(row, [_step_info(s) for s in meta.get("steps", [])]):
        written = own.get(step.id) or {}
        steps.append(
            ItemStep(
                id=step.id,
                name=step.name,
                who=str(written.get("who") or role_name(step.role)),
                limit=time_limit_text(step),
                working_days=step.calendar == "working",
                text=str(written.get("text") or ""),
                basis=step.legal_basis or "",
            )
        )
    try:
        svg = flow_svg(row.bpmn_xml, id_prefix=f"item-{key}")
    except DiagramUnavailable:
        svg = None
    deciders = sorted({s.who for s in steps}, key=[s.who for s in steps].index)
    return ItemPage(
        key=key,
        number=number,
        name=row.name,
        category_label=category_label(category),
        responsible_body=meta.get("responsible_body") or "",
        purpose=str(text.get("purpose") or meta.get("description") or ""),
        who_asks=str(text.get("who_asks") or ""),
        who_decides=str(text.get("who_decides") or wording("public.list.separator").join(deciders)),
        bring=_texts(text.get("bring")),
        notes=_texts(text.get("notes")),
        public=_texts(text.get("public")),
        published=_published(row),
        basis=str(text.get("basis") or meta.get("legal_basis") or ""),
        steps=steps,
        svg=svg,
        written=bool(text),
    )
