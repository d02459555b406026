"""Putting flows into service: uploads (a BPMN file and its forms, or a zip), their validation report
and preview, deployment, the versions of each power item and what changed between them, retiring.

An administrator sees and changes the flows published to their counties only (the access policy's
``flow.*`` actions, :mod:`engine.policy.admin`); actor None is the command-line operator.
"""

from __future__ import annotations

import dataclasses
import io
import json
import posixpath
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.catalog import flowchart
from engine.catalog.graph import flow_graph
from engine.definitions import listing, scope
from engine.definitions.codes import guide_anchor, summary
from engine.definitions.conventions import BPMN_NS, PL_NS
from engine.definitions.deploy import DeployResult, deploy_upload
from engine.definitions.descriptions import ValidationReport
from engine.definitions.forms import FormRefused, normalize_form_path
from engine.definitions.safe_xml import MAX_BPMN_BYTES, parse_xml
from engine.definitions.validate import validate_bpmn
from engine.errors import DefinitionInvalid, NotFound, PowerlistError, Problem
from engine.persistence.enums import MatterStatus
from engine.persistence.models import AuditLog, DefinitionVersion, Matter, OpenTask, OrgUnit
from engine.policy import admin as admin_policy
from engine.workspace.labels import CATEGORY_NAMES, role_name
from engine.workspace.models import StagedUpload

MAX_UPLOAD_FILES = 200
MAX_ZIP_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_FORM_BYTES = 1024 * 1024
STAGED_FOR = timedelta(days=1)


@dataclass
class Upload:
    """A BPMN file and the forms that came with it, keyed by their path relative to the BPMN file."""

    bpmn_name: str | None = None
    bpmn: bytes | None = None
    forms: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def collect_upload(files: list[tuple[str, bytes]]) -> Upload:
    """Sort uploaded files (loose files, a folder, or zips) into the BPMN file and its forms.

    A form is matched to the task that names it by its path beside the BPMN file, or, when the
    browser sent bare file names, by its file name.
    """
    upload = Upload()
    entries: list[tuple[str, bytes]] = []
    for name, content in files[:MAX_UPLOAD_FILES]:
        name = (name or "").replace("\\", "/")
        if name.lower().endswith(".zip"):
            entries += _unzip(name, content, upload.problems)
        else:
            entries.append((name, content))
    if len(files) > MAX_UPLOAD_FILES:
        upload.problems.append(Problem("too-many-files", f"at most {MAX_UPLOAD_FILES} files per upload"))
    bpmns = [(n, c) for n, c in entries if n.lower().endswith((".bpmn", ".bpmn20.xml", ".xml"))]
    if not bpmns:
        upload.problems.append(Problem("no-bpmn", "no BPMN file (.bpmn) in the upload"))
        return upload
    if len(bpmns) > 1:
        names = ", ".join(n for n, _ in bpmns)
        upload.problems.append(Problem("several-bpmn", f"upload one BPMN file at a time, not {names}"))
        return upload
    upload.bpmn_name, upload.bpmn = bpmns[0]
    if len(upload.bpmn) > MAX_BPMN_BYTES:
        upload.problems.append(
            Problem(
                "too-large", f"BPMN file too large (at most {MAX_BPMN_BYTES // 1024 // 1024} MB)", file=upload.bpmn_name
            )
        )
        return upload
    folder = posixpath.dirname(upload.bpmn_name)
    wanted = _form_paths(upload.bpmn)
    by_basename: dict[str, list[str]] = {}
    for path in wanted:
        by_basename.setdefault(posixpath.basename(path), []).append(path)
    for name, content in entries:
        if not name.lower().endswith(".json"):
            continue
        if len(content) > MAX_FORM_BYTES:
            upload.problems.append(Problem("too-large", "form larger than 1 MB", file=name))
            continue
        relative = posixpath.relpath(name, folder) if folder and name.startswith(folder + "/") else name
        try:
            relative = normalize_form_path(relative)
        except FormRefused:
            continue
        if relative in wanted:
            upload.forms[relative] = content
        else:
            for path in by_basename.get(posixpath.basename(name), []):
                upload.forms.setdefault(path, content)
    return upload


def _unzip(name: str, content: bytes, problems: list[Problem]) -> list[tuple[str, bytes]]:
    if len(content) > MAX_ZIP_BYTES:
        problems.append(Problem("too-large", f"zip larger than {MAX_ZIP_BYTES // 1024 // 1024} MB", file=name))
        return []
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError):
        problems.append(Problem("bad-zip", "not a readable zip file", file=name))
        return []
    if len(infos) > MAX_UPLOAD_FILES:
        problems.append(Problem("too-many-files", f"zip holds more than {MAX_UPLOAD_FILES} files", file=name))
        return []
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        problems.append(Problem("too-large", "zip unpacks to more than 40 MB", file=name))
        return []
    entries = []
    for info in infos:
        member = info.filename.replace("\\", "/")
        if member.startswith("__MACOSX/") or posixpath.basename(member).startswith("."):
            continue
        if not member.lower().endswith((".bpmn", ".json", ".xml")):
            continue
        try:
            with archive.open(info) as handle:
                data = handle.read(MAX_BPMN_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError):
            problems.append(Problem("bad-zip", "cannot read this entry", file=f"{name}/{member}"))
            continue
        entries.append((member, data))
    return entries


def _form_paths(bpmn: bytes) -> set[str]:
    root, _problems = parse_xml(bpmn, "upload.bpmn")
    if root is None:
        return set()
    paths = set()
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        raw = task.get(f"{{{PL_NS}}}form")
        if raw:
            try:
                paths.add(normalize_form_path(raw))
            except FormRefused:
                continue
    return paths


def validate(upload: Upload) -> ValidationReport:
    if upload.bpmn is None or upload.problems:
        return ValidationReport(upload.bpmn_name or "upload", list(upload.problems))
    report = validate_bpmn(upload.bpmn, upload.bpmn_name or "upload.bpmn", upload.forms)
    return report


def preview(report: ValidationReport) -> dict[str, Any]:
    """What a valid upload puts into service: the item, its steps, roles, forms and time limits."""
    d = report.definition
    if d is None:
        return {}
    return {
        "key": d.key,
        "name": d.name,
        "number": d.number,
        "category": d.category,
        "category_name": CATEGORY_NAMES.get(d.category or "", d.category),
        "responsible_body": d.responsible_body,
        "legal_basis": d.legal_basis,
        "description": d.description,
        "has_di": d.has_di,
        "steps": [
            {
                "id": s.id,
                "name": s.name,
                "role": s.role,
                "role_name": role_name(s.role),
                "form": s.form,
                "form_title": (d.forms.get(s.form) or {}).get("title") if s.form else None,
                "fields": len((d.forms.get(s.form) or {}).get("properties") or {}) if s.form else 0,
                "attachments": len((d.forms.get(s.form) or {}).get("x-attachments") or []) if s.form else 0,
                "checks": len((d.forms.get(s.form) or {}).get("x-checks") or []) if s.form else 0,
                "time_limit": s.time_limit,
                "calendar": s.calendar,
                "legal_basis": s.legal_basis,
            }
            for s in d.steps
        ],
        "roles": sorted({role_name(s.role) for s in d.steps}),
    }


def require_flow_admin(session: Session, actor: str | None) -> None:
    """Refuse anyone who administers no county's flows."""
    admin_policy.require(session, actor, "flow.list")


def deploy_targets(session: Session, actor: str | None) -> list[str]:
    """Names of the counties an upload by ``actor`` is published to (the operator's: every county)."""
    if actor is None:
        ids = admin_policy.every_county(session)
    else:
        ids = admin_policy.administered(session, admin_policy.holdings_of(session, actor))
    return list(session.scalars(select(OrgUnit.name).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.code)))


def stage(session: Session, upload: Upload, actor: str, key: str | None = None) -> str:
    """Keep a validated upload of flow ``key`` until it is deployed, once ``actor`` may deploy it;
    returns the id the deploy button sends."""
    admin_policy.require(session, actor, "flow.deploy", key)
    now = clock.now()
    session.execute(delete(StagedUpload).where(StagedUpload.uploaded_at < now - STAGED_FOR))
    staged_id = secrets.token_hex(16)
    session.add(
        StagedUpload(
            id=staged_id,
            uploaded_by=actor,
            uploaded_at=now,
            filename=(upload.bpmn_name or "upload.bpmn")[:200],
            bpmn=upload.bpmn or b"",
            forms={path: content.decode("utf-8", "replace") for path, content in upload.forms.items()},
        )
    )
    session.flush()
    return staged_id


def staged(session: Session, staged_id: str, actor: str) -> Upload:
    row = session.get(StagedUpload, staged_id) if staged_id else None
    if row is None or row.uploaded_by != actor:
        raise NotFound(code="flow.upload_expired")
    return Upload(row.filename, row.bpmn, {p: t.encode("utf-8") for p, t in (row.forms or {}).items()})


def deploy_staged(session: Session, staged_id: str, actor: str) -> DeployResult:
    upload = staged(session, staged_id, actor)
    report = validate(upload)
    if not report.ok:
        raise DefinitionInvalid(report.problems)
    result = deploy_upload(session, upload.bpmn or b"", upload.bpmn_name or "upload.bpmn", upload.forms, actor)
    session.execute(delete(StagedUpload).where(StagedUpload.id == staged_id))
    return result


def _version(session: Session, key: str, version: int) -> DefinitionVersion:
    row = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == key, DefinitionVersion.version == version)
    )
    if row is None:
        raise NotFound(code="migration.version_not_found", params={"key": key, "version": version})
    return row


def retire_version(session: Session, key: str, version: int, actor: str | None) -> None:
    """Stop starting new matters on a version; matters already running on it carry on."""
    admin_policy.require(session, actor, "flow.retire", key)
    row = _version(session, key, version)
    if row.retired:
        raise PowerlistError(code="flow.already_retired", params={"key": key, "version": version})
    row.retired = True
    session.add(AuditLog(at=clock.now(), actor=actor, action="retire", subject=f"{key} v{version}", detail={}))
    session.flush()
    listing.forget(session, key, actor)  # no version left in service: off the villagers' list


def reinstate_version(session: Session, key: str, version: int, actor: str | None) -> None:
    admin_policy.require(session, actor, "flow.retire", key)
    row = _version(session, key, version)
    if not row.retired:
        raise PowerlistError(code="flow.in_service", params={"key": key, "version": version})
    row.retired = False
    session.add(AuditLog(at=clock.now(), actor=actor, action="reinstate", subject=f"{key} v{version}", detail={}))


def may_retire(session: Session, key: str, actor: str | None) -> bool:
    """Whether ``actor`` may retire and reinstate versions of ``key``."""
    return admin_policy.may(session, actor, "flow.retire", key)


def counties_of(session: Session, key: str) -> list[str]:
    """Names of the counties flow ``key`` is published to."""
    return scope.publications(session, "name").get(key, [])


def items(session: Session, actor: str | None) -> list[dict[str, Any]]:
    """The power items published to the actor's counties (the operator's: every item), each with its
    versions in service, retired, running matters and the counties it is published to."""
    admin_policy.require(session, actor, "flow.list")
    counties = scope.publications(session, "name")
    visible: set[str] | None = None
    if actor is not None:
        visible = scope.keys_in(session, admin_policy.administered(session, admin_policy.holdings_of(session, actor)))
    running = dict(
        session.execute(
            select(DefinitionVersion.key, func.count())
            .join(Matter, Matter.definition_version_id == DefinitionVersion.id)
            .where(Matter.status == MatterStatus.RUNNING)
            .group_by(DefinitionVersion.key)
        ).all()
    )
    found: dict[str, dict[str, Any]] = {}
    for row in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.key, DefinitionVersion.version)):
        if visible is not None and row.key not in visible:
            continue
        item = found.setdefault(
            row.key,
            {
                "key": row.key,
                "versions": 0,
                "in_service": None,
                "running": running.get(row.key, 0),
                "counties": counties.get(row.key, []),
            },
        )
        item["versions"] += 1
        item["name"] = row.name
        item["number"] = (row.meta or {}).get("number")
        item["category_name"] = CATEGORY_NAMES.get((row.meta or {}).get("category") or "", "")
        if not row.retired:
            item["in_service"] = row.version
    return sorted(found.values(), key=lambda i: (i["number"] or "~", i["key"]))


def versions(session: Session, key: str, actor: str | None) -> list[dict[str, Any]]:
    """The versions of one item, newest first, each with its running matters and its changes."""
    admin_policy.require(session, actor, "flow.read", key)
    rows = list(
        session.scalars(
            select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version)
        )
    )
    if not rows:
        raise NotFound(code="flow.not_found", params={"key": key})
    counts = {
        (version_id, status): number
        for version_id, status, number in session.execute(
            select(Matter.definition_version_id, Matter.status, func.count())
            .where(Matter.definition_version_id.in_([r.id for r in rows]))
            .group_by(Matter.definition_version_id, Matter.status)
        )
    }
    in_service = max((r.version for r in rows if not r.retired), default=None)
    result = []
    previous: DefinitionVersion | None = None
    for row in rows:
        result.append(
            {
                "key": row.key,
                "version": row.version,
                "name": row.name,
                "deployed_at": row.deployed_at,
                "deployed_by": row.deployed_by,
                "retired": row.retired,
                "in_service": row.version == in_service,
                "usage": _usage(row, in_service, counts),
                "category_name": CATEGORY_NAMES.get((row.meta or {}).get("category") or "", ""),
                "number": (row.meta or {}).get("number"),
                "running": counts.get((row.id, MatterStatus.RUNNING), 0),
                "finished": sum(counts.get((row.id, s), 0) for s in MatterStatus if s != MatterStatus.RUNNING),
                "steps": [{**s, "role_name": role_name(s.get("role", ""))} for s in (row.meta or {}).get("steps", [])],
                "changes": step_diff(previous, row) if previous is not None else None,
            }
        )
        previous = row
    older_running = 0
    for entry in result:  # oldest first: what a migration to this version could move
        entry["older_running"] = older_running
        older_running += entry["running"]
    result.reverse()
    return result


def _usage(row: DefinitionVersion, in_service: int | None, counts: dict[tuple[int, str], int]) -> str:
    """What a version is used for: ``in_service`` (new matters start on it), ``retired``, ``superseded``
    (a newer version is in service, matters started on it before carry on), or ``unused`` (superseded
    without any matter ever started on it). A version with matters is never ``unused``."""
    if row.version == in_service:
        return "in_service"
    if row.retired:
        return "retired"
    if any(counts.get((row.id, status), 0) for status in MatterStatus):
        return "superseded"
    return "unused"


def matters_of(session: Session, key: str, instance_ids: list[int], actor: str | None) -> dict[int, dict[str, Any]]:
    """The village name and the open steps' names of some matters of flow ``key`` (a migration report's
    rows); matters of other flows are left out."""
    admin_policy.require(session, actor, "flow.read", key)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(instance_ids), 500):
        chunk = instance_ids[start : start + 500]
        rows = session.execute(
            select(Matter.id, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == Matter.village_id)
            .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(Matter.id.in_(chunk), DefinitionVersion.key == key)
        )
        for instance_id, village_name in rows:
            found[instance_id] = {"village_name": village_name, "steps": []}
        steps = session.execute(
            select(OpenTask.instance_id, OpenTask.step_name)
            .where(OpenTask.instance_id.in_([i for i in chunk if i in found]))
            .order_by(OpenTask.instance_id, OpenTask.opened_at, OpenTask.step_name)
        )
        for instance_id, step_name in steps:
            if step_name not in found[instance_id]["steps"]:
                found[instance_id]["steps"].append(step_name)
    return found


# What of a step is compared between versions; a changed form file of the same name is "form_content".
STEP_FIELDS = ("name", "role", "form", "time_limit", "calendar", "legal_basis", "documentation")


def step_diff(old: DefinitionVersion, new: DefinitionVersion) -> dict[str, Any]:
    """Steps added, removed and changed from ``old`` to ``new`` (forms compared by content)."""
    before = {s["id"]: s for s in (old.meta or {}).get("steps", [])}
    after = {s["id"]: s for s in (new.meta or {}).get("steps", [])}
    old_forms, new_forms = old.forms or {}, new.forms or {}
    changed = []
    for step_id in [s for s in after if s in before]:
        a, b = before[step_id], after[step_id]
        fields = [name for name in STEP_FIELDS if a.get(name) != b.get(name)]
        form = b.get("form")
        if form and form == a.get("form") and old_forms.get(form) != new_forms.get(form):
            fields.append("form_content")
        if fields:
            changed.append({"id": step_id, "name": b.get("name"), "fields": fields})
    return {
        "added": [{"id": i, "name": s.get("name")} for i, s in after.items() if i not in before],
        "removed": [{"id": i, "name": s.get("name")} for i, s in before.items() if i not in after],
        "changed": changed,
    }


def bpmn_of(session: Session, key: str, version: int, actor: str | None) -> str:
    admin_policy.require(session, actor, "flow.read", key)
    return _version(session, key, version).bpmn_xml


def problem_rows(problems: list[Problem], language: str = "zh") -> list[dict[str, Any]]:
    """The problems of a validation report for a page: each worded in ``language`` (the technical detail,
    in English, kept beside it) with the section of the conventions guide that explains it."""
    return [
        {
            "code": p.code,
            "summary": summary(p.code, language),
            "guide": guide_anchor(p.code),
            "message": p.message,
            "element_id": p.element_id,
            "element_name": p.element_name,
            "line": p.line,
            "file": p.file,
        }
        for p in problems
    ]


def bundle(session: Session, key: str, version: int, actor: str | None) -> tuple[str, bytes]:
    """A ZIP of one deployed version as it was uploaded: ``<key>.bpmn`` and its forms at the paths its
    tasks name (``forms/propose.json``), ready to edit and upload again. Returns (file name, bytes)."""
    admin_policy.require(session, actor, "flow.read", key)
    row = _version(session, key, version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{key}/{key}.bpmn", row.bpmn_xml.encode("utf-8"))
        for path, schema in sorted((row.forms or {}).items()):
            text = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
            archive.writestr(f"{key}/{path}", text.encode("utf-8"))
    return f"{key}-v{version}.zip", buffer.getvalue()


def wall_chart(session: Session, key: str, version: int, actor: str | None, paper: str = "A4") -> bytes:
    """The printable wall chart (照图办事) of one deployed version as a PDF."""
    admin_policy.require(session, actor, "flow.read", key)
    row = _version(session, key, version)
    content = row.bpmn_xml.encode("utf-8")
    forms = {name: json.dumps(schema).encode("utf-8") for name, schema in (row.forms or {}).items()}
    report = validate_bpmn(content, f"{key} v{version}", forms)
    if not report.ok or report.definition is None:
        raise DefinitionInvalid(report.problems)
    return flowchart.render(report.definition, flow_graph(content, f"{key} v{version}"), "pdf", paper)


def staged_changes(session: Session, report: ValidationReport, actor: str | None) -> dict[str, Any] | None:
    """What an upload changes against the version in service of its item (None: a new item): its steps
    added, removed and changed, and the item's own name, category and number."""
    d = report.definition
    if d is None:
        return None
    admin_policy.require(session, actor, "flow.list")
    current = session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.key == d.key, DefinitionVersion.retired.is_(False))
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )
    if current is None:
        return None
    proposed = DefinitionVersion(
        key=d.key,
        meta={"steps": [dataclasses.asdict(step) for step in d.steps]},
        forms=d.forms,
    )
    item = []
    meta = current.meta or {}
    for name, old, new in (
        ("name", current.name, d.name),
        ("category", meta.get("category") or "", d.category or ""),
        ("number", meta.get("number") or "", d.number or ""),
    ):
        if old != new:
            item.append({"field": name, "old": old, "new": new})
    return {"version": current.version, "item": item, "steps": step_diff(current, proposed)}


def listing_of(session: Session, key: str, actor: str | None) -> listing.Listing | None:
    admin_policy.require(session, actor, "flow.read", key)
    return listing.listing_of(session, key)
