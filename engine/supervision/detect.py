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
        found("step_forced", f"“{step_name}”未按规定办理，被{_who(event)}强制跳过，理由：{payload.get('reason')}")
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
            found(check["code"], f"“{step_name}”：{check['message']}")
    codes = {f.code for f in findings}
    unexplained = []
    reason = payload.get("reason")
    for entry in waived:
        code = book.waived_code(str(entry.get("field", "")))
        if code == book.waived_fallback:
            unexplained.append(str(entry.get("message")))
        elif code not in codes:
            found(code, f"“{step_name}”未通过法定校验（{entry.get('message')}），仍以理由“{reason}”提交")
            codes.add(code)
    if unexplained:
        found(book.waived_fallback, f"“{step_name}”未通过法定校验（{'；'.join(unexplained)}），仍以理由“{reason}”提交")
    return findings


def _who(event: HistoryEvent) -> str:
    return event.actor or "系统"


def _meeting(meeting: dict[str, Any], names: Names, step_name: str, found) -> None:
    """A decision recorded as passed must have had its quorum and its majority."""
    if names.get("passed") is False or "present" not in names:
        return
    body = meeting["body"]
    if evaluate(meeting["quorum"], names) is False:
        found(
            "quorum_not_met",
            f"“{step_name}”：{body}应到{names.get('members')}人、实到{names.get('present')}人，未达到法定到会比例",
        )
    if evaluate(meeting["in_favour"], names) is False:
        found(
            "vote_rule_not_met",
            f"“{step_name}”：{body}实到{names.get('present')}人、赞成{names.get('votes_for')}票，未达到法定票数却记为通过",
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
        reasons.append(f"填报公示{declared}天")
    start, end = names.get("posting_start"), names.get("posting_end")
    try:
        if start and end and days_between(start, end) + 1 < minimum:
            reasons.append(f"公示期{start}至{end}")
        if start and days_between(start, names["event"]["date"]) < minimum:
            reasons.append(f"{start}开始公示、{names['event']['date']}即结束公示")
    except ExpressionError:  # a malformed date is the form's business, not a posting violation
        pass
    if reasons:
        found("posting_too_short", f"“{step_name}”：{'，'.join(reasons)}，少于规定的{minimum}天")
