"""Deploying a validated flow as a new immutable version of its power item."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions.model import ValidationReport
from engine.errors import DefinitionInvalid, NotFound
from engine.history.chain import canonical_json
from engine.persistence.models import AuditLog, DefinitionVersion
from engine.runtime.serializer import dump_specs


@dataclass
class DeployResult:
    key: str
    version: int
    created: bool
    definition_id: int


def content_hash(bpmn: bytes, forms: dict[str, Any]) -> str:
    digest = hashlib.sha256(bpmn)
    digest.update(canonical_json(forms).encode())
    return digest.hexdigest()


def deploy(session: Session, report: ValidationReport, bpmn: bytes, actor: str | None = None) -> DeployResult:
    """Store the report's definition as version N+1, unless the same content is already deployed."""
    if not report.ok or report.definition is None:
        raise DefinitionInvalid(report.problems)
    parsed = report.definition
    digest = content_hash(bpmn, parsed.forms)
    existing = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == parsed.key, DefinitionVersion.content_hash == digest)
    )
    if existing is not None:
        return DeployResult(parsed.key, existing.version, False, existing.id)
    latest = session.scalar(select(func.max(DefinitionVersion.version)).where(DefinitionVersion.key == parsed.key))
    meta = {
        "name": parsed.name,
        "category": parsed.category,
        "number": parsed.number,
        "responsible_body": parsed.responsible_body,
        "legal_basis": parsed.legal_basis,
        "description": parsed.description,
        "has_di": parsed.has_di,
        "steps": [dataclasses.asdict(step) for step in parsed.steps],
    }
    row = DefinitionVersion(
        key=parsed.key,
        version=(latest or 0) + 1,
        name=parsed.name,
        content_hash=digest,
        bpmn_xml=bpmn.decode("utf-8"),
        forms=parsed.forms,
        spec_json=dump_specs(parsed.spec, parsed.subprocess_specs),
        meta=meta,
        deployed_at=clock.now(),
        deployed_by=actor,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditLog(
            at=row.deployed_at,
            actor=actor,
            action="deploy",
            subject=f"{row.key} v{row.version}",
            detail={"content_hash": digest},
        )
    )
    return DeployResult(row.key, row.version, True, row.id)


def latest_version(session: Session, key: str) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.key == key, DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no deployed flow with key '{key}'")
    return row


def list_versions(session: Session, key: str | None = None) -> list[DefinitionVersion]:
    query = select(DefinitionVersion).order_by(DefinitionVersion.key, DefinitionVersion.version)
    if key:
        query = query.where(DefinitionVersion.key == key)
    return list(session.scalars(query))
