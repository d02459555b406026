"""Village-card (村务卡) statements: read a CSV, match each row to its matter, record every row.

Rows are matched by reference: a matter number (``PL123``, ``#123``), a reference seen before for
a matter, or the payment reference recorded in a matter's payment step. Rows that match nothing
are recorded too, without a matter, and listed in the report: a statement row is never dropped.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import PowerlistError
from engine.history.chain import canonical_json
from engine.history.events import EventKind
from engine.org.service import get_village
from engine.org.units import unit_chain
from engine.persistence.db import begin_write
from engine.persistence.models import HistoryEvent, Matter
from engine.supervision.evidence import (
    PAYMENT,
    EvidenceInput,
    EvidenceInvalid,
    check_input,
    parse_amount,
    parse_time,
    store,
)
from engine.supervision.models import Evidence
from engine.supervision.timers import lock_instance
from engine.texts import data

# The headings each field may have on a statement (English, or as a bank or card statement words it).
COLUMNS: dict[str, tuple[str, ...]] = {
    field_name: tuple(names) for field_name, names in data("supervision.statements.columns").items()
}
REQUIRED = ("at", "payee", "amount")
_INSTANCE_REF = re.compile(r"^(?:PL-?|#)?(\d{1,18})$", re.IGNORECASE)


@dataclass
class ImportReport:
    name: str
    matched: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)


def read_statement(text: str, name: str) -> list[tuple[int, EvidenceInput]]:
    """Parse a village-card statement (CSV with a header row); every bad row is reported at once."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip(): h for h in reader.fieldnames or []}
    column = {}
    for field_name, names in COLUMNS.items():
        column[field_name] = next((headers[n] for n in names if n in headers), None)
    missing = [f for f in REQUIRED if column[f] is None]
    if missing:
        raise EvidenceInvalid([f"{name}: missing column(s) {', '.join(missing)} (header: {', '.join(headers)})"])
    rows, problems = [], []
    for line, raw in enumerate(reader, start=2):

        def value(field_name: str, _raw: dict = raw) -> str | None:
            source = column[field_name]
            text_value = (_raw.get(source) or "").strip() if source else ""
            return text_value or None

        try:
            item = EvidenceInput(
                kind=PAYMENT,
                at=parse_time(value("at") or ""),
                amount_fen=parse_amount(value("amount") or ""),
                payee=value("payee"),
                reference=value("reference"),
                village=value("village"),
                transaction_id=value("transaction_id"),
                note=value("note"),
            )
            check_input(item)
        except EvidenceInvalid as exc:
            problems += [f"{name} line {line}: {p}" for p in exc.problems]
            continue
        except ValueError as exc:
            problems.append(f"{name} line {line}: {exc}")
            continue
        rows.append((line, item))
    if problems:
        raise EvidenceInvalid(problems)
    return rows


def match_instance(session: Session, item: EvidenceInput) -> tuple[Matter | None, str | None]:
    """The matter a statement row belongs to, by its reference; or why none was found."""
    reference = item.reference
    if not reference:
        return None, "no reference"
    instance = None
    numbered = _INSTANCE_REF.match(reference)
    if numbered:
        instance = session.get(Matter, int(numbered.group(1)))
    if instance is None:
        known = session.scalar(
            select(Evidence.instance_id)
            .where(Evidence.reference == reference, Evidence.instance_id.is_not(None))
            .limit(1)
        )
        instance = session.get(Matter, known) if known else None
    if instance is None:
        escaped = canonical_json(reference).replace("!", "!!").replace("%", "!%").replace("_", "!_")
        found = session.scalar(
            select(HistoryEvent.instance_id)
            .where(
                HistoryEvent.kind == EventKind.TASK_COMPLETED,
                HistoryEvent.data.like(f'%"payment_reference":{escaped}%', escape="!"),
            )
            .limit(1)
        )
        instance = session.get(Matter, found) if found else None
    if instance is None:
        return None, f"no matter with reference {reference}"
    code = unit_chain(session, instance.village_id)[0].code
    if item.village and code != item.village:
        return None, f"matter {instance.id} belongs to {code}, not {item.village}"
    return instance, None


def import_statement(session: Session, text: str, name: str, actor: str | None) -> ImportReport:
    """Import a statement in one transaction: matched rows go to their matters, the rest are kept and listed."""
    begin_write(session)
    rows = read_statement(text, name)
    report = ImportReport(name)
    now = clock.now()
    villages: dict[str, int | None] = {}
    for line, item in rows:
        instance, reason = match_instance(session, item)
        source = f"{name}:{line}"
        if instance is not None:
            lock_instance(session, instance.id, skip_locked=False)
            village_id: int | None = instance.village_id
        else:
            village_id = _village_id(session, item.village, villages)
            if item.village and village_id is None:
                reason = f"{reason}; unknown village {item.village}"
        result = store(session, item, instance, village_id, actor, source, now)
        row = {"line": line, "evidence": result.evidence.id, **item.describe()}
        if not result.created:
            report.duplicates.append(row)
        elif instance is not None:
            report.matched.append({**row, "instance": instance.id})
        else:
            report.unmatched.append({**row, "reason": reason})
        report.violations += [v.id for v in result.violations]
    return report


def _village_id(session: Session, code: str | None, cache: dict[str, int | None]) -> int | None:
    if not code:
        return None
    if code not in cache:
        try:
            cache[code] = get_village(session, code).id
        except PowerlistError:
            cache[code] = None
    return cache[code]
