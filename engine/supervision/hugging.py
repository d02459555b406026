"""Threshold hugging (紧贴标准): an amount just under an approval, trading or audit line.

Rule data (``hugging`` of the supervision rules) names, per step, the amount field and the lines it
is held against: ``below`` lines start a stricter tier at the line itself (an amount under it
escapes), ``upto`` lines are the most a body may approve (an amount at it is still within). An
amount within ``near`` percent of such a line, on the lenient side, raises ``threshold_hugging``:
not proof of a fault, a pointer for the 村监会 and the town to look at.
"""

from __future__ import annotations

import json
from decimal import Decimal

from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.ruleset import UnknownRule, rule
from engine.supervision.rules import RuleBook
from engine.supervision.violations import Finding, event_ref, raise_violation
from engine.texts import text

CODE = "threshold_hugging"


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def hugged(amount: int, line: int, near_percent: int, inclusive: bool) -> bool:
    """Whether ``amount`` sits within ``near_percent`` of ``line`` on the side that escapes it."""
    if amount * 100 < line * near_percent:
        return False
    return amount <= line if inclusive else amount < line


def on_step(context: StepContext, book: RuleBook) -> None:
    spec = book.rules.get("hugging")
    if not spec:
        return
    item = context.definition.key
    watched = [w for w in spec["watch"] if w["item"] == item]
    if not watched:
        return
    try:
        near = int(rule(spec["near"]))
    except (UnknownRule, TypeError, ValueError):
        return
    for event in context.events:
        if event.kind != EventKind.TASK_COMPLETED:
            continue
        form = json.loads(event.data).get("form") or {}
        for watch in (w for w in watched if w["step"] == event.step_id):
            amount = form.get(watch["amount"])
            if not isinstance(amount, int) or isinstance(amount, bool):
                continue
            lines = [(key, False) for key in watch.get("below", [])] + [(key, True) for key in watch.get("upto", [])]
            for key, inclusive in lines:
                try:
                    line = int(rule(key))
                except (UnknownRule, TypeError, ValueError):
                    continue
                if not hugged(amount, line, near, inclusive):
                    continue
                step = context.definition.steps.get(event.step_id)
                side = text("supervision.hugging.not_over" if inclusive else "supervision.hugging.not_reaching")
                raise_violation(
                    context.session,
                    book,
                    Finding(
                        code=CODE,
                        village_id=context.instance.village_id,
                        dedup_key=f"{CODE}:{context.instance.id}:{event.seq}:{key}",
                        message=text(
                            "supervision.hugging.message",
                            step=step.name if step else event.step_id,
                            amount=_yuan(amount),
                            line=_yuan(line),
                            key=key,
                            side=side,
                        ),
                        instance_id=context.instance.id,
                        step_id=event.step_id,
                        evidence=[event_ref(event), {"line": key, "line_fen": line, "amount_fen": amount}],
                        responsible_user=event.actor,
                    ),
                    context.now,
                )
