"""What each validation problem code means, for administrators, and which part of the conventions
guide (docs/bpmn-conventions*.md, served at /admin/conventions) explains it. The element, line and
the technical detail stay in the problem itself; the meaning in Chinese and English is data:
``problems`` of ``engine/texts/<language>/definitions.yaml``."""

from __future__ import annotations

from engine.texts import texts

# code -> anchor in the conventions guide, or None
GUIDE_ANCHORS: dict[str, str | None] = {
    "too-large": None,
    "unreadable": None,
    "not-bpmn": None,
    "xml-syntax": None,
    "xml-doctype": None,
    "xsd": None,
    "not-executable": "process",
    "several-processes": "process",
    "duplicate-id": None,
    "no-start-event": "start-event",
    "no-end-event": None,
    "dangling-flow": None,
    "dangling-ref": None,
    "unreachable": None,
    "multiple-outgoing": "expressions",
    "gateway-condition": "expressions",
    "bad-expression": "expressions",
    "bad-script": "expressions",
    "script-not-allowed": "expressions",
    "bad-timer": "expressions",
    "no-role": "roles",
    "unknown-role": "roles",
    "bad-time-limit": "user-tasks",
    "bad-calendar": "user-tasks",
    "bad-category": "process",
    "unknown-attribute": "user-tasks",
    "unsupported-element": "untriggerable",
    "form-path": "forms",
    "form-missing": "forms",
    "form-invalid": "forms",
    "engine-parse": None,
    "internal-error": None,
    "form-overwrites-variable": "forms",
    "bad-operations": "user-tasks",
    "role-cannot-act": "roles",
    "untriggerable": "untriggerable",
    "idle-element": "untriggerable",
    "too-many-files": None,
    "no-bpmn": None,
    "several-bpmn": None,
    "bad-zip": None,
}

# Each code's Chinese wording.
PROBLEM_SUMMARIES: dict[str, str] = texts("definitions.problems")


def summary(code: str, language: str = "zh") -> str | None:
    """The problem's meaning in ``language`` (zh or en); None for an unknown code."""
    if code not in GUIDE_ANCHORS:
        return None
    return texts("definitions.problems", language).get(code)


def guide_anchor(code: str) -> str | None:
    """The section of the conventions guide that explains the problem, when one does."""
    return GUIDE_ANCHORS.get(code)
