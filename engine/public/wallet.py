"""我们的钱包: where the village's collective money went, read-only.

Only payments whose flow reached its paid end count; a voucher turned down on the way is not money
spent. Payees and purposes are shown as the disclosure board shows them: every text passes
:func:`engine.public.masking.mask_personal`, so no ID, phone, landline or account number is shown,
however it was typed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.clock import as_utc
from engine.history.events import INSTANCE_ENDED, TASK_COMPLETED, TASK_FORCED
from engine.persistence.models import DefinitionVersion, HistoryEvent, ProcessInstance
from engine.public.masking import mask_personal
from engine.public.villages import place_name, public_village
from engine.supervision.models import Evidence

PAYMENT_KEY = "fund_payment"
PAID_END = "end_paid"
VOUCHER_STEP = "voucher"
PAYMENT_STEP = "payment"
PAYEE_CHARS = 100
PURPOSE_CHARS = 200


def shown_payee(text: Any) -> str:
    """A payee as disclosed: a name, with any ID, account or phone number as ***."""
    return mask_personal(text, PAYEE_CHARS)


def shown_purpose(text: Any) -> str:
    """What the money was for, with any ID, account or phone number as ***."""
    return mask_personal(text, PURPOSE_CHARS)


def _paid_day(value: Any) -> str | None:
    """The day a payment form gives, when it is a real date (YYYY-MM-DD); other text is not shown."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def _local_day(value: datetime) -> str:
    return as_utc(value).astimezone(CST).date().isoformat()


def _forms(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per matter: the last form of the voucher and payment steps and where the flow ended."""
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    if not ids:
        return found
    rows = session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.kind, HistoryEvent.step_id, HistoryEvent.data)
        .where(
            HistoryEvent.instance_id.in_(ids),
            HistoryEvent.kind.in_((TASK_COMPLETED, TASK_FORCED, INSTANCE_ENDED)),
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    )
    for instance_id, kind, step_id, data in rows:
        payload = json.loads(data)
        if kind == INSTANCE_ENDED:
            found[instance_id]["end"] = payload.get("end")
        elif step_id in (VOUCHER_STEP, PAYMENT_STEP):
            form = payload.get("form")
            found[instance_id][step_id] = form if isinstance(form, dict) else {}
    return found


def _payments(session: Session, village_id: int) -> list[dict[str, Any]]:
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
            .where(
                DefinitionVersion.key == PAYMENT_KEY,
                ProcessInstance.village_id == village_id,
                ProcessInstance.status == "completed",
            )
        )
    )
    forms = _forms(session, [i.id for i in instances])
    payments = []
    for instance in instances:
        found = forms.get(instance.id, {})
        if found.get("end") != PAID_END:
            continue
        voucher = found.get(VOUCHER_STEP, {})
        paid = found.get(PAYMENT_STEP, {})
        amount = paid.get("paid_amount_fen") or voucher.get("amount_fen")
        day = _paid_day(paid.get("paid_on"))
        payments.append(
            {
                "date": day or _local_day(instance.ended_at or instance.started_at),
                "purpose": shown_purpose(str(voucher.get("purpose") or instance.definition.name)),
                "payee": shown_payee(voucher.get("payee")),
                "amount_fen": amount if isinstance(amount, int) else 0,
            }
        )
    payments.sort(key=lambda p: p["date"], reverse=True)
    return payments


def _evidence(session: Session, village_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Evidence)
        .where(Evidence.village_id == village_id, Evidence.kind == "payment")
        .order_by(Evidence.at.desc(), Evidence.id.desc())
    )
    return [
        {
            "date": _local_day(row.at),
            "payee": shown_payee(row.payee),
            "amount_fen": row.amount_fen or 0,
            "matched": row.instance_id is not None,
        }
        for row in rows
    ]


def wallet(session: Session, village_code: str) -> dict[str, Any]:
    """The village's paid payments and village-card evidence, newest first, with totals per month."""
    village = public_village(session, village_code)
    payments = _payments(session, village.id)
    evidence = _evidence(session, village.id)
    months: dict[str, dict[str, int]] = defaultdict(lambda: {"paid_fen": 0, "payments": 0, "evidence_fen": 0})
    for payment in payments:
        month = months[payment["date"][:7]]
        month["paid_fen"] += payment["amount_fen"]
        month["payments"] += 1
    for item in evidence:
        months[item["date"][:7]]["evidence_fen"] += item["amount_fen"]
    return {
        "code": village.code,
        "village": place_name(village),
        "payments": payments,
        "evidence": evidence,
        "months": [{"month": key, **months[key]} for key in sorted(months, reverse=True)],
        "total_fen": sum(p["amount_fen"] for p in payments),
    }
