"""A matter at a glance, for whoever must act on it: what was asked at the start, the amounts in
yuan, the parties, the files as thumbnails, the opinions of the steps done, and why a step came
back (退回) or was handed over (转办).

Everything is read from the matter's history and its flow's forms, so it shows what the record
holds. A form names its summary fields with ``x-summary`` (``{"parties": [...], "subject": [...]}``);
a form without one has them found by their titles (收款方, 承包方, 申请人… and 用途, 事由…).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.history.events import EventKind
from engine.persistence.models import HistoryEvent, Matter, OpenTask
from engine.runtime import forms
from engine.runtime.loaded import LoadedDefinition, loaded
from engine.texts import data as data_text
from engine.texts import text
from engine.texts import texts as texts_of
from engine.workspace.people import Person, persons
from engine.workspace.values import field_text, yuan_amount

# Titles that mark a field as naming a party of the matter, or what it is about, in forms that do not
# say so themselves with ``x-summary``.
PARTY_WORDS: tuple[str, ...] = tuple(data_text("workspace.summary.party_words"))
SUBJECT_WORDS: tuple[str, ...] = tuple(data_text("workspace.summary.subject_words"))
OPINION_ENDING: str = text("workspace.summary.opinion_ending")  # a field titled "…意见" holds an opinion
SAID = texts_of("workspace.summary.said")  # the card's own words
OPINION_NAMES = ("opinion", "comment", "opinions")
DIGEST_PREFIX = "hmac-sha256:"  # a digest kept in place of a secret (a reporter's contact)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
COMPLETIONS = (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)


@dataclass(frozen=True)
class Fact:
    label: str
    text: str


@dataclass(frozen=True)
class Amount:
    field: str
    label: str
    fen: int
    yuan: str  # "1,234.50"
    step_name: str


@dataclass(frozen=True)
class File:
    sha256: str
    filename: str
    content_type: str
    size: int | None
    step_name: str
    kind: str  # image | pdf | file

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].upper() if "." in self.filename else "FILE"


@dataclass(frozen=True)
class Opinion:
    step: str
    step_name: str
    by: Person | None
    at: datetime
    verdict: str | None  # 同意 / 不同意 / the chosen result
    texts: tuple[Fact, ...]


@dataclass(frozen=True)
class Reason:
    """Why an open step is where it is: sent back to it (returned) or handed over (transferred)."""

    kind: str  # returned | transferred
    kind_name: str  # 被退回 | 转办
    by: Person | None
    at: datetime
    text: str
    from_step_name: str | None  # the step it was returned from
    to: Person | None = None  # whom it was handed to


@dataclass(frozen=True)
class MatterSummary:
    instance: int
    title: str
    item: str
    village: str
    started_by: Person | None
    started_at: datetime
    start: tuple[Fact, ...]
    amounts: tuple[Amount, ...]
    parties: tuple[Fact, ...]
    subject: tuple[Fact, ...]
    attachments: tuple[File, ...]
    opinions: tuple[Opinion, ...]
    reason: Reason | None = None

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


def plain(value: Any) -> Any:
    """A summary's parts as plain dicts and lists (times stay datetimes), for JSON answers."""
    if isinstance(value, Person):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def _data(event: HistoryEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _declared(schema: dict[str, Any] | None, kind: str) -> set[str] | None:
    declared = (schema or {}).get("x-summary")
    if isinstance(declared, dict) and isinstance(declared.get(kind), list):
        return {str(n) for n in declared[kind]}
    return None


def _marked(schema: dict[str, Any] | None, field: forms.Field, kind: str, words: tuple[str, ...]) -> bool:
    declared = _declared(schema, kind)
    if declared is not None:
        return field.name in declared
    return field.kind in ("text", "textarea", "lines") and any(w in field.title for w in words)


def _text(field: forms.Field, value: Any) -> str:
    if isinstance(value, str) and value.startswith(DIGEST_PREFIX):
        return SAID["kept_secret"]
    return field_text(field, value)


def _is_fen(name: str, value: Any) -> bool:
    return name.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool)


def _verdict(spec: forms.FormSpec, form: dict[str, Any]) -> str | None:
    for f in spec.fields:
        value = form.get(f.name)
        if f.kind == "boolean" and f.name.endswith(("approved", "passed", "agreed")) and isinstance(value, bool):
            return SAID["agreed"] if value else SAID["disagreed"]
        if f.kind == "choice" and f.name.endswith(("result", "decision", "outcome")) and value not in (None, ""):
            return dict(f.options).get(str(value), str(value))
    return None


def _is_opinion(field: forms.Field) -> bool:
    return (
        field.name in OPINION_NAMES
        or field.name.endswith(("_opinion", "_comment"))
        or field.title.endswith(OPINION_ENDING)
    )


def _reasons(session: Session, rows: list[OpenTask]) -> dict[str, tuple[str, HistoryEvent, dict[str, Any]]]:
    """For each open step that a return opened or a transfer handed over: (kind, event, data)."""
    if not rows:
        return {}
    events = session.scalars(
        select(HistoryEvent)
        .where(
            HistoryEvent.instance_id.in_({r.instance_id for r in rows}),
            HistoryEvent.kind.in_((EventKind.TASK_RETURNED, EventKind.TASK_TRANSFERRED)),
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    ).all()
    found: dict[str, tuple[str, HistoryEvent, dict[str, Any]]] = {}
    for row in rows:
        opened = as_utc(row.opened_at)
        for event in events:
            if event.instance_id != row.instance_id or as_utc(event.at) < opened:
                continue
            data = _data(event)
            if event.kind == EventKind.TASK_RETURNED and row.step_id in (data.get("opened") or []):
                found[row.id] = ("returned", event, data)
            elif (
                event.kind == EventKind.TASK_TRANSFERRED
                and event.step_id == row.step_id
                and row.assignee
                and data.get("to") == row.assignee
            ):
                found[row.id] = ("transferred", event, data)
    return found


def _step_name(definition: LoadedDefinition, step_id: str | None) -> str | None:
    if not step_id:
        return None
    step = definition.steps.get(step_id)
    return step.name if step else step_id


def reasons(session: Session, rows: list[OpenTask]) -> dict[str, Reason]:
    """Why each open step of ``rows`` is on someone's desk again: returned to it or handed over, with
    who did it, when and the reason they gave; steps reached the ordinary way are left out."""
    raw = _reasons(session, rows)
    if not raw:
        return {}
    people = persons(session, {e.actor for _k, e, _d in raw.values()} | {d.get("to") for _k, _e, d in raw.values()})
    definitions: dict[int, LoadedDefinition] = {}
    result = {}
    for row in rows:
        if row.id not in raw:
            continue
        kind, event, data = raw[row.id]
        if row.instance_id not in definitions:
            definitions[row.instance_id] = loaded(session.get(Matter, row.instance_id).definition)
        definition = definitions[row.instance_id]
        result[row.id] = Reason(
            kind=kind,
            kind_name=SAID["returned"] if kind == "returned" else SAID["transferred"],
            by=people.get(event.actor or ""),
            at=as_utc(event.at),
            text=str(data.get("reason") or ""),
            from_step_name=_step_name(definition, event.step_id) if kind == "returned" else None,
            to=people.get(data.get("to") or "") if kind == "transferred" else None,
        )
    return result


def of_instance(session: Session, instance: Matter, row: OpenTask | None = None) -> MatterSummary:
    """The summary of a matter the caller has already checked the reader may see (and, with ``row``,
    the reason that open step came back or was handed over)."""
    definition = loaded(instance.definition)
    events = session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
    ).all()
    start: list[Fact] = []
    amounts: dict[str, Amount] = {}
    parties: dict[str, Fact] = {}
    subject: dict[str, Fact] = {}
    latest: dict[str, tuple[HistoryEvent, dict[str, Any]]] = {}  # step -> its newest completion
    decided: list[tuple[HistoryEvent, dict[str, Any]]] = []

    def take(schema: dict[str, Any] | None, form: dict[str, Any], step_name: str) -> list[Fact]:
        spec = forms.form_spec(schema)
        facts = []
        for f in spec.fields:
            if f.name not in form or form[f.name] in (None, "", []):
                continue
            value = form[f.name]
            fact = Fact(f.title, _text(f, value))
            facts.append(fact)
            if _is_fen(f.name, value) or f.kind == "money":
                amounts[f.name] = Amount(f.name, f.title, value, yuan_amount(value), step_name)
            elif _marked(schema, f, "parties", PARTY_WORDS):
                parties[f.name] = fact
            elif _marked(schema, f, "subject", SUBJECT_WORDS):
                subject[f.name] = fact
        return facts

    for event in events:
        data = _data(event)
        if event.kind == EventKind.INSTANCE_STARTED:
            initial = {k: v for k, v in (data.get("data") or {}).items() if k != "title"}
            schema, _ = definition.start_form()
            start = take(schema, initial, SAID["start"])
        elif event.kind in COMPLETIONS and event.step_id in definition.steps:
            latest[event.step_id] = (event, data)
        elif event.kind == EventKind.APPROVER_DECIDED:
            decided.append((event, data))
        elif event.kind in (EventKind.TASK_RETURNED, EventKind.TASK_WITHDRAWN):
            # A step sent back is to be done again: its earlier submission no longer stands.
            for step_id in data.get("opened") or []:
                latest.pop(step_id, None)

    done = sorted(latest.items(), key=lambda item: item[1][0].seq)
    roles = {e.actor: definition.steps[s].role for s, (e, _d) in done if e.actor}
    people = persons(
        session,
        {instance.started_by, *(e.actor for _s, (e, _d) in done), *(e.actor for e, _d in decided)},
        roles,
    )
    files: dict[str, File] = {}
    opinions: list[Opinion] = []
    for step_id, (event, data) in done:
        step = definition.steps[step_id]
        form = data.get("form") or {}
        if not isinstance(form, dict):
            continue
        schema, _ = definition.form(step)
        take(schema, form, step.name)
        for entry in form.get("attachments") or []:
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                kind = entry.get("type") or ""
                files[entry["sha256"]] = File(
                    sha256=entry["sha256"],
                    filename=str(entry.get("filename") or entry["sha256"][:12]),
                    content_type=kind,
                    size=entry.get("size") if isinstance(entry.get("size"), int) else None,
                    step_name=step.name,
                    kind="image" if kind in IMAGE_TYPES else "pdf" if kind == "application/pdf" else "file",
                )
        spec = forms.form_spec(schema)
        texts = tuple(
            Fact(f.title, _text(f, form[f.name]))
            for f in spec.fields
            if _is_opinion(f) and isinstance(form.get(f.name), str) and form[f.name].strip()
        )
        verdict = _verdict(spec, form)
        if event.kind == EventKind.TASK_FORCED:
            verdict = SAID["forced"]
            if data.get("reason"):
                texts += (Fact(SAID["reason"], str(data["reason"])),)
        if texts or verdict:
            opinions.append(
                Opinion(step_id, step.name, people.get(event.actor or ""), as_utc(event.at), verdict, texts)
            )
    for event, data in decided:
        comment = (Fact(SAID["approver_comment"], str(data["comment"])),) if data.get("comment") else ()
        opinions.append(
            Opinion(
                event.step_id or "",
                text("workspace.summary.approver_step", step=_step_name(definition, event.step_id) or ""),
                people.get(event.actor or ""),
                as_utc(event.at),
                SAID["agreed"] if data.get("agree") else SAID["disagreed"],
                comment,
            )
        )
    opinions.sort(key=lambda o: o.at)
    return MatterSummary(
        instance=instance.id,
        title=instance.title,
        item=definition.name,
        village=instance.village.name,
        started_by=people.get(instance.started_by),
        started_at=as_utc(instance.started_at),
        start=tuple(start),
        amounts=tuple(amounts.values()),
        parties=tuple(parties.values()),
        subject=tuple(subject.values()),
        attachments=tuple(files.values()),
        opinions=tuple(opinions),
        reason=reasons(session, [row]).get(row.id) if row is not None else None,
    )
