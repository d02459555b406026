"""Deploying a validated flow as a new immutable version of its power item, and publishing flows to
counties.

A county administrator deploys a flow for their own counties; a key already published to a county
they do not administer is not theirs to change. The operator (actor None, the command line without
``--as``) is the province level: they deploy and publish any flow to any county.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions import scope
from engine.definitions.descriptions import ValidationReport
from engine.definitions.validate import validate_bpmn
from engine.errors import DefinitionInvalid, NotFound, PowerlistError
from engine.history.chain import canonical_json
from engine.org.service import get_unit
from engine.persistence.db import begin_write
from engine.persistence.enums import Level
from engine.persistence.models import AuditLog, DefinitionVersion, OrgUnit
from engine.policy import admin as admin_policy
from engine.runtime.serializer import dump_specs
from engine.texts import text


@dataclass
class DeployResult:
    key: str
    version: int
    created: bool
    definition_id: int
    published: tuple[str, ...] = ()  # codes of the counties the flow was newly published to


def content_hash(bpmn: bytes, forms: dict[str, Any]) -> str:
    digest = hashlib.sha256(bpmn)
    digest.update(canonical_json(forms).encode())
    return digest.hexdigest()


def deploy(
    session: Session,
    report: ValidationReport,
    bpmn: bytes,
    actor: str | None = None,
    counties: Sequence[str] | None = None,
) -> DeployResult:
    """Store the report's definition as version N+1, unless the same content is already deployed, and
    publish the flow to ``counties`` (codes). Without counties, an administrator's flow is published to
    the counties they administer and the operator's (actor None) to every county."""
    if not report.ok or report.definition is None:
        raise DefinitionInvalid(report.problems)
    parsed = report.definition
    targets = _publication_targets(session, parsed.key, counties, actor)
    digest = content_hash(bpmn, parsed.forms)
    existing = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == parsed.key, DefinitionVersion.content_hash == digest)
    )
    if existing is not None:
        published = _publish(session, parsed.key, targets, actor)
        return DeployResult(parsed.key, existing.version, False, existing.id, published)
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
        "start_form": parsed.start_form,
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
    published = _publish(session, row.key, targets, actor)
    return DeployResult(row.key, row.version, True, row.id, published)


def deploy_upload(
    session: Session,
    content: bytes,
    filename: str,
    forms: dict[str, bytes] | None = None,
    actor: str | None = None,
    counties: Sequence[str] | None = None,
) -> DeployResult:
    report = validate_bpmn(content, filename, forms)
    if not report.ok:
        raise DefinitionInvalid(report.problems)
    begin_write(session)
    return deploy(session, report, content, actor, counties)


def _county(session: Session, code: str) -> OrgUnit:
    unit = get_unit(session, code)
    if unit.level != Level.COUNTY:
        raise PowerlistError(code="flow.not_a_county", params={"unit": code})
    return unit


def _publication_targets(
    session: Session, key: str, counties: Sequence[str] | None, actor: str | None
) -> list[OrgUnit]:
    """The counties a deployment publishes ``key`` to, once the actor may deploy it to each of them."""
    admin_policy.require(session, actor, "flow.deploy", key)
    if counties is not None:
        targets = [_county(session, code) for code in dict.fromkeys(counties)]
    elif actor is None:
        targets = list(session.scalars(select(OrgUnit).where(OrgUnit.level == Level.COUNTY).order_by(OrgUnit.code)))
    else:
        ids = admin_policy.administered(session, admin_policy.holdings_of(session, actor))
        targets = list(session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.code)))
    for county in targets:
        admin_policy.require(session, actor, "flow.publish", (key, county))
    return targets


def _publish(session: Session, key: str, counties: list[OrgUnit], actor: str | None) -> tuple[str, ...]:
    now = clock.now()
    added = set(scope.add(session, key, [c.id for c in counties], actor, now))
    codes = tuple(sorted(c.code for c in counties if c.id in added))
    if codes:
        session.add(AuditLog(at=now, actor=actor, action="publish", subject=key, detail={"counties": list(codes)}))
    return codes


def publish(session: Session, key: str, counties: Sequence[str], actor: str | None) -> tuple[str, ...]:
    """Publish the deployed flow ``key`` to more counties; returns the codes it was newly published to."""
    if session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.key == key).limit(1)) is None:
        raise NotFound(code="flow.not_found", params={"key": key})
    targets = [_county(session, code) for code in dict.fromkeys(counties)]
    for county in targets:
        admin_policy.require(session, actor, "flow.publish", (key, county))
    return _publish(session, key, targets, actor)


def unpublish(session: Session, key: str, county: str, actor: str | None) -> bool:
    """Withdraw flow ``key`` from a county: its villages start no new matters of it (running ones go
    on). Whether it was published there."""
    unit = _county(session, county)
    admin_policy.require(session, actor, "flow.publish", (key, unit))
    removed = scope.remove(session, key, unit.id)
    if removed:
        session.add(
            AuditLog(at=clock.now(), actor=actor, action="unpublish", subject=key, detail={"counties": [unit.code]})
        )
    return removed


def latest_version(session: Session, key: str) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.key == key, DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(
            text("definitions.refusals.not_published", key=key), code="flow.not_found", params={"key": key}, field="key"
        )
    return row


def list_versions(session: Session, key: str | None = None) -> list[DefinitionVersion]:
    query = select(DefinitionVersion).order_by(DefinitionVersion.key, DefinitionVersion.version)
    if key:
        query = query.where(DefinitionVersion.key == key)
    return list(session.scalars(query))
