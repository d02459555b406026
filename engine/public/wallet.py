"""我们的钱包: where the village's collective money came from, where it went and what is left, read-only.

Spending is every payment a flow made (which flows pay, at which end or step, and which form fields give
the amount, the day, the purpose and the approvals is rule data: ``payments`` of
``rules/defaults/wallet.yaml``), plus every expense line of the imported accounts (:mod:`engine.public.ledger`)
that no flow payment stands behind, shown honestly as 账上支出. A journal line whose voucher number or
payment reference is a flow payment's 支付流水号 is that payment: it is counted once, at the books'
amount and day (the journal is what was paid), with the form's paid amount and the approved amount
beside it and a flag when they differ. Income and the opening balance come from the imported accounts
only: the year's opening is January's 期初余额/上年结转 or a line the rules call the year's opening;
without one the balance starts at the first month imported that year (see :func:`balance_start`).

Everything returned is as the disclosure board shows it: every text passes
:func:`engine.public.masking.mask_personal` (no ID, phone or account number, however typed), the steps
that approved a payment are named by office, never by person, and a counterparty's name by
:func:`engine.public.masking.mask_name`.
"""

from __future__ import annotations

import calendar
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.clock import as_utc
from engine.clock import now as clock_now
from engine.history.events import EventKind
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter
from engine.public.ledger_models import LedgerImport, LedgerLine
from engine.public.masking import mask_known_names, mask_name, mask_payee, mask_personal, names_in_forms
from engine.public.villages import place_name, public_village
from engine.ruleset import AreaRulesInvalid, area_rules
from engine.supervision.models import Decision, Evidence
from engine.texts import text as wording
from engine.texts import texts

RULE_FILE = "wallet.yaml"
PAYEE_CHARS = 100
PURPOSE_CHARS = 200
SUMMARY_CHARS = 120
FIELDS = ("amount", "approved", "day", "purpose", "payee", "category", "reference", "resolution")
SIDES = ("income", "spending")
BOOKS = "books"  # a payment shown from the accounts only (账上支出)
FLOW = "flow"


# --- rules --------------------------------------------------------------------------------------


def _check_paths(where: str, value: Any, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{RULE_FILE}: {where} is a field (step.field) or a list of them")
        return []
    return value


@lru_cache(maxsize=4)
def _rules_cached(_key: str | None) -> dict[str, Any]:
    raw = area_rules(RULE_FILE, "wallet", "the wallet's rule file")
    problems: list[str] = []
    categories = raw.get("categories")
    if not isinstance(categories, dict) or not categories:
        problems.append(f"{RULE_FILE}: wallet.categories names the account categories")
        categories = {}
    for code, row in categories.items():
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or row.get("side") not in SIDES:
            problems.append(f"{RULE_FILE}: wallet.categories.{code} has a name and a side (income or spending)")
    flow_categories = raw.get("flow_categories") or {}
    for code, target in flow_categories.items():
        if target not in categories:
            problems.append(f"{RULE_FILE}: wallet.flow_categories.{code} is not one of wallet.categories: {target!r}")
    payments: dict[str, dict[str, Any]] = {}
    for key, row in (raw.get("payments") or {}).items():
        where = f"wallet.payments.{key}"
        if not isinstance(row, dict):
            problems.append(f"{RULE_FILE}: {where} is a mapping")
            continue
        paid_at = row.get("paid_at")
        if not isinstance(paid_at, dict) or len(paid_at) != 1 or not set(paid_at) <= {"end", "step"}:
            problems.append(f"{RULE_FILE}: {where}.paid_at is {{end: END}} or {{step: STEP}}")
            continue
        spec = {"paid_at": paid_at, "approvals": row.get("approvals") or []}
        for name in FIELDS:
            spec[name] = _check_paths(f"{where}.{name}", row.get(name), problems) if name in row else []
        if not spec["amount"] or not spec["purpose"]:
            problems.append(f"{RULE_FILE}: {where} names at least amount and purpose")
        if not isinstance(spec["approvals"], list):
            problems.append(f"{RULE_FILE}: {where}.approvals is a list of step ids")
        payments[key] = spec
    journal = raw.get("journal") or {}
    columns = journal.get("columns") or {}
    for name in ("day", "summary", "category", "income", "spending"):
        if not isinstance(columns.get(name), list) or not columns.get(name):
            problems.append(f"{RULE_FILE}: wallet.journal.columns.{name} lists the headers that column may have")
    if problems:
        raise AreaRulesInvalid(problems)
    return {
        "payments": payments,
        "categories": categories,
        "flow_categories": flow_categories,
        "columns": columns,
        "opening": [str(word) for word in journal.get("opening") or []],
        "year_opening": [str(word) for word in journal.get("year_opening") or []],
    }


def wallet_rules() -> dict[str, Any]:
    """The wallet rules, checked (cached per rule folder)."""
    return _rules_cached(os.environ.get("POWERLIST_RULES_DIR"))


def category_name(code: str) -> str:
    row = wallet_rules()["categories"].get(code)
    return row["name"] if row else code


def category_of(text: str, side: str) -> str | None:
    """The category code a journal's 科目/类别 text names on ``side``, or None."""
    text = text.strip()
    for code, row in wallet_rules()["categories"].items():
        if row["side"] == side and (text == code or text == row["name"] or text in (row.get("also") or [])):
            return code
    return None


# --- small helpers ------------------------------------------------------------------------------


def shown_payee(text: Any) -> str:
    """A payee as disclosed: an organisation in full, a person's name masked, every number as ***."""
    return mask_payee(text, PAYEE_CHARS)


def shown_purpose(text: Any) -> str:
    """What the money was for, with any ID, account or phone number as ***."""
    return mask_personal(text, PURPOSE_CHARS)


def _day(value: Any) -> str | None:
    """The day a form gives, when it is a real date (YYYY-MM-DD); other text is not shown."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def _local_day(value: datetime) -> str:
    return as_utc(value).astimezone(CST).date().isoformat()


def _pick(forms: dict[str, dict[str, Any]], paths: list[str]) -> Any:
    """The first path (``step.field``) with a value in the matter's forms; a path without a dot is itself."""
    for path in paths:
        if "." not in path:
            return path
        step, field = path.split(".", 1)
        value = (forms.get(step) or {}).get(field)
        if value not in (None, ""):
            return value
    return None


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


# --- flow payments ------------------------------------------------------------------------------


def _histories(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per matter: each step's last form and the day it was done, and where the flow ended."""
    found: dict[int, dict[str, Any]] = defaultdict(lambda: {"forms": {}, "done": {}, "end": None})
    if not ids:
        return found
    rows = session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.kind, HistoryEvent.step_id, HistoryEvent.at, HistoryEvent.data)
        .where(
            HistoryEvent.instance_id.in_(ids),
            HistoryEvent.kind.in_((EventKind.TASK_COMPLETED, EventKind.TASK_FORCED, EventKind.INSTANCE_ENDED)),
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    )
    for instance_id, kind, step_id, at, data in rows:
        payload = json.loads(data)
        matter = found[instance_id]
        if kind == EventKind.INSTANCE_ENDED:
            matter["end"] = payload.get("end")
        elif step_id:
            form = payload.get("form")
            matter["forms"][step_id] = form if isinstance(form, dict) else {}
            matter["done"][step_id] = (_local_day(at), kind == EventKind.TASK_FORCED)
    return found


def _decisions(session: Session, village_id: int) -> tuple[dict[str, Decision], dict[int, list[Decision]]]:
    rows = list(session.scalars(select(Decision).where(Decision.village_id == village_id)))
    by_matter: dict[int, list[Decision]] = defaultdict(list)
    for row in rows:
        if row.instance_id is not None:
            by_matter[row.instance_id].append(row)
    return {row.number: row for row in rows}, by_matter


def _shown_decision(session: Session, village_id: int, decision: Decision) -> dict[str, Any]:
    from engine.supervision.decisions import kind_title
    from engine.supervision.violations import book_for_village

    title = kind_title(book_for_village(session, village_id), decision.kind)
    amount = decision.amount_fen
    text = f"{title} {decision.number}"
    if amount:
        text += wording("wallet.approved", yuan=_yuan(amount))
    return {
        "number": decision.number,
        "kind": decision.kind,
        "title": title,
        "amount_fen": amount,
        "purpose": shown_purpose(decision.purpose),
        "passed_on": decision.passed_on,
        "text": text,
    }


def flow_payments(session: Session, village_id: int) -> list[dict[str, Any]]:
    """Every payment a flow of the village made, as the rules read it, oldest first (not yet masked
    for references: ``reference`` is the 支付流水号 the accounts are matched on, never shown)."""
    from engine.runtime.loaded import loaded
    from engine.workspace.labels import role_name

    rules = wallet_rules()
    if not rules["payments"]:
        return []
    instances = list(
        session.scalars(
            select(Matter)
            .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(
                DefinitionVersion.key.in_(list(rules["payments"])),
                Matter.village_id == village_id,
                Matter.status.in_((MatterStatus.COMPLETED, MatterStatus.RUNNING)),
            )
        )
    )
    histories = _histories(session, [i.id for i in instances])
    by_number, by_matter = _decisions(session, village_id)
    card: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if instances:
        for row in session.scalars(
            select(Evidence)
            .where(Evidence.instance_id.in_([i.id for i in instances]), Evidence.kind == "payment")
            .order_by(Evidence.at)
        ):
            card[row.instance_id].append({"date": _local_day(row.at), "amount_fen": row.amount_fen or 0})
    payments = []
    for instance in instances:
        spec = rules["payments"][instance.definition.key]
        matter = histories.get(instance.id) or {"forms": {}, "done": {}, "end": None}
        forms, done = matter["forms"], matter["done"]
        paid_at = spec["paid_at"]
        if "end" in paid_at and (instance.status != MatterStatus.COMPLETED or matter["end"] != paid_at["end"]):
            continue
        if "step" in paid_at and paid_at["step"] not in done:
            continue
        amount = _pick(forms, spec["amount"])
        approved = _pick(forms, spec["approved"])
        flow_category = _pick(forms, spec["category"])
        category = rules["flow_categories"].get(str(flow_category), "other_spending")
        definition = loaded(instance.definition)
        approvals = []
        for step_id in spec["approvals"]:
            if step_id not in done:
                continue  # only the steps the matter passed
            step = definition.steps.get(step_id)
            day, forced = done[step_id]
            approvals.append(
                {
                    "step": step.name if step else step_id,
                    "office": role_name(step.role) if step else "",
                    "on": day,
                    "forced": forced,
                }
            )
        cited = [by_number[n] for n in (_pick(forms, [p]) for p in spec["resolution"]) if n in by_number]
        own = sorted(by_matter.get(instance.id, []), key=lambda d: (d.kind == "payment_approval", d.id))
        decisions = []
        for decision in cited + own:
            if decision.number not in {d["number"] for d in decisions}:
                decisions.append(_shown_decision(session, village_id, decision))
        day = _day(_pick(forms, spec["day"]))
        if day is None:
            day = (
                done[paid_at["step"]][0] if "step" in paid_at else _local_day(instance.ended_at or instance.started_at)
            )
        reference = _pick(forms, spec["reference"])
        payments.append(
            {
                "source": FLOW,
                "instance_id": instance.id,
                "flow": instance.definition.key,
                "flow_name": instance.definition.name,
                "date": day,
                "purpose": mask_known_names(
                    str(_pick(forms, spec["purpose"]) or instance.definition.name),
                    names_in_forms(forms.values()),
                    PURPOSE_CHARS,
                ),
                "payee": shown_payee(_pick(forms, spec["payee"])),
                "amount_fen": amount if isinstance(amount, int) else 0,
                "approved_fen": approved if isinstance(approved, int) else None,
                "category": category,
                "category_name": category_name(category),
                "resolution": decisions[0] if decisions else None,
                "decisions": decisions,
                "approvals": approvals,
                "card": card.get(instance.id, []),
                "reference": str(reference).strip() if reference else None,
            }
        )
    payments.sort(key=lambda p: (p["date"], p["instance_id"]))
    return payments


# --- the accounts -------------------------------------------------------------------------------


def _ledger_lines(session: Session, village_id: int, first: str, last: str) -> list[LedgerLine]:
    return list(
        session.scalars(
            select(LedgerLine)
            .join(LedgerImport, LedgerImport.id == LedgerLine.import_id)
            .where(
                LedgerLine.village_id == village_id,
                LedgerImport.replaced_at.is_(None),
                LedgerLine.day >= first,
                LedgerLine.day <= last,
            )
            .order_by(LedgerLine.day, LedgerLine.import_id, LedgerLine.line_no)
        )
    )


def balance_start(session: Session, village_id: int, year: int) -> dict[str, Any]:
    """Where the year's balance starts: ``from`` (a day), ``opening_fen`` there (None when unknown) and
    ``month`` (YYYY-MM, None when it starts on 1 January).

    The year's opening balance comes only from an import that gives it as the year's (January's
    期初余额/上年结转, or a line the rules call the year's opening in any month). Otherwise the balance
    starts at the first month imported that year with that month's 期初余额: the months before it are
    inside that figure and counting their flow payments again would subtract them twice. A year with no
    import has no balance at all (``books`` False): without the accounts nobody knows it, and flow
    payments alone would only count down from nothing.
    """
    rows = session.execute(
        select(LedgerImport.month, LedgerImport.opening_fen, LedgerImport.year_opening_fen)
        .where(
            LedgerImport.village_id == village_id,
            LedgerImport.replaced_at.is_(None),
            LedgerImport.month.like(f"{year:04d}-%"),
        )
        .order_by(LedgerImport.month, LedgerImport.id.desc())
    ).all()
    for row in rows:
        if row.year_opening_fen is not None:
            return {"from": date(year, 1, 1), "opening_fen": row.year_opening_fen, "month": None, "books": True}
    if not rows:
        return {"from": date(year + 1, 1, 1), "opening_fen": None, "month": None, "books": False}
    first = rows[0]
    if first.month == f"{year:04d}-01":
        return {"from": date(year, 1, 1), "opening_fen": None, "month": None, "books": True}
    return {
        "from": date(year, int(first.month[5:]), 1),
        "opening_fen": first.opening_fen,
        "month": first.month,
        "books": True,
    }


def opening_of_year(session: Session, village_id: int, year: int) -> int | None:
    """The year's opening balance (上年结转) when an import gives it as the year's, else None."""
    start = balance_start(session, village_id, year)
    return start["opening_fen"] if start["month"] is None else None


def _booked_lines(session: Session, village_id: int) -> list[LedgerLine]:
    """The current spending lines with a voucher number or payment reference (all years)."""
    return list(
        session.scalars(
            select(LedgerLine)
            .join(LedgerImport, LedgerImport.id == LedgerLine.import_id)
            .where(
                LedgerLine.village_id == village_id,
                LedgerImport.replaced_at.is_(None),
                LedgerLine.spending_fen > 0,
                (LedgerLine.reference.is_not(None)) | (LedgerLine.voucher_no.is_not(None)),
            )
        )
    )


def _assign(lines: list[LedgerLine], paid: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Which flow payment each journal line is (by line id): the one whose 支付流水号 is the line's
    支付流水号, else its voucher number. Several lines of one payment (split entries) all go to it. When
    several payments give the same 流水号 (a form copied), each line goes to one not yet booked of the
    same amount, else of the nearest day, so no payment takes another's line."""
    by_reference: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in paid:
        if payment["reference"]:
            by_reference[payment["reference"]].append(payment)
    found: dict[int, dict[str, Any]] = {}
    used: set[int] = set()
    for line in sorted(lines, key=lambda row: (row.day, row.id)):
        candidates = by_reference.get(line.reference or "") or by_reference.get(line.voucher_no or "")
        if not candidates:
            continue
        choice = candidates[0]
        if len(candidates) > 1:
            pool = [p for p in candidates if p["instance_id"] not in used] or candidates
            same = [p for p in pool if p["amount_fen"] == line.spending_fen] or pool
            day = date.fromisoformat(line.day).toordinal()
            choice = min(same, key=lambda p: (abs(date.fromisoformat(p["date"]).toordinal() - day), p["instance_id"]))
        used.add(choice["instance_id"])
        found[line.id] = choice
    return found


def with_books(session: Session, village_id: int, paid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``paid`` (flow payments) with what the books say each one paid: ``form_fen`` (the form's paid
    amount), ``books_fen`` (the journal lines that are this payment, together; None when the books
    have none), ``books_differ`` (the books' amount is not the form's) and ``books_over`` (above the
    approved amount); ``line_ids`` are those lines."""
    books: dict[int, int] = defaultdict(int)
    lines: dict[int, list[int]] = defaultdict(list)
    booked_lines = {line.id: line for line in _booked_lines(session, village_id)}
    for line_id, payment in _assign(list(booked_lines.values()), paid).items():
        lines[payment["instance_id"]].append(line_id)
        books[payment["instance_id"]] += booked_lines[line_id].spending_fen
    found = []
    for payment in paid:
        booked = books.get(payment["instance_id"])
        approved = payment["approved_fen"]
        found.append(
            {
                **payment,
                "form_fen": payment["amount_fen"],
                "books_fen": booked,
                "books_differ": booked is not None and booked != payment["amount_fen"],
                "books_over": booked is not None and approved is not None and booked > approved,
                "line_ids": frozenset(lines.get(payment["instance_id"], ())),
            }
        )
    return found


def _movements(
    session: Session, village_id: int, first: str, last: str, paid: list[dict[str, Any]]
) -> tuple[list, list]:
    """Income lines and spending (flow payments ``paid`` (see :func:`with_books`) the books do not show
    yet, the journal lines that are flow payments, at the books' amount, and the expense lines no flow
    payment stands behind) from ``first`` to ``last`` (ISO days, inclusive)."""
    payments = [p for p in paid if first <= p["date"] <= last and p.get("books_fen") is None]
    assigned = {line_id: p for p in paid for line_id in p.get("line_ids", ())}
    income: list[dict[str, Any]] = []
    spending: list[dict[str, Any]] = list(payments)
    for line in _ledger_lines(session, village_id, first, last):
        if line.income_fen:
            income.append(
                {
                    "date": line.day,
                    "summary": mask_personal(line.summary, SUMMARY_CHARS),
                    "category": line.category,
                    "category_name": category_name(line.category),
                    "amount_fen": line.income_fen,
                }
            )
        if line.spending_fen:
            payment = assigned.get(line.id)
            if payment is not None:  # that flow payment, as the books paid it
                spending.append({**payment, "date": line.day, "amount_fen": line.spending_fen})
                continue
            spending.append(
                {
                    "source": BOOKS,
                    "instance_id": None,
                    "flow": None,
                    "flow_name": None,
                    "date": line.day,
                    "purpose": mask_personal(line.summary, SUMMARY_CHARS),
                    "payee": "",
                    "amount_fen": line.spending_fen,
                    "approved_fen": None,
                    "form_fen": None,
                    "books_fen": line.spending_fen,
                    "books_differ": False,
                    "books_over": False,
                    "category": line.category,
                    "category_name": category_name(line.category),
                    "resolution": None,
                    "decisions": [],
                    "approvals": [],
                    "card": [],
                    "reference": None,
                }
            )
    spending.sort(key=lambda p: (p["date"], p["source"] != FLOW))
    return income, spending


def _public_payment(payment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payment.items() if k not in ("reference", "instance_id", "line_ids")}


def period_summary(session: Session, village_id: int, first: date, last: date) -> dict[str, Any]:
    """The village's money from ``first`` to ``last`` (China-time days, inclusive), as villagers see it.

    ``opening_fen`` is the balance where the year's balance starts (:func:`balance_start`) plus
    everything that moved from there to ``first``; ``closing_fen`` = opening + income − spending;
    ``by_category`` adds up to the totals; ``payments`` are flow payments (with approved amount,
    resolution and approving steps; at the books' amount once the books show them) and 账上支出 lines,
    ``income`` the income lines; every text already masked. When the balance starts after ``first``
    (``balance_from`` names the month), the totals count from there; a period wholly before it has its
    movements but no balance (``opening_fen`` and ``closing_fen`` None).
    """
    paid = with_books(session, village_id, flow_payments(session, village_id))
    return _summary(session, village_id, first, last, paid, balance_start(session, village_id, first.year))


def _summary(
    session: Session, village_id: int, first: date, last: date, paid: list[dict[str, Any]], start: dict[str, Any]
) -> dict[str, Any]:
    begin: date = start["from"]
    before_start = last < begin
    counted = first if before_start or first >= begin else begin
    opening_fen: int | None = None
    if not before_start:
        opening_fen = start["opening_fen"] or 0
        if counted > begin:
            day_before = date.fromordinal(counted.toordinal() - 1).isoformat()
            before_income, before_spending = _movements(session, village_id, begin.isoformat(), day_before, paid)
            opening_fen += sum(i["amount_fen"] for i in before_income)
            opening_fen -= sum(p["amount_fen"] for p in before_spending)
    income, spending = _movements(session, village_id, counted.isoformat(), last.isoformat(), paid)
    income_fen = sum(i["amount_fen"] for i in income)
    spending_fen = sum(p["amount_fen"] for p in spending)
    by_category: dict[str, dict[str, Any]] = {}
    for code, row in wallet_rules()["categories"].items():
        by_category[code] = {
            "category": code,
            "name": row["name"],
            "side": row["side"],
            "income_fen": 0,
            "spending_fen": 0,
        }
    for side, items in (("income", income), ("spending", spending)):
        for item in items:
            by_category.setdefault(
                item["category"],
                {
                    "category": item["category"],
                    "name": item["category_name"],
                    "side": side,
                    "income_fen": 0,
                    "spending_fen": 0,
                },
            )
            by_category[item["category"]][f"{side}_fen"] += item["amount_fen"]
    return {
        "first": counted.isoformat(),
        "last": last.isoformat(),
        "balance_from": start["month"],
        "books": start["books"],
        "before_start": before_start,
        "opening_known": start["opening_fen"] is not None,
        "opening_fen": opening_fen,
        "income_fen": income_fen,
        "spending_fen": spending_fen,
        "closing_fen": None if opening_fen is None else opening_fen + income_fen - spending_fen,
        "by_category": [row for row in by_category.values() if row["income_fen"] or row["spending_fen"]],
        "payments": [_public_payment(p) for p in spending],
        "income": income,
    }


# --- assets -------------------------------------------------------------------------------------



def assets(session: Session, village_id: int) -> list[dict[str, Any]]:
    """The village's resources and assets let out by an asset_lease matter that ended with a signed contract."""
    instances = list(
        session.scalars(
            select(Matter)
            .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(
                DefinitionVersion.key == "asset_lease",
                Matter.village_id == village_id,
                Matter.status == MatterStatus.COMPLETED,
            )
        )
    )
    histories = _histories(session, [i.id for i in instances])
    asset_kinds, deal_types = texts("wallet.asset_kinds"), texts("wallet.deal_types")
    found = []
    for instance in instances:
        matter = histories.get(instance.id) or {"forms": {}, "done": {}, "end": None}
        forms = matter["forms"]
        if "sign_contract" not in matter["done"]:
            continue
        plan, contract, signed = forms.get("draft_plan", {}), forms.get("draft_contract", {}), forms["sign_contract"]
        price = contract.get("contract_price_fen") or (forms.get("public_trading") or {}).get("winning_price_fen")
        found.append(
            {
                "asset": shown_purpose(plan.get("asset_name")),
                "kind": asset_kinds.get(plan.get("asset_kind"), ""),
                "quantity": shown_purpose(plan.get("quantity")),
                "deal": deal_types.get(plan.get("deal_type"), ""),
                "term_years": contract.get("term_years") or plan.get("term_years"),
                "start": _day(contract.get("start_date")),
                "end": _day(contract.get("end_date")),
                "price_fen": price if isinstance(price, int) else None,
                "counterparty": mask_name(mask_personal(contract.get("counterparty"), PAYEE_CHARS)),
                "signed_on": _day(signed.get("signed_on")) or matter["done"]["sign_contract"][0],
            }
        )
    found.sort(key=lambda a: a["signed_on"], reverse=True)
    return found


# --- the page -----------------------------------------------------------------------------------


def _evidence(session: Session, village_id: int, year: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Evidence)
        .where(Evidence.village_id == village_id, Evidence.kind == "payment")
        .order_by(Evidence.at.desc(), Evidence.id.desc())
    )
    shown = []
    for row in rows:
        day = _local_day(row.at)
        if day.startswith(f"{year:04d}-"):
            shown.append(
                {
                    "date": day,
                    "payee": shown_payee(row.payee),
                    "amount_fen": row.amount_fen or 0,
                    "matched": row.instance_id is not None,
                }
            )
    return shown


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def years(session: Session, village_id: int, today: date, paid: list[dict[str, Any]]) -> list[int]:
    """The years the page offers: those with a payment or an import, and this one, newest first."""
    found = {today.year}
    found.update(int(p["date"][:4]) for p in paid)
    found.update(
        int(m[:4]) for m in session.scalars(select(LedgerImport.month).where(LedgerImport.village_id == village_id))
    )
    return sorted(found, reverse=True)


@dataclass(frozen=True, slots=True)
class MonthTotals:
    """One month of the year on the wallet page: its balances (None before the books' first balance),
    income, spending and how many payments."""

    month: str
    number: int
    opening_fen: int | None
    income_fen: int
    spending_fen: int
    closing_fen: int | None
    payments: int
    before_start: bool


@dataclass(frozen=True, slots=True)
class WalletPage:
    """What the wallet page shows: the year's and the chosen period's summaries (as :func:`period_summary`
    gives them), each month's totals, the years offered, the village-card evidence and the assets let out."""

    code: str
    village: str
    year: int
    month: int | None
    balance_from: str | None
    years: list[int]
    year_summary: dict[str, Any]
    summary: dict[str, Any]
    months: list[MonthTotals]
    evidence: list[dict[str, Any]]
    assets: list[dict[str, Any]]


def wallet(session: Session, village_code: str, year: int | None = None, month: int | None = None) -> WalletPage:
    """What the wallet page shows for a year (default this year) and optionally one month of it:
    the year's totals and balance, each month's, by category, the payments and income of the chosen
    period, the village-card evidence, and the assets let out."""
    village = public_village(session, village_code)
    today = as_utc(clock_now()).astimezone(CST).date()
    year = year or today.year
    paid = with_books(session, village.id, flow_payments(session, village.id))
    start = balance_start(session, village.id, year)
    months = []
    for number in range(1, 13):
        summary = _summary(session, village.id, date(year, number, 1), _month_end(year, number), paid, start)
        months.append(
            MonthTotals(
                month=f"{year:04d}-{number:02d}",
                number=number,
                opening_fen=summary["opening_fen"],
                income_fen=summary["income_fen"],
                spending_fen=summary["spending_fen"],
                closing_fen=summary["closing_fen"],
                payments=len(summary["payments"]),
                before_start=summary["before_start"],
            )
        )
    whole = _summary(session, village.id, date(year, 1, 1), date(year, 12, 31), paid, start)
    chosen = (
        _summary(session, village.id, date(year, month, 1), _month_end(year, month), paid, start) if month else whole
    )
    return WalletPage(
        code=village.code,
        village=place_name(village),
        year=year,
        month=month,
        balance_from=start["month"],
        years=years(session, village.id, today, paid),
        year_summary=whole,
        summary=chosen,
        months=months,
        evidence=_evidence(session, village.id, year),
        assets=assets(session, village.id),
    )
