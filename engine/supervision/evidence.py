"""Evidence from outside the flows, such as village-card (村务卡) payments, and the payment rules it triggers.

Each piece is stored once (by fingerprint) and appended to its matter's history as
``evidence_recorded`` in the same transaction; evidence of no matter (an unmatched statement row,
see :mod:`engine.supervision.statements`) is stored without one. A payment then checks
approve-before-pay (先审后付) and split payments.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST, parse_time_limit
from engine.clock import as_utc, format_time
from engine.errors import PowerlistError
from engine.history import events as history
from engine.history.chain import canonical_json
from engine.history.events import EventKind
from engine.org.units import unit_chain
from engine.persistence.db import begin_write
from engine.persistence.enums import MatterStatus
from engine.persistence.models import HistoryEvent, Matter
from engine.ruleset import UnknownRule, rule
from engine.supervision import decisions
from engine.supervision.facts import Names, evaluate
from engine.supervision.models import Evidence, Violation
from engine.supervision.rules import RuleBook
from engine.supervision.timers import lock_instance
from engine.supervision.violations import Finding, book_for_village, event_ref, raise_violation
from engine.texts import data, text

KINDS = ("payment", "receipt", "document")
PAYMENT = "payment"


class EvidenceInvalid(PowerlistError):
    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class EvidenceInput:
    kind: str
    at: datetime
    amount_fen: int | None = None
    payee: str | None = None
    reference: str | None = None
    village: str | None = None
    transaction_id: str | None = None
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": format_time(self.at),
            "amount_fen": self.amount_fen,
            "payee": self.payee,
            "reference": self.reference,
            "village": self.village,
            "transaction_id": self.transaction_id,
            "note": self.note,
        }


@dataclass
class Recorded:
    evidence: Evidence
    created: bool
    violations: list[Violation] = field(default_factory=list)


def parse_amount(text: str) -> int:
    """Yuan as written on a statement (``1,234.50``, ``¥950``) to fen; fractions of a fen are refused."""
    cleaned = str(text).strip().replace(",", "")
    for mark in data("supervision.evidence.currency_marks"):
        cleaned = cleaned.replace(mark, "")
    try:
        fen = Decimal(cleaned) * 100
    except InvalidOperation:
        raise ValueError(f"not an amount in yuan: {text!r}") from None
    if fen != fen.to_integral_value() or fen <= 0:
        raise ValueError(f"an amount must be positive yuan with at most two decimals: {text!r}")
    return int(fen)


def parse_time(text: str) -> datetime:
    """ISO date or time; without an offset it is China time."""
    value = str(text).strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("/", "-"))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return as_utc(parsed)


def _fingerprint(item: EvidenceInput, instance_id: int | None) -> str:
    if item.transaction_id:
        identity: Any = ["transaction", item.village, item.transaction_id]
    else:
        identity = [
            item.kind,
            instance_id,
            item.village,
            format_time(item.at),
            item.amount_fen,
            item.payee,
            item.reference,
        ]
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


def record(session: Session, instance_id: int, item: EvidenceInput, actor: str | None, source: str = "cli") -> Recorded:
    """Record evidence about one matter (locking it as a step does) and run the payment rules."""
    begin_write(session)
    check_input(item)
    instance = lock_instance(session, instance_id, skip_locked=False)
    assert instance is not None
    code = unit_chain(session, instance.village_id)[0].code
    if item.village and item.village != code:
        raise PowerlistError(f"instance {instance.id} belongs to {code}, the evidence to {item.village}")
    return store(session, item, instance, instance.village_id, actor, source, clock.now())


def check_input(item: EvidenceInput) -> None:
    problems = []
    if item.kind not in KINDS:
        problems.append(f"kind: one of {', '.join(KINDS)}, not {item.kind!r}")
    if item.kind == PAYMENT and (item.amount_fen is None or item.amount_fen <= 0):
        problems.append("amount: a payment needs a positive amount")
    if item.kind == PAYMENT and not (item.payee or "").strip():
        problems.append("payee: a payment needs a payee")
    for name, limit in (("payee", 200), ("reference", 100), ("transaction_id", 100), ("note", 500)):
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            problems.append(f"{name}: at most {limit} characters")
    if problems:
        raise EvidenceInvalid(problems)


def store(
    session: Session,
    item: EvidenceInput,
    instance: Matter | None,
    village_id: int | None,
    actor: str | None,
    source: str,
    now: datetime,
) -> Recorded:
    fingerprint = _fingerprint(item, instance.id if instance else None)
    existing = session.scalar(select(Evidence).where(Evidence.fingerprint == fingerprint))
    if existing is not None:
        return Recorded(existing, False)
    event = None
    if instance is not None:
        event = history.append(
            session,
            instance,
            EventKind.EVIDENCE_RECORDED,
            at=now,
            actor=actor,
            data={"evidence": item.describe(), "source": source},
        )
    evidence = Evidence(
        fingerprint=fingerprint,
        kind=item.kind,
        instance_id=instance.id if instance else None,
        village_id=village_id,
        amount_fen=item.amount_fen,
        payee=(item.payee or "").strip() or None,
        at=as_utc(item.at),
        reference=item.reference,
        source=source[:200],
        recorded_by=actor,
        recorded_at=now,
        history_seq=event.seq if event is not None else None,
        data=item.describe(),
    )
    session.add(evidence)
    session.flush()
    found: list[Violation] = []
    if item.kind == PAYMENT and village_id is not None:
        book = book_for_village(session, village_id)
        found += check_payment(session, book, evidence, instance, event, now)
        found += check_split(session, book, evidence, now)
        found += decisions.check_settled(session, book, evidence, instance, now)
    return Recorded(evidence, True, found)


def _yuan(fen: int | None) -> str:
    return f"{Decimal(fen or 0) / 100:.2f}"


def _local(at: datetime) -> str:
    return as_utc(at).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def check_payment(
    session: Session,
    book: RuleBook,
    evidence: Evidence,
    instance: Matter | None,
    event: HistoryEvent | None,
    now: datetime,
) -> list[Violation]:
    """先审后付: money may move only for a matter whose approval is complete."""
    paid = text(
        "supervision.evidence.paid", day=_local(evidence.at), payee=evidence.payee, amount=_yuan(evidence.amount_fen)
    )
    refs: list[dict[str, Any]] = [{"evidence": evidence.id}]
    if instance is None:
        reference = evidence.reference or text("supervision.evidence.no_reference")
        code, message = (
            "payment_without_voucher",
            text("supervision.evidence.payment_without_voucher", paid=paid, reference=reference),
        )
    else:
        if event is not None:
            refs.insert(0, event_ref(event))
        item = instance.definition.key
        if evaluate(book.approved_expression(item), Names(session, instance, item)) is True:
            return []
        if instance.status == MatterStatus.RUNNING:
            code = "payment_before_approval"
            message = text("supervision.evidence.payment_before_approval", paid=paid, matter=instance.title)
        else:
            code, message = (
                "payment_without_approval",
                text(
                    "supervision.evidence.payment_without_approval",
                    paid=paid,
                    matter=instance.title,
                    status=instance.status,
                ),
            )
    violation = raise_violation(
        session,
        book,
        Finding(
            code=code,
            village_id=evidence.village_id,
            dedup_key=f"{code}:evidence:{evidence.id}",
            message=message,
            instance_id=instance.id if instance else None,
            evidence=refs,
        ),
        now,
    )
    return [violation] if violation is not None else []


def check_split(session: Session, book: RuleBook, evidence: Evidence, now: datetime) -> list[Violation]:
    """Payments to one payee, each within an approval limit and near it, whose sum within the window
    exceeds it: each stays inside the limit (an amount equal to it is still within), together they do not."""
    split = book.split
    if not evidence.payee or not evidence.amount_fen:
        return []
    window = parse_time_limit(split["window"])
    found = []
    for key in split["thresholds"]:
        try:
            threshold = int(rule(key))
        except (UnknownRule, TypeError, ValueError):
            continue
        near = threshold * int(split["near_percent"]) // 100
        if not near <= evidence.amount_fen <= threshold:
            continue
        group = list(
            session.scalars(
                select(Evidence)
                .where(
                    Evidence.village_id == evidence.village_id,
                    Evidence.payee == evidence.payee,
                    Evidence.kind == PAYMENT,
                    Evidence.at >= as_utc(evidence.at) - window,
                    Evidence.at <= as_utc(evidence.at) + window,
                    Evidence.amount_fen >= near,
                    Evidence.amount_fen <= threshold,
                )
                .order_by(Evidence.at, Evidence.id)
            )
        )
        total = sum(e.amount_fen or 0 for e in group)
        if len(group) < 2 or total <= threshold:
            continue
        first = min(e.id for e in group)
        instances = sorted({e.instance_id for e in group if e.instance_id})
        violation = raise_violation(
            session,
            book,
            Finding(
                code="split_payment",
                village_id=evidence.village_id,
                dedup_key=f"split_payment:{evidence.village_id}:{key}:{first}",
                message=text(
                    "supervision.evidence.split_payment",
                    window=split["window"],
                    payee=evidence.payee,
                    count=len(group),
                    threshold=_yuan(threshold),
                    key=key,
                    total=_yuan(total),
                ),
                instance_id=evidence.instance_id,
                evidence=[{"evidence": e.id, "instance": e.instance_id, "amount_fen": e.amount_fen} for e in group]
                + [{"instances": instances}],
            ),
            now,
        )
        if violation is not None:
            found.append(violation)
    return found


def check_voucher_split(context: Any, book: RuleBook) -> list[Violation]:
    """The same split test over the flows' own vouchers, as each is submitted: vouchers of one village
    to one payee within the window, each within a limit and near it, whose sum exceeds it."""
    spec = (book.split.get("vouchers") or {}).get(context.definition.key)
    if not spec:
        return []
    submitted = [e for e in context.events if e.kind == EventKind.TASK_COMPLETED and e.step_id == spec["step"]]
    if not submitted:
        return []
    form = (json.loads(submitted[-1].data).get("form") or {}) if submitted else {}
    payee, amount = str(form.get(spec["payee"]) or "").strip(), form.get(spec["amount"])
    if not payee or not isinstance(amount, int):
        return []
    session, village_id = context.session, context.instance.village_id
    window = parse_time_limit(book.split["window"])
    rows = session.execute(
        select(HistoryEvent)
        .join(Matter, Matter.id == HistoryEvent.instance_id)
        .where(
            Matter.village_id == village_id,
            Matter.status != MatterStatus.CANCELLED,
            HistoryEvent.kind == EventKind.TASK_COMPLETED,
            HistoryEvent.step_id == spec["step"],
            HistoryEvent.at >= as_utc(context.now) - window,
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    ).scalars()
    latest: dict[int, tuple[HistoryEvent, int]] = {}  # a voucher submitted again counts once, as last sent
    for event in rows:
        data = json.loads(event.data).get("form") or {}
        if str(data.get(spec["payee"]) or "").strip() == payee and isinstance(data.get(spec["amount"]), int):
            latest[event.instance_id] = (event, data[spec["amount"]])
    found = []
    for key in book.split["thresholds"]:
        try:
            threshold = int(rule(key))
        except (UnknownRule, TypeError, ValueError):
            continue
        near = threshold * int(book.split["near_percent"]) // 100
        if not near <= amount <= threshold:
            continue
        group = [(e, a) for e, a in latest.values() if near <= a <= threshold]
        total = sum(a for _e, a in group)
        if len(group) < 2 or total <= threshold:
            continue
        first = min(e.instance_id for e, _a in group)
        violation = raise_violation(
            session,
            book,
            Finding(
                code="split_payment",
                village_id=village_id,
                dedup_key=f"split_voucher:{village_id}:{key}:{first}:{len(group)}",
                message=text(
                    "supervision.evidence.split_voucher",
                    window=book.split["window"],
                    payee=payee,
                    count=len(group),
                    threshold=_yuan(threshold),
                    key=key,
                    total=_yuan(total),
                ),
                instance_id=context.instance.id,
                step_id=spec["step"],
                evidence=[{**event_ref(e), "amount_fen": a} for e, a in group],
            ),
            context.now,
        )
        if violation is not None:
            found.append(violation)
    return found
