"""A step that closes ends what waited on it: its pending added approvals (加签) are cancelled,
whichever way it closed (completed, forced, returned, withdrawn, rejected, or by a timer)."""

from __future__ import annotations

from sqlalchemy import select

from engine import clock, hooks
from engine.workspace.models import AddedApproval, ApprovalStatus


def cancel_approvals_of_closed_steps(context: hooks.StepContext) -> None:
    if not context.closed:
        return
    for approval in context.session.scalars(
        select(AddedApproval).where(
            AddedApproval.task_id.in_(context.closed), AddedApproval.status == ApprovalStatus.PENDING
        )
    ):
        approval.status = ApprovalStatus.CANCELLED
        approval.decided_at = clock.now()


def install() -> None:
    hooks.after_step(cancel_approvals_of_closed_steps)
