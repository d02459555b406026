"""The engine's public operations. Each takes a session; the caller owns the transaction.

Callers (CLI, web views, API, scheduler jobs) use this module, :mod:`engine.queries` and the
commands of :mod:`engine.workspace.operations`; every command checks who may act through
:mod:`engine.policy` and what data it takes, so no adapter needs checks of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.definitions import listing
from engine.definitions.deploy import DeployResult, deploy, deploy_upload
from engine.definitions.descriptions import ValidationReport
from engine.definitions.validate import load_definition_file, validate_bpmn
from engine.errors import DefinitionInvalid
from engine.history.verify import VerifyReport
from engine.persistence.db import begin_write
from engine.runtime.consistency import verify_record
from engine.runtime.steps import StepResult
from engine.workspace import operations
from engine.workspace.operations import Outcome

__all__ = [
    "validate_file",
    "validate_upload",
    "deploy_file",
    "deploy_upload",
    "start",
    "complete",
    "force",
    "verify_history",
    "Outcome",
    "StepResult",
    "DeployResult",
    "VerifyReport",
]


def validate_file(path: str | Path) -> ValidationReport:
    return load_definition_file(Path(path))


def validate_upload(content: bytes, filename: str, forms: dict[str, bytes] | None = None) -> ValidationReport:
    return validate_bpmn(content, filename, forms)


def deploy_file(
    session: Session, path: str | Path, actor: str | None = None, counties: Sequence[str] | None = None
) -> DeployResult:
    path = Path(path)
    report = load_definition_file(path)
    if not report.ok:
        raise DefinitionInvalid(report.problems)
    begin_write(session)
    result = deploy(session, report, path.read_bytes(), actor, counties)
    if result.created:  # a file on the server: reviewed by whoever put it there
        listing.show_deployed_file(session, result.key, actor)
    return result


def start(
    session: Session,
    key: str,
    village: str,
    actor: str,
    data: dict[str, Any] | None = None,
    title: str | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    return operations.start(session, key, village, actor, data, title, idempotency_key)


def complete(
    session: Session,
    task_id: str,
    actor: str,
    data: Any,
    attachments: dict[str, list[int]] | None = None,
    waive_reason: str | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    return operations.complete(session, task_id, actor, data, attachments, waive_reason, idempotency_key)


def force(session: Session, task_id: str, actor: str, reason: str, data: Any = None) -> Outcome:
    return operations.force(session, task_id, actor, reason, data)


def verify_history(session: Session, instance_id: int | None = None) -> VerifyReport:
    """Every history chain, the state each matter's newest event vouches for, and the open-task
    index derived again from the saved workflows; the first problem found."""
    return verify_record(session, instance_id)
