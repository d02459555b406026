"""Violations visible in a step's own events: forced steps, waived legal checks, meeting votes,
short postings, and the rule set's conditions (separation of duties, order of steps).
"""

from __future__ import annotations

import json
from typing import Any

from engine.expressions import ExpressionError
from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.persistence.models import HistoryEvent
from engine.ruleset import UnknownRule, rule
from engine.supervision.facts import Names, days_between, evaluate
from engine.supervision.rules import RuleBook
from engine.supervision.violations import Finding, event_ref, raise_violation
from engine.texts import text


def on_step(context: StepContext, book: RuleBook) -> None:
    for event in context.events:
        if event.kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED) and event.step_id:
            for finding in _event_findings(context, book, event):
                raise_violation(context.session, book, finding, context.now)


def _event_findings(context: StepContext, book: RuleBook, event: HistoryEvent) -> list[Finding]:
    item = context.definition.key
    payload = json.loads(event.data)
    step = context.definition.steps.get(event.step_id)
    role = step.role if step is not None else payload.get("role")
    step_name = step.name if step is not None else event.step_id
    findings: list[Finding] = []

    def found(code: str, message: str) -> None:
        findings.append(
            Finding(
                code=code,
                village_id=context.instance.village_id,
                dedup_key=f"{code}:{context.instance.id}:{event.seq}",
                message=message,
                instance_id=context.instance.id,
                step_id=event.step_id,
                evidence=[event_ref(event)],
                responsible_role=role,
                responsible_user=event.actor,
            )
        )

    if event.kind == EventKind.TASK_FORCED:
        found(
            "step_forced",
            text("supervision.detect.step_forced", step=step_name, who=_who(event), reason=payload.get("reason")),
        )
    checks = book.checks_for(item, event.step_id)
    meetings = book.meetings_for(item, event.step_id)
    postings = book.postings_for(item, event.step_id)
    waived = payload.get("waived") or []
    if not (checks or meetings or postings or waived):
        return findings
    names = Names(context.session, context.instance, item, event)
    for meeting in meetings:
        _meeting(meeting, names, step_name, found)
    for posting in postings:
        _posting(posting, names, step_name, found)
    for check in checks:
        if evaluate(check["when"], names) is True:
            found(check["code"], text("supervision.detect.check", step=step_name, message=check["message"]))
    codes = {f.code for f in findings}
    unexplained = []
    reason = payload.get("reason")
    for entry in waived:
        code = book.waived_code(str(entry.get("field", "")))
        if code == book.waived_fallback:
            unexplained.append(str(entry.get("message")))
        elif code not in codes:
            found(code, _waived(step_name, entry.get("message"), reason))
            codes.add(code)
    if unexplained:
        found(book.waived_fallback, _waived(step_name, text("supervision.semicolon").join(unexplained), reason))
    return findings


def _waived(step_name: str, message: Any, reason: Any) -> str:
    return text("supervision.detect.check_waived", step=step_name, message=message, reason=reason)


def _who(event: HistoryEvent) -> str:
    return event.actor or text("supervision.system")


def _meeting(meeting: dict[str, Any], names: Names, step_name: str, found) -> None:
    """A decision recorded as passed must have had its quorum and its majority."""
    if names.get("passed") is False or "present" not in names:
        return
    body = meeting["body"]
    if evaluate(meeting["quorum"], names) is False:
        found(
            "quorum_not_met",
            text(
                "supervision.detect.quorum_not_met",
                step=step_name,
                body=body,
                members=names.get("members"),
                present=names.get("present"),
            ),
        )
    if evaluate(meeting["in_favour"], names) is False:
        found(
            "vote_rule_not_met",
            text(
                "supervision.detect.vote_rule_not_met",
                step=step_name,
                body=body,
                present=names.get("present"),
                votes_for=names.get("votes_for"),
            ),
        )


def _posting(posting: dict[str, Any], names: Names, step_name: str, found) -> None:
    """Too short by the days declared, by the dates given, or by when the step was closed."""
    try:
        minimum = int(rule(posting["min_days"]))
    except (UnknownRule, TypeError, ValueError):
        return
    reasons = []
    declared = names.get("posting_days")
    if isinstance(declared, int) and declared < minimum:
        reasons.append(text("supervision.detect.posting_declared", days=declared))
    start, end = names.get("posting_start"), names.get("posting_end")
    try:
        if start and end and days_between(start, end) + 1 < minimum:
            reasons.append(text("supervision.detect.posting_dates", start=start, end=end))
        if start and days_between(start, names["event"]["date"]) < minimum:
            reasons.append(text("supervision.detect.posting_closed", start=start, end=names["event"]["date"]))
    except ExpressionError:  # a malformed date is the form's business, not a posting violation
        pass
    if reasons:
        shortfall = text("supervision.comma").join(reasons)
        found(
            "posting_too_short",
            text("supervision.detect.posting_too_short", step=step_name, reasons=shortfall, minimum=minimum),
        )
