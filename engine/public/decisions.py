"""决议公开 and 结果公开: the decisions and results a village published, as villagers read them.

Which steps publish what is rule data (``rules/defaults/published.yaml``): per flow and step the kind
(决议 ``resolution``, 结果 ``result``, 公示 ``notice``), the form fields that are public (of that
step or of earlier ones: the resolution's text, the meeting and its votes, the amount), and the legal
basis. A matter shows only once its disclosure step was completed, with the forms as they were
then; nothing of a running step, and no field the rules do not name. Free text passes
:func:`engine.public.masking.mask_personal`; a field the rules mark as a name passes
:func:`engine.public.masking.mask_name`; officials are never named (the page names offices).

A matter's page is found by a slug made from its first history event's hash: not a sequential id,
so it says nothing of the matters that were not published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.clock import as_utc
from engine.errors import NotFound
from engine.history.events import EventKind
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter
from engine.public.masking import mask_known_names, mask_name, names_in_forms
from engine.ruleset import AreaRulesInvalid, area_rules
from engine.supervision.models import Decision, DecisionStatus
from engine.texts import text as wording
from engine.texts import texts as labels

FILE = "published.yaml"
KINDS = ("resolution", "result", "notice")  # worded by ``published.kinds`` of engine/texts/zh/public.yaml
OFF = "none"  # a county turns a step's publication off
TEXT_CHARS = 2000
VOTE_FIELDS = ("members", "present", "votes_for", "votes_against", "abstain")
SLUG_CHARS = 16


@dataclass(frozen=True)
class Field:
    step: str
    name: str
    is_name: bool = False  # a person's name: shown as the masking rules show names


@dataclass(frozen=True)
class Publication:
    """What one step of a flow publishes, as the rule file says."""

    flow: str
    step: str
    kind: str
    basis: str = ""
    title: Field | None = None
    of: str | None = None
    votes: str | None = None
    amount: Field | None = None
    fields: tuple[Field, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rules:
    posting: dict[str, str]
    flows: dict[str, dict[str, Publication]]


def _field(value: Any, where: str, problems: list[str]) -> Field | None:
    is_name = False
    if isinstance(value, dict):
        is_name = value.get("name") is True
        value = value.get("field")
    if not isinstance(value, str) or value.count(".") != 1 or not all(value.split(".")):
        problems.append(f"{FILE}: {where} is step.field (e.g. resolve.resolution_content), not {value!r}")
        return None
    step, name = value.split(".")
    return Field(step, name, is_name)


def rules() -> Rules:
    """The publication rules, with the county's override merged in, checked: every problem names the
    file and the key."""
    data = area_rules(FILE, "published", "the published decisions' rule file")
    problems: list[str] = []
    posting = data.get("posting") or {}
    if not isinstance(posting, dict) or not all(isinstance(posting.get(k), str) for k in ("start", "end", "days")):
        problems.append(f"{FILE}: published.posting names the fields start, end and days")
        posting = {}
    flows: dict[str, dict[str, Publication]] = {}
    raw_flows = data.get("flows") or {}
    if not isinstance(raw_flows, dict):
        raise AreaRulesInvalid([f"{FILE}: published.flows is a mapping of flow: steps"])
    for flow, steps in raw_flows.items():
        if not isinstance(steps, dict):
            problems.append(f"{FILE}: published.flows.{flow} is a mapping of step: what it publishes")
            continue
        for step, spec in steps.items():
            where = f"published.flows.{flow}.{step}"
            if not isinstance(spec, dict):
                problems.append(f"{FILE}: {where} is a mapping (kind, fields, basis…)")
                continue
            kind = spec.get("kind")
            if kind == OFF:
                continue
            raw_fields = spec.get("fields") or []
            if not isinstance(raw_fields, list):
                problems.append(f"{FILE}: {where}.fields is a list of step.field")
                raw_fields = []
            fields = [_field(f, f"{where}.fields", problems) for f in raw_fields]
            if kind not in KINDS:
                problems.append(f"{FILE}: {where}.kind is one of {', '.join([*KINDS, OFF])}, not {kind!r}")
                continue
            title = _field(spec["title"], f"{where}.title", problems) if spec.get("title") else None
            amount = _field(spec["amount"], f"{where}.amount", problems) if spec.get("amount") else None
            for key in ("of", "votes", "basis"):
                if spec.get(key) is not None and not isinstance(spec.get(key), str):
                    problems.append(f"{FILE}: {where}.{key} is text, not {spec.get(key)!r}")
            of = spec.get("of") if isinstance(spec.get("of"), str) else None
            if of is not None and of not in steps:
                problems.append(f"{FILE}: {where}.of names a step of published.flows.{flow}, not {of!r}")
            flows.setdefault(str(flow), {})[str(step)] = Publication(
                flow=str(flow),
                step=str(step),
                kind=kind,
                basis=str(spec.get("basis") or ""),
                title=title,
                of=of,
                votes=spec.get("votes") if isinstance(spec.get("votes"), str) else None,
                amount=amount,
                fields=tuple(f for f in fields if f is not None),
            )
    if problems:
        raise AreaRulesInvalid(problems)
    return Rules(posting=dict(posting), flows=flows)


# --- reading what was published -------------------------------------------------------------------


def _local_day(at: Any) -> str:
    return as_utc(at).astimezone(CST).date().isoformat()


def _iso_day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def slug_of(first_hash: bytes) -> str:
    """A matter's public page name, from the hash of its first history event."""
    return hashlib.sha256(b"powerlist published decision\x00" + bytes(first_hash)).hexdigest()[:SLUG_CHARS]


def _form_titles(version: DefinitionVersion) -> dict[str, dict[str, Any]]:
    """Per step: its form's properties (field -> JSON Schema)."""
    forms = version.forms or {}
    found: dict[str, dict[str, Any]] = {}
    for step in (version.meta or {}).get("steps", []):
        schema = forms.get(step.get("form") or "") or {}
        found[step["id"]] = schema.get("properties") or {}
    return found


def kind_labels() -> dict[str, str]:
    """Each kind of publication's label (决议公开, 结果公开, 公示) by its code."""
    return labels("public.published.kinds")


def _shown(schema: dict[str, Any], value: Any, is_name: bool, known: list[str]) -> dict[str, Any] | None:
    """A value as villagers read it: {"text": …} or {"amount_fen": …}; None when there is nothing to show.
    Free text masks the names ``known`` to the matter wherever it repeats them."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return {"text": wording("public.sheets.yes") if value else wording("public.sheets.no")}
    if isinstance(value, int):
        return {"amount_fen": value} if schema.get("x-money") else {"text": str(value)}
    if isinstance(value, float):
        return {"text": f"{value:g}"}
    if isinstance(value, list):
        items = [_shown(schema.get("items") or {}, item, is_name, known) for item in value]
        texts = [item["text"] for item in items if item and "text" in item]
        return {"text": wording("public.list.separator").join(texts)} if texts else None
    if isinstance(value, str):
        for option in schema.get("oneOf") or []:
            if isinstance(option, dict) and option.get("const") == value and option.get("title"):
                return {"text": str(option["title"])}
        text = mask_name(value) if is_name else mask_known_names(value, known, TEXT_CHARS)
        return {"text": text} if text else None
    return None


@dataclass
class _Matter:
    instance: Matter
    slug: str
    forms: dict[int, tuple[str, dict[str, Any]]]  # seq -> (step, form) of each completion

    def known_names(self) -> list[str]:
        """Every person's name the matter's forms hold (applicants, payees, winners, officials): its free
        text may repeat them, and they are masked there too."""
        return names_in_forms(form for _step, form in self.forms.values())

    def form_before(self, step: str, seq: int) -> dict[str, Any]:
        """The form ``step`` was last completed with before event ``seq``."""
        found: dict[str, Any] = {}
        for at, (done, form) in sorted(self.forms.items()):
            if at <= seq and done == step:
                found = form
        return found


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    """One decision, result or notice a village published: ``slug`` (its page), ``item`` and ``item_name``,
    ``number`` (the decision register's number, when the matter has one), ``kind``/``kind_label``,
    ``title``, ``date`` (posted from), ``posting`` (start, end, days), ``fields`` (label with ``text`` or
    ``amount_fen``), ``votes``, ``amount_fen``, ``basis`` and ``result`` (the result published later for
    the same matter, an entry of its own)."""

    kind: str
    kind_label: str
    step: str
    title: str
    date: str
    posted_on: str
    posting: dict[str, Any]
    fields: list[dict[str, Any]]
    votes: dict[str, int] | None
    amount_fen: int | None
    amount_label: str | None
    basis: str | None
    slug: str
    item: str
    item_name: str
    number: str | None
    result: PublishedEntry | None = None


@dataclass(frozen=True, slots=True)
class MatterPage:
    """The published entries of one matter, with its item and the decision register's number."""

    entries: list[PublishedEntry]
    item: str
    item_name: str
    number: str | None


def _entry(
    matter: _Matter,
    publication: Publication,
    seq: int,
    at: Any,
    properties: dict[str, dict[str, Any]],
    posting: dict,
    version: DefinitionVersion,
    number: str | None,
) -> PublishedEntry:
    instance = matter.instance
    own = matter.form_before(publication.step, seq)

    def value(ref: Field) -> tuple[dict[str, Any], Any]:
        schema = (properties.get(ref.step) or {}).get(ref.name)
        if schema is None:  # not a field of this version's form: nothing to show
            return {}, None
        return schema, matter.form_before(ref.step, seq).get(ref.name)

    known = matter.known_names()
    fields = []
    for ref in publication.fields:
        schema, raw = value(ref)
        shown = _shown(schema, raw, ref.is_name, known) if schema else None
        if shown is not None:
            fields.append({"label": str(schema.get("title") or ref.name), **shown})
    title = None
    if publication.title is not None:
        schema, raw = value(publication.title)
        shown = _shown(schema, raw, publication.title.is_name, known) if schema else None
        title = shown.get("text") if shown else None
    amount, amount_label = None, None
    if publication.amount is not None:
        schema, raw = value(publication.amount)
        amount = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        amount_label = str(schema.get("title") or "") or None
    votes = None
    if publication.votes:
        meeting = matter.form_before(publication.votes, seq)
        counted = {k: meeting.get(k) for k in VOTE_FIELDS}
        if all(isinstance(v, int) and not isinstance(v, bool) for v in counted.values()):
            votes = counted
    start, end = _iso_day(own.get(posting.get("start"))), _iso_day(own.get(posting.get("end")))
    days = own.get(posting.get("days"))
    return PublishedEntry(
        kind=publication.kind,
        kind_label=kind_labels()[publication.kind],
        step=publication.step,
        title=mask_known_names(title or instance.definition.name, known, 200),
        date=start or _local_day(at),
        posted_on=_local_day(at),
        posting={
            "start": start,
            "end": end,
            "days": days if isinstance(days, int) and not isinstance(days, bool) else None,
        },
        fields=fields,
        votes=votes,
        amount_fen=amount,
        amount_label=amount_label,
        basis=publication.basis,
        slug=matter.slug,
        item=version.key,
        item_name=version.name,
        number=number,
    )


def published(
    session: Session, village_id: int, first: date | None = None, last: date | None = None
) -> list[PublishedEntry]:
    """Each decision, result and notice the village published (:class:`PublishedEntry`), newest first.

    ``first``/``last`` keep entries whose date, or whose result's date, falls in those days. Only
    matters whose disclosure step was completed.
    """
    book = rules()
    if not book.flows:
        return []
    rows = session.execute(
        select(Matter, DefinitionVersion)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(Matter.village_id == village_id, DefinitionVersion.key.in_(list(book.flows)))
    ).all()
    if not rows:
        return []
    ids = [instance.id for instance, _version in rows]
    events = session.execute(
        select(
            HistoryEvent.instance_id,
            HistoryEvent.seq,
            HistoryEvent.kind,
            HistoryEvent.step_id,
            HistoryEvent.at,
            HistoryEvent.data,
            HistoryEvent.hash,
        )
        .where(
            HistoryEvent.instance_id.in_(ids),
            (HistoryEvent.kind == EventKind.TASK_COMPLETED) | (HistoryEvent.seq == 1),
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    ).all()
    by_instance: dict[int, list] = {}
    for event in events:
        by_instance.setdefault(event.instance_id, []).append(event)
    numbers = _numbers(session, ids)
    entries: list[PublishedEntry] = []
    titles: dict[int, dict[str, dict[str, Any]]] = {}
    for instance, version in rows:
        flow = book.flows.get(version.key) or {}
        own = by_instance.get(instance.id, [])
        first_hash = next((e.hash for e in own if e.seq == 1), None)
        if first_hash is None:
            continue
        forms = {}
        for e in own:
            if e.kind == EventKind.TASK_COMPLETED and e.step_id:
                form = json.loads(e.data).get("form")
                forms[e.seq] = (e.step_id, form if isinstance(form, dict) else {})
        matter = _Matter(instance, slug_of(first_hash), forms)
        last_done: dict[str, Any] = {}
        for e in own:
            if e.kind == EventKind.TASK_COMPLETED and e.step_id in flow:
                last_done[e.step_id] = e  # the latest posting (a disclosure sent back is posted again)
        if not last_done:
            continue
        if version.id not in titles:
            titles[version.id] = _form_titles(version)
        number = numbers.get(instance.id)
        made = {
            step: _entry(matter, flow[step], e.seq, e.at, titles[version.id], book.posting, version, number)
            for step, e in last_done.items()
        }
        entries.extend(_linked(made, flow))
    if first is not None or last is not None:
        low, high = (first or date.min).isoformat(), (last or date.max).isoformat()

        def within(entry: PublishedEntry | None) -> bool:
            return entry is not None and low <= entry.date <= high

        entries = [e for e in entries if within(e) or within(e.result)]
    entries.sort(key=lambda e: (e.date, e.posted_on, e.slug), reverse=True)
    return entries


def _linked(made: dict[str, PublishedEntry], flow: dict[str, Publication]) -> list[PublishedEntry]:
    """A matter's entries with each result under the entry it is the result of (the last one when
    several are); the entries that are no other's result."""
    results = {flow[step].of: step for step in made if flow[step].of in made}

    def linked(step: str) -> PublishedEntry:
        child = results.get(step)
        return replace(made[step], result=linked(child) if child else None)

    return [linked(step) for step in made if flow[step].of not in made]


def _numbers(session: Session, ids: list[int]) -> dict[int, str]:
    """Per matter: the number of its decision in the register (the first one not revoked)."""
    found: dict[int, str] = {}
    for instance_id, number in session.execute(
        select(Decision.instance_id, Decision.number)
        .where(Decision.instance_id.in_(ids), Decision.status != DecisionStatus.REVOKED)
        .order_by(Decision.instance_id, Decision.id)
    ):
        found.setdefault(instance_id, number)
    return found


def latest(session: Session, village_id: int, count: int = 3) -> list[PublishedEntry]:
    """The village's newest ``count`` published decisions (for its page)."""
    return published(session, village_id)[:count]


def matter_page(session: Session, village_id: int, slug: str) -> MatterPage:
    """The published entries of one matter of the village, by its slug; anything else is not found."""
    slug = str(slug).lower()[:40]
    found = [e for e in published(session, village_id) if e.slug == slug]
    if not found:
        raise NotFound("no published decision with this code", code="published.not_found")
    return MatterPage(found, found[0].item, found[0].item_name, found[0].number)
