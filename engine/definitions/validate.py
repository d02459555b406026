"""Validate an uploaded BPMN file and its forms: every problem at once, or a ParsedDefinition.

Nothing in the upload is executed while validating; see :mod:`engine.definitions.safe_xml` for
the XML side and :mod:`engine.expressions` for expressions.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from engine.definitions import ownership
from engine.definitions.checks import CHECKS, Check
from engine.definitions.descriptions import ValidationReport
from engine.definitions.document import BpmnDocument
from engine.definitions.forms import FormLoader, folder_loader, load_forms, mapping_loader
from engine.definitions.parse import build_definition
from engine.definitions.safe_xml import MAX_BPMN_BYTES, parse_xml, xsd_problems
from engine.definitions.triggers import check_triggers
from engine.errors import Problem

MAX_PROBLEMS_PER_CODE = 200


def validate_bpmn(
    content: bytes, filename: str = "upload.bpmn", forms: Mapping[str, bytes] | None = None
) -> ValidationReport:
    """Check ``content``; ``forms`` maps pl:form paths (relative to the BPMN file) to their bytes.

    Never raises: whatever goes wrong becomes a problem in the report.
    """
    try:
        loader = mapping_loader(forms)
    except Exception as exc:
        return ValidationReport(filename, [_internal(filename, exc)])
    return _validate(content, filename, loader)


def load_definition_file(path: str | os.PathLike[str]) -> ValidationReport:
    """Validate a .bpmn file on disk, with the forms its pl:form attributes name beside it."""
    path = Path(path)
    filename = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BPMN_BYTES:
            message = f"file too large ({size} bytes; at most {MAX_BPMN_BYTES} bytes)"
            return ValidationReport(filename, [Problem("too-large", message, file=filename)])
        content = path.read_bytes()
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        return ValidationReport(filename, [Problem("unreadable", message, file=filename)])
    return _validate(content, filename, folder_loader(path.parent))


def _validate(content: bytes, filename: str, loader: FormLoader) -> ValidationReport:
    report = ValidationReport(filename)
    try:
        root, problems = parse_xml(content, filename)
        report.problems.extend(problems)
        if root is None:
            return report
        doc = BpmnDocument(root, filename)
        duplicates = frozenset(i for i, elements in doc.by_id.items() if len(elements) > 1)
        report.problems.extend(_guarded(filename, "XSD", lambda: xsd_problems(root, filename, duplicates)))
        for check in CHECKS:
            report.problems.extend(_run_check(check, doc))
        refusals, warnings = _triggers(doc)
        report.problems.extend(refusals)
        report.warnings.extend(warnings)
        schemas, form_problems = load_forms(doc, loader)
        report.problems.extend(form_problems)
        report.problems.extend(_guarded(filename, "roles", lambda: ownership.check_step_roles(doc)))
        report.problems.extend(_guarded(filename, "fields", lambda: ownership.check_form_fields(doc, schemas)))
        if not report.problems:
            report.definition, problems = build_definition(doc, schemas)
            report.problems.extend(problems)
    except Exception as exc:
        report.problems.append(_internal(filename, exc))
    report.problems = _capped(report.problems)
    if report.problems:
        report.definition = None
    return report


def _triggers(doc: BpmnDocument) -> tuple[list[Problem], list[Problem]]:
    try:
        return check_triggers(doc)
    except Exception as exc:
        return [_internal(doc.filename, exc, "triggers")], []


def _run_check(check: Check, doc: BpmnDocument) -> list[Problem]:
    return _guarded(doc.filename, check.__name__, lambda: list(check(doc)))


def _guarded(filename: str, what: str, run) -> list[Problem]:
    """Run one check; a crash in it becomes a problem and does not hide the other checks."""
    try:
        return list(run())
    except Exception as exc:
        return [_internal(filename, exc, what)]


def _internal(filename: str, exc: Exception, what: str | None = None) -> Problem:
    during = f" ({what})" if what else ""
    return Problem("internal-error", f"could not validate{during}: {type(exc).__name__}: {exc}", file=filename)


def _capped(problems: Iterable[Problem]) -> list[Problem]:
    """At most MAX_PROBLEMS_PER_CODE problems of each code, then one line saying how many more."""
    kept: list[Problem] = []
    counts: Counter[str] = Counter()
    for problem in problems:
        counts[problem.code] += 1
        if counts[problem.code] <= MAX_PROBLEMS_PER_CODE:
            kept.append(problem)
    for code, count in counts.items():
        if count > MAX_PROBLEMS_PER_CODE:
            rest = count - MAX_PROBLEMS_PER_CODE
            kept.append(Problem(code, f"… and {rest} more problems of this kind", file=kept[0].file))
    return kept
