"""The village's decision register (决议台账): numbered decisions, and what is spent against each.

A step that passes an approving decision (a 四议两公开 resolution, a “两委” or 村民代表会议 decision,
a payment approved under 先审后付) registers it with a number from the system, its amount and its
purpose; which steps do is rule data (``register.decisions`` of the supervision rules). Forms cite
decisions by number in fields marked ``x-reference``: the citation must be a passed, open decision
of the matter's own village, of a kind the field allows (:func:`check_references`). Each citation
that counts money (``register.uses``: contracted, paid) is kept as a :class:`DecisionUse`; when
the uses of a decision exceed its amount, the reconciliation raises its violation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST
from engine.clock import as_utc
from engine.errors import FieldError, FormInvalid, InvalidState, NotFound, PowerlistError
from engine.history import events as history
from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import AuditLog, HistoryEvent, Matter, OrgUnit
from engine.ruleset import rule
from engine.supervision.facts import Names, evaluate
from engine.supervision.models import Decision, DecisionStatus, DecisionUse, Evidence, Violation
from engine.supervision.rules import RuleBook
from engine.supervision.violations import Finding, book_for_village, event_ref, raise_violation
from engine.texts import text, texts

OPEN, CLOSED, REVOKED = DecisionStatus.OPEN, DecisionStatus.CLOSED, DecisionStatus.REVOKED
FLOW, PAPER = "flow", "paper"
STAGES = ("contracted", "paid")


def spec(book: RuleBook) -> dict[str, Any]:
    return book.rules.get("register") or {"kinds": {}, "decisions": [], "uses": []}


def status_name(status: str) -> str:
    """How the register names a decision's status (有效, 已结项, 已撤销)."""
    return texts("supervision.decisions.statuses").get(status, status)


def kind_title(book: RuleBook, kind: str) -> str:
    return str((spec(book)["kinds"].get(kind) or {}).get("title") or kind)


def _yuan(fen: int | None) -> str:
    return f"{Decimal(fen or 0) / 100:,.2f}"


def _local_date(at: datetime) -> str:
    return as_utc(at).astimezone(CST).date().isoformat()


# --- registering --------------------------------------------------------------------------------


def on_step(context: StepContext, book: RuleBook) -> None:
    """Register the decisions this step passed, record the citations it made, reconcile them."""
    rules = spec(book)
    item = context.definition.key
    session, instance = context.session, context.instance
    for event in context.events:
        if event.kind not in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED) or not event.step_id:
            continue
        names: Names | None = None
        for row in rules.get("decisions", []):  # a forced meeting step passes no decision
            if event.kind == EventKind.TASK_COMPLETED and row["item"] == item and row["step"] == event.step_id:
                names = names or Names(session, instance, item, event)
                if evaluate(row["when"], names) is True:
                    register(session, book, instance, event, row, names, context.now)
        for row in rules.get("uses", []):
            if row["item"] == item and row["step"] == event.step_id:
                names = names or Names(session, instance, item, event)
                _record_use(session, book, instance, event, row, names, context.now)
    if instance.status == MatterStatus.CANCELLED:
        revoke_of_matter(session, instance, context.actor, context.now)


def register(
    session: Session,
    book: RuleBook,
    instance: Matter,
    event: HistoryEvent,
    row: dict[str, Any],
    names: Names,
    now: datetime,
) -> Decision:
    """Number and record the decision a step passed; a decision the same step passed before is
    superseded (the meeting was held again)."""
    for earlier in session.scalars(
        select(Decision).where(
            Decision.instance_id == instance.id, Decision.step_id == event.step_id, Decision.status == OPEN
        )
    ):
        _set_status(session, instance, earlier, REVOKED, event.actor, now, text("supervision.decisions.redecided"))
    amount = evaluate(row["amount"], names) if row.get("amount") else None
    purpose = evaluate(row["purpose"], names) if row.get("purpose") else None
    passed_on = evaluate(row["passed_on"], names) if row.get("passed_on") else None
    decision = new_decision(
        session,
        book,
        village_id=instance.village_id,
        kind=row["kind"],
        amount_fen=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        purpose=str(purpose or instance.title),
        passed_on=_iso_date(passed_on) or _local_date(event.at),
        source=FLOW,
        actor=event.actor,
        now=now,
        instance=instance,
        step_id=event.step_id,
    )
    recorded = history.append(
        session,
        instance,
        EventKind.DECISION_REGISTERED,
        at=now,
        actor=event.actor,
        step_id=event.step_id,
        data=describe(decision),
    )
    decision.history_seq = recorded.seq
    return decision


def new_decision(
    session: Session,
    book: RuleBook,
    *,
    village_id: int,
    kind: str,
    amount_fen: int | None,
    purpose: str,
    passed_on: str,
    source: str,
    actor: str | None,
    now: datetime,
    instance: Matter | None = None,
    step_id: str | None = None,
    note: str | None = None,
) -> Decision:
    """The next number of ``kind`` in the village's year, taken under the village's lock."""
    # Numbers are taken one at a time per village; FOR NO KEY UPDATE leaves rows that refer to the
    # village (tasks, violations) free to be written meanwhile.
    village = session.execute(
        select(OrgUnit.code).where(OrgUnit.id == village_id).with_for_update(key_share=True)
    ).one()
    year = int(passed_on[:4])
    seq = (
        session.scalar(
            select(func.max(Decision.seq)).where(
                Decision.village_id == village_id, Decision.kind == kind, Decision.year == year
            )
        )
        or 0
    ) + 1
    prefix = (spec(book)["kinds"].get(kind) or {}).get("prefix") or kind
    decision = Decision(
        village_id=village_id,
        number=f"{village.code}-{year}-{prefix}-{seq:03d}",
        kind=kind,
        year=year,
        seq=seq,
        amount_fen=amount_fen,
        purpose=purpose.strip()[:200] or text("supervision.decisions.no_purpose"),
        passed_on=passed_on,
        status=OPEN,
        source=source,
        instance_id=instance.id if instance is not None else None,
        step_id=step_id,
        recorded_by=actor,
        recorded_at=now,
        note=note,
    )
    session.add(decision)
    session.flush()
    return decision


def _iso_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def describe(decision: Decision) -> dict[str, Any]:
    return {
        "number": decision.number,
        "kind": decision.kind,
        "amount_fen": decision.amount_fen,
        "purpose": decision.purpose,
        "passed_on": decision.passed_on,
        "status": decision.status,
    }


def revoke_of_matter(session: Session, instance: Matter, actor: str | None, now: datetime) -> None:
    """A matter that ends cancelled takes its open decisions with it."""
    for decision in session.scalars(
        select(Decision).where(Decision.instance_id == instance.id, Decision.status == OPEN)
    ):
        _set_status(session, instance, decision, REVOKED, actor, now, text("supervision.decisions.revoked_with_matter"))


def _set_status(
    session: Session,
    instance: Matter | None,
    decision: Decision,
    status: str,
    actor: str | None,
    now: datetime,
    note: str,
) -> None:
    decision.status = status
    decision.closed_at = now
    decision.note = note
    if instance is not None:
        history.append(
            session,
            instance,
            EventKind.DECISION_CLOSED,
            at=now,
            actor=actor,
            data={"number": decision.number, "status": status, "note": note},
        )


def standing(session: Session, book: RuleBook, instance_id: int, step_id: str | None = None) -> Decision | None:
    """An open meeting decision (a ``binding`` kind) of the matter, passed at ``step_id`` if given."""
    binding = [k for k, entry in spec(book)["kinds"].items() if entry.get("binding")]
    if not binding:
        return None
    query = select(Decision).where(
        Decision.instance_id == instance_id, Decision.status == OPEN, Decision.kind.in_(binding)
    )
    if step_id is not None:
        query = query.where(Decision.step_id == step_id)
    return session.scalars(query.order_by(Decision.id)).first()


# --- citing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A form field that cites a decision, and the kinds it may cite."""

    field: str
    kinds: tuple[str, ...]


def references(schema: dict[str, Any] | None) -> list[Reference]:
    found = []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        marker = prop.get("x-reference") if isinstance(prop, dict) else None
        if isinstance(marker, dict):
            kinds = tuple(str(k) for k in marker.get("kinds") or ())
            found.append(Reference(name, kinds))
    return found


def check_references(
    session: Session, book: RuleBook, schema: dict[str, Any] | None, data: Any, village_id: int
) -> list[FieldError]:
    """Every citation in ``data`` must be a passed, open decision of the village, of an allowed kind."""
    if not isinstance(data, dict):
        return []
    errors = []
    for ref in references(schema):
        value = data.get(ref.field)
        if not isinstance(value, str) or not value.strip():
            continue
        allowed = text("supervision.separator").join(kind_title(book, k) for k in ref.kinds) or text(
            "supervision.decisions.any_kind"
        )
        decision = session.scalar(
            select(Decision).where(Decision.village_id == village_id, Decision.number == value.strip())
        )
        if decision is None:
            errors.append(FieldError.coded(ref.field, "decision.no_such", number=value.strip(), allowed=allowed))
        elif ref.kinds and decision.kind not in ref.kinds:
            errors.append(
                FieldError.coded(
                    ref.field,
                    "decision.wrong_kind",
                    number=decision.number,
                    kind=kind_title(book, decision.kind),
                    allowed=allowed,
                )
            )
        elif decision.status != OPEN:
            errors.append(
                FieldError.coded(
                    ref.field, "decision.not_citable", number=decision.number, status_name=status_name(decision.status)
                )
            )
    return errors


def choices(session: Session, book: RuleBook, village_id: int, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """The open decisions a field may cite, newest first, as (number, label)."""
    query = select(Decision).where(Decision.village_id == village_id, Decision.status == OPEN)
    if kinds:
        query = query.where(Decision.kind.in_(kinds))
    rows = session.scalars(query.order_by(Decision.passed_on.desc(), Decision.id.desc()).limit(200))
    return [
        (
            d.number,
            text("supervision.decisions.choice", number=d.number, purpose=d.purpose)
            + (
                text("supervision.decisions.choice_amount", amount=_yuan(d.amount_fen))
                if d.amount_fen is not None
                else ""
            ),
        )
        for d in rows
    ]


# --- reconciling --------------------------------------------------------------------------------


def _record_use(
    session: Session,
    book: RuleBook,
    instance: Matter,
    event: HistoryEvent,
    row: dict[str, Any],
    names: Names,
    now: datetime,
) -> None:
    cited = evaluate(row["cites"], names)
    amount = evaluate(row["amount"], names)
    session.execute(
        delete(DecisionUse).where(DecisionUse.instance_id == instance.id, DecisionUse.step_id == event.step_id)
    )
    if not isinstance(cited, str) or not cited.strip() or not isinstance(amount, int) or isinstance(amount, bool):
        return
    decision = session.scalar(
        select(Decision).where(Decision.village_id == instance.village_id, Decision.number == cited.strip())
    )
    if decision is None:
        return
    session.add(
        DecisionUse(
            decision_id=decision.id,
            instance_id=instance.id,
            step_id=event.step_id,
            stage=row["stage"],
            amount_fen=amount,
            history_seq=event.seq,
        )
    )
    session.flush()
    reconcile(session, book, decision, row["stage"], now, instance, event)


def totals(session: Session, decision_id: int) -> dict[str, int]:
    """What the uses of matters not cancelled count against a decision, by stage."""
    rows = session.execute(
        select(DecisionUse.stage, func.sum(DecisionUse.amount_fen))
        .join(Matter, Matter.id == DecisionUse.instance_id)
        .where(DecisionUse.decision_id == decision_id, Matter.status != MatterStatus.CANCELLED)
        .group_by(DecisionUse.stage)
    ).all()
    return {stage: int(total or 0) for stage, total in rows}


def ceiling(book: RuleBook, approved: int) -> int:
    """The most that may count against ``approved`` fen: the tolerance of the rules added."""
    tolerance = int(rule("payments.tolerance_percent"))
    return approved * (100 + tolerance) // 100


def reconcile(
    session: Session,
    book: RuleBook,
    decision: Decision,
    stage: str,
    now: datetime,
    instance: Matter,
    event: HistoryEvent,
) -> None:
    """Raise the stage's violation when its uses exceed what the decision approved."""
    if decision.amount_fen is None:
        return
    total = totals(session, decision.id).get(stage, 0)
    if total <= ceiling(book, decision.amount_fen):
        return
    over = spec(book)["reconciliation"]["over"]
    uses = session.execute(
        select(DecisionUse.instance_id, DecisionUse.step_id, DecisionUse.amount_fen)
        .join(Matter, Matter.id == DecisionUse.instance_id)
        .where(
            DecisionUse.decision_id == decision.id,
            DecisionUse.stage == stage,
            Matter.status != MatterStatus.CANCELLED,
        )
        .order_by(DecisionUse.id)
    ).all()
    stage_title = texts("supervision.decisions.stages").get(stage, stage)
    raise_violation(
        session,
        book,
        Finding(
            code=over[stage],
            village_id=decision.village_id,
            dedup_key=f"{over[stage]}:decision:{decision.id}:{len(uses)}:{total}",
            message=text(
                "supervision.decisions.over_decision",
                kind=kind_title(book, decision.kind),
                number=decision.number,
                purpose=decision.purpose,
                approved=_yuan(decision.amount_fen),
                stage=stage_title,
                total=_yuan(total),
                count=len(uses),
                over=_yuan(total - decision.amount_fen),
            ),
            instance_id=instance.id,
            step_id=event.step_id,
            evidence=[event_ref(event), {"decision": decision.number}]
            + [{"instance": u.instance_id, "step": u.step_id, "amount_fen": u.amount_fen} for u in uses],
            responsible_user=event.actor,
        ),
        now,
    )


def check_settled(
    session: Session, book: RuleBook, evidence: Evidence, instance: Matter | None, now: datetime
) -> list[Violation]:
    """Money that left the account for a matter (card statements) above what the matter approved."""
    if instance is None:
        return []
    expression = ((spec(book).get("reconciliation") or {}).get("approved_amount") or {}).get(instance.definition.key)
    if not expression:
        return []
    approved = evaluate(expression, Names(session, instance, instance.definition.key))
    if not isinstance(approved, int) or isinstance(approved, bool):
        return []
    rows = session.execute(
        select(Evidence.id, Evidence.amount_fen, Evidence.at)
        .where(Evidence.instance_id == instance.id, Evidence.kind == "payment")
        .order_by(Evidence.at, Evidence.id)
    ).all()
    total = sum(r.amount_fen or 0 for r in rows)
    if total <= ceiling(book, approved):
        return []
    violation = raise_violation(
        session,
        book,
        Finding(
            code=spec(book)["reconciliation"]["over"]["paid"],
            village_id=instance.village_id,
            dedup_key=f"settled_over:{instance.id}:{len(rows)}:{total}",
            message=text(
                "supervision.decisions.settled_over",
                matter=instance.title,
                approved=_yuan(approved),
                count=len(rows),
                total=_yuan(total),
                over=_yuan(total - approved),
            ),
            instance_id=instance.id,
            evidence=[{"evidence": r.id, "amount_fen": r.amount_fen} for r in rows],
        ),
        now,
    )
    return [violation] if violation is not None else []


# --- the register as people read it -------------------------------------------------------------


@dataclass
class Line:
    """One decision with its reconciliation: approved → contracted → paid (vouchers) → settled."""

    decision: Decision
    contracted: int
    paid: int
    settled: int
    matters: list[int]

    def entry(self, book: RuleBook) -> RegisterEntry:
        d = self.decision
        return RegisterEntry(
            number=d.number,
            kind=d.kind,
            amount_fen=d.amount_fen,
            purpose=d.purpose,
            passed_on=d.passed_on,
            status=d.status,
            kind_title=kind_title(book, d.kind),
            status_title=status_name(d.status),
            source=d.source,
            instance=d.instance_id,
            contracted_fen=self.contracted,
            paid_fen=self.paid,
            settled_fen=self.settled,
            balance_fen=(d.amount_fen - self.paid) if d.amount_fen is not None else None,
            over=d.amount_fen is not None
            and max(self.contracted, self.paid, self.settled) > ceiling(book, d.amount_fen),
            matters=self.matters,
            note=d.note,
        )


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """A line of the register as its readers see it; ``dataclasses.asdict`` gives the API's and CLI's JSON."""

    number: str
    kind: str
    amount_fen: int | None
    purpose: str
    passed_on: date
    status: str
    kind_title: str
    status_title: str
    source: str
    instance: int | None
    contracted_fen: int
    paid_fen: int
    settled_fen: int
    balance_fen: int | None
    over: bool
    matters: list[int]
    note: str | None


def ledger(session: Session, village_id: int, year: int | None = None) -> list[Line]:
    """The village's register, newest first, each decision reconciled."""
    query = select(Decision).where(Decision.village_id == village_id)
    if year is not None:
        query = query.where(Decision.year == year)
    lines = []
    for decision in session.scalars(query.order_by(Decision.passed_on.desc(), Decision.id.desc())):
        stage = totals(session, decision.id)
        matters = sorted(
            set(
                session.scalars(
                    select(DecisionUse.instance_id)
                    .join(Matter, Matter.id == DecisionUse.instance_id)
                    .where(DecisionUse.decision_id == decision.id, Matter.status != MatterStatus.CANCELLED)
                )
            )
        )
        settled = 0
        if matters:
            settled = int(
                session.scalar(
                    select(func.coalesce(func.sum(Evidence.amount_fen), 0)).where(
                        Evidence.instance_id.in_(matters), Evidence.kind == "payment"
                    )
                )
                or 0
            )
        lines.append(Line(decision, stage.get("contracted", 0), stage.get("paid", 0), settled, matters))
    return lines


# --- commands -----------------------------------------------------------------------------------

PURPOSE_LENGTH = (2, 200)
NOTE_LENGTH = (4, 500)


def record_paper(
    session: Session,
    actor: str,
    village_code: str,
    *,
    kind: Any,
    amount_fen: Any,
    purpose: Any,
    passed_on: Any,
    note: Any,
) -> Decision:
    """Enter a decision passed on paper (before the village used the system, or at a meeting held
    outside it), with where its minutes are: the town keeps the register, so a village cannot.
    ``amount_fen``: fen, or yuan as typed (``"120,000.00"``); None for a decision of no money."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "decision.record", village)
    book = book_for_village(session, village.id)
    errors = []
    if kind not in spec(book)["kinds"]:
        errors.append(
            FieldError.coded("kind", "decision.kind", kinds=text("supervision.separator").join(spec(book)["kinds"]))
        )
    if isinstance(amount_fen, str):  # yuan as typed on a page or a command line
        from engine.runtime.forms import yuan_to_fen

        try:
            amount_fen = yuan_to_fen(amount_fen) if amount_fen.strip() else None
        except ValueError as exc:
            errors.append(FieldError("amount_fen", str(exc)))
            amount_fen = None
    whole = isinstance(amount_fen, int) and not isinstance(amount_fen, bool)
    if amount_fen is not None and not (whole and 0 < amount_fen < 10**13):
        errors.append(FieldError.coded("amount_fen", "decision.amount"))
    purpose = purpose.strip() if isinstance(purpose, str) else ""
    if not PURPOSE_LENGTH[0] <= len(purpose) <= PURPOSE_LENGTH[1]:
        errors.append(FieldError.coded("purpose", "decision.purpose"))
    day = _iso_date(passed_on) if isinstance(passed_on, str) and len(passed_on) == 10 else None
    if day is None:
        errors.append(FieldError.coded("passed_on", "decision.passed_on"))
    elif day > _local_date(clock.now()):
        errors.append(FieldError.coded("passed_on", "decision.passed_future"))
    note = note.strip() if isinstance(note, str) else ""
    if not NOTE_LENGTH[0] <= len(note) <= NOTE_LENGTH[1]:
        errors.append(FieldError.coded("note", "decision.minutes"))
    if errors:
        raise FormInvalid(text("supervision.decisions.record_form"), errors)
    now = clock.now()
    decision = new_decision(
        session,
        book,
        village_id=village.id,
        kind=kind,
        amount_fen=amount_fen,
        purpose=purpose,
        passed_on=day,
        source=PAPER,
        actor=actor,
        now=now,
        note=note,
    )
    session.add(
        AuditLog(at=now, actor=actor, action="decision.record", subject=decision.number, detail=describe(decision))
    )
    return decision


def close(session: Session, actor: str, village_code: str, number: str, reason: Any) -> Decision:
    """Close a decision whose work is done (结项): nothing may cite it any more."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "decision.close", village)
    # The lock order: the decision's matter first, then the decision (docs/architecture.md).
    found = session.scalar(
        select(Decision.instance_id).where(Decision.village_id == village.id, Decision.number == number)
    )
    instance = None
    if found is not None:
        instance = session.scalar(
            select(Matter).where(Matter.id == found).with_for_update(key_share=True)
        )
    decision = session.scalar(
        select(Decision)
        .where(Decision.village_id == village.id, Decision.number == number)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if decision is None:
        raise NotFound(code="decision.not_found", params={"number": number})
    if decision.status != OPEN:
        raise InvalidState(
            code="decision.not_open",
            params={"number": number, "status_name": status_name(decision.status)},
        )
    reason = reason.strip() if isinstance(reason, str) else ""
    if not NOTE_LENGTH[0] <= len(reason) <= NOTE_LENGTH[1]:
        raise FormInvalid(
            text("supervision.decisions.close_form"), [FieldError.coded("reason", "decision.close_reason")]
        )
    now = clock.now()
    _set_status(session, instance, decision, CLOSED, actor, now, reason)
    session.add(AuditLog(at=now, actor=actor, action="decision.close", subject=number, detail={"reason": reason}))
    return decision


REGISTER_YEARS = (1950, 2200)  # the years a register may be asked for


def register_of(session: Session, actor: str, village_code: str, year: int | None = None) -> list[RegisterEntry]:
    """The village's register as its readers see it, of one year when ``year`` is given."""
    if year is not None and not REGISTER_YEARS[0] <= year <= REGISTER_YEARS[1]:
        first, last = REGISTER_YEARS
        raise PowerlistError(code="decision.year", params={"first": first, "last": last, "year": year}, field="year")
    village = get_village(session, village_code)
    policy.require(session, actor, "decision.read", village)
    book = book_for_village(session, village.id)
    return [line.entry(book) for line in ledger(session, village.id, year)]


def readable_villages(session: Session, username: str) -> list[OrgUnit]:
    """The villages whose register ``username`` may read, by code."""
    villages = session.scalars(
        select(OrgUnit).where(OrgUnit.level == Level.VILLAGE, OrgUnit.active.is_(True)).order_by(OrgUnit.code)
    )
    return [v for v in villages if policy.may(session, username, "decision.read", v)]


def may_keep(session: Session, username: str, village: OrgUnit) -> bool:
    """Whether ``username`` records and closes decisions of ``village``."""
    return policy.may(session, username, "decision.record", village)


def kinds(session: Session, village_id: int) -> list[tuple[str, str]]:
    """The kinds of decision of the village's rules, as (code, title)."""
    book = book_for_village(session, village_id)
    return [(code, str(entry.get("title") or code)) for code, entry in spec(book)["kinds"].items()]
