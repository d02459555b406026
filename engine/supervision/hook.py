"""The after-step hook that watches every step: deadlines and BPMN timers, violations, rectification."""

from __future__ import annotations

from engine import hooks
from engine.hooks import StepContext
from engine.supervision import deadlines, decisions, detect, evidence, hugging, rectification, timers, vouchers
from engine.supervision.violations import book_for_village


def watch_step(context: StepContext) -> None:
    book = book_for_village(context.session, context.instance.village_id)
    waiting = timers.schedule_waiting_timers(context.session, context.instance, context.definition, context.workflow)
    deadlines.on_step(context, book, waiting)
    detect.on_step(context, book)
    evidence.check_voucher_split(context, book)
    hugging.on_step(context, book)
    decisions.on_step(context, book)
    vouchers.on_step(context, book)
    rectification.on_step(context, book)


def install() -> None:
    hooks.after_step(watch_step)
