"""The OpenAPI 3 description of /api/v1, written as data."""

from __future__ import annotations

from typing import Any

from engine.persistence.enums import MatterStatus
from engine.supervision.models import Severity

BEARER = [{"bearer": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _answer(description: str, schema: dict[str, Any] | None = None, media: str = "application/json") -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {media: {"schema": schema}}
    return answer


ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "409": {"$ref": "#/components/responses/Conflict"},
}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list | None = None,
    status: str = "200",
    tag: str = "cadre",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "security": BEARER,
        "responses": {status: ok, **ERRORS},
    }
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    return operation


def _path(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


TASK_ID = _path("task_id", {"type": "string", "format": "uuid"}, "id of an open step")
INSTANCE_ID = _path("instance_id", {"type": "integer"}, "matter id")
APPROVAL_ID = _path("approval_id", {"type": "integer"}, "added approval id")
KEY = _path("key", {"type": "string"}, "power item key")
VERSION = _path("version", {"type": "integer"}, "version number")
VILLAGE = _path("village", {"type": "string", "pattern": "^[A-Z0-9]{2,16}$"}, "village code")
SHA256 = _path("sha256", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "attachment SHA-256")
REASON = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 4}}}
OUTCOME = _answer("what the operation did", _ref("Outcome"))


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "powerlist API",
            "version": "1",
            "description": (
                "Village micro-power lists (村级小微权力清单) run as BPMN flows. Authenticate with "
                "'Authorization: Bearer <token>' (created by an administrator or 'powerlist token create'). "
                'Errors answer {"error": {"code", "message", "field", "fields"?, "problems"?}}: a stable code '
                "(e.g. form.invalid, task.not_holder, matter.start_denied), the message in the language of "
                "Accept-Language or the session, and the input at fault; with 400 (invalid input), 401, 403, "
                "404 (missing, or not visible to you) or 409 (the matter changed). A step or a start takes "
                "only the fields its form declares; files are referred to by upload id, never described."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": COMPONENTS,
    }


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "summary": "this document",
            "tags": ["meta"],
            "security": [],
            "responses": {"200": _answer("OpenAPI 3 document", {"type": "object"})},
        }
    },
    "/me": {"get": _op("who the token acts as, and their roles", _answer("the user", {"type": "object"}))},
    "/items": {
        "get": _op(
            "the power list grouped by category (五小一跑)",
            _answer("groups of items", {"type": "array", "items": {"type": "object"}}),
            params=[{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
        )
    },
    "/tasks": {
        "get": _op("open steps you may do, overdue first", _answer("steps", {"type": "array", "items": _ref("Task")}))
    },
    "/tasks/{task_id}": {
        "get": _op(
            "one open step with its form (JSON Schema) and the matter's summary",
            _answer(
                "the step",
                {"type": "object", "properties": {"form": {"type": "object"}, "summary": _ref("MatterSummary")}},
            ),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/complete": {
        "post": _op(
            "同意/提交: complete the step",
            OUTCOME,
            body=_json_body(_ref("Completion")),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/check": {
        "post": _op(
            "check form data against the step's schema and legal checks without submitting",
            _answer("field errors and checks", {"type": "object"}),
            body=_json_body({"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/reject": {
        "post": _op("驳回: refuse; the matter ends", OUTCOME, body=_json_body(REASON), params=[TASK_ID])
    },
    "/tasks/{task_id}/return": {
        "post": _op(
            "退回: send the matter back to an earlier step",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["step", "reason"],
                    "properties": {"step": {"type": "string"}, "reason": {"type": "string"}},
                }
            ),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/transfer": {
        "post": _op(
            "转办: hand the step to another holder of the same role",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["to", "reason"],
                    "properties": {"to": {"type": "string"}, "reason": {"type": "string"}},
                }
            ),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/remind": {
        "post": _op(
            "催办: remind the holders of the step",
            OUTCOME,
            body=_json_body({"type": "object", "properties": {"note": {"type": "string"}}}),
            params=[TASK_ID],
        )
    },
    "/tasks/{task_id}/approvers": {
        "post": _op(
            "加签: ask another person to approve before the step is done, or after it is submitted",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["approver", "position", "reason"],
                    "properties": {
                        "approver": {"type": "string"},
                        "position": {"type": "string", "enum": ["before", "after"]},
                        "reason": {"type": "string"},
                    },
                }
            ),
            params=[TASK_ID],
        )
    },
    "/approvals": {
        "get": _op(
            "added approvals waiting for you", _answer("approvals", {"type": "array", "items": {"type": "object"}})
        )
    },
    "/approvals/{approval_id}/decide": {
        "post": _op(
            "agree or not to an added approval",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["agree"],
                    "properties": {"agree": {"type": "boolean"}, "comment": {"type": "string"}},
                }
            ),
            params=[APPROVAL_ID],
        )
    },
    "/matters": {
        "get": _op("matters you started", _answer("matters", {"type": "array", "items": {"type": "object"}})),
        "post": _op(
            "start a matter of a power item in a village",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["key", "village", "title"],
                    "properties": {
                        "key": {"type": "string"},
                        "village": {"type": "string"},
                        "title": {"type": "string"},
                        "data": {"type": "object"},
                        "idempotency_key": {"type": "string"},
                    },
                }
            ),
            status="201",
        ),
    },
    "/villages/{village}/decisions": {
        "get": _op(
            "the village's decision register: each decision with what was contracted, paid and settled",
            _answer("decisions, newest first", {"type": "array", "items": {"type": "object"}}),
            params=[VILLAGE],
        )
    },
    "/matters/{instance_id}": {
        "get": _op(
            "a matter: steps in progress, timeline, attachments",
            _answer("the matter", {"type": "object"}),
            params=[INSTANCE_ID],
        )
    },
    "/matters/{instance_id}/history": {
        "get": _op(
            "the matter's hash-chained history events",
            _answer("events", {"type": "array", "items": {"type": "object"}}),
            params=[INSTANCE_ID],
        )
    },
    "/matters/{instance_id}/diagram.svg": {
        "get": _op(
            "the flow diagram with the matter's states as CSS classes (done, current, overdue, skipped)",
            _answer("SVG", {"type": "string"}, "image/svg+xml"),
            params=[INSTANCE_ID],
        )
    },
    "/matters/{instance_id}/withdraw": {
        "post": _op(
            "撤回: take back your latest step before the next acts, or cancel a matter nobody acted on",
            OUTCOME,
            body=_json_body(REASON),
            params=[INSTANCE_ID],
        )
    },
    "/matters/{instance_id}/copy": {
        "post": _op(
            "抄送: copy the matter to users who may see it",
            OUTCOME,
            body=_json_body(
                {
                    "type": "object",
                    "required": ["to"],
                    "properties": {"to": {"type": "array", "items": {"type": "string"}}, "note": {"type": "string"}},
                }
            ),
            params=[INSTANCE_ID],
        )
    },
    "/matters/{instance_id}/attachments/{sha256}": {
        "get": _op(
            "download an attachment of the matter",
            _answer("the file", {"type": "string", "format": "binary"}, "application/octet-stream"),
            params=[INSTANCE_ID, SHA256],
        )
    },
    "/attachments": {
        "post": _op(
            "upload files (photos, PDF, Word/Excel); use the returned ids in a completion",
            _answer("stored uploads", {"type": "array", "items": _ref("Upload")}),
            body={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                        }
                    }
                },
            },
            status="201",
        )
    },
    "/definitions": {
        "get": _op(
            "power items and their versions (administrators)",
            _answer("items", {"type": "array", "items": {"type": "object"}}),
            tag="admin",
        ),
        "post": _op(
            "validate an uploaded flow (BPMN and forms, or a zip); deploy it with deploy=true (administrators)",
            _answer("preview, and the deployed version", {"type": "object"}),
            body={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                "deploy": {"type": "string", "enum": ["true", "false"]},
                            },
                        }
                    }
                },
            },
            tag="admin",
        ),
    },
    "/definitions/{key}": {
        "get": _op(
            "versions of one item with running matters and step changes",
            _answer("versions", {"type": "array", "items": {"type": "object"}}),
            params=[KEY],
            tag="admin",
        )
    },
    "/definitions/{key}/versions/{version}/retire": {
        "post": _op(
            "stop starting new matters on a version",
            _answer("retired", {"type": "object"}),
            params=[KEY, VERSION],
            tag="admin",
        )
    },
}

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
        "Outcome": {
            "type": "object",
            "properties": {
                "instance": {"type": "integer"},
                "status": {"type": "string", "enum": [s.value for s in MatterStatus]},
                "operation": {"type": "string"},
                "opened": {"type": "array", "items": {"type": "object"}},
                "parked": {"type": "boolean"},
                "repeated": {"type": "boolean"},
            },
        },
        "Task": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "instance": {"type": "integer"},
                "title": {"type": "string"},
                "step": {"type": "string"},
                "step_name": {"type": "string"},
                "due_at": {"type": "string", "nullable": True},
                "urgency": {"type": "string", "enum": ["ok", "soon", "overdue"]},
            },
        },
        "MatterSummary": {
            "type": "object",
            "description": (
                "the matter at a glance, from its history: start data, amounts (fen and yuan), parties, "
                "attachments, earlier opinions with who and when, and why the step came back (退回) or was "
                "handed over (转办); people as {username, display_name, office, label}"
            ),
            "properties": {
                "instance": {"type": "integer"},
                "title": {"type": "string"},
                "start": {"type": "array", "items": _ref("Fact")},
                "amounts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "label": {"type": "string"},
                            "fen": {"type": "integer"},
                            "yuan": {"type": "string"},
                            "step_name": {"type": "string"},
                        },
                    },
                },
                "parties": {"type": "array", "items": _ref("Fact")},
                "subject": {"type": "array", "items": _ref("Fact")},
                "attachments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "sha256": {"type": "string"},
                            "filename": {"type": "string"},
                            "content_type": {"type": "string"},
                            "kind": {"type": "string", "enum": ["image", "pdf", "file"]},
                            "step_name": {"type": "string"},
                        },
                    },
                },
                "opinions": {"type": "array", "items": {"type": "object"}},
                "reason": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "kind": {"type": "string", "enum": ["returned", "transferred"]},
                        "text": {"type": "string"},
                        "at": {"type": "string"},
                        "by": {"type": "object", "nullable": True},
                        "from_step_name": {"type": "string", "nullable": True},
                    },
                },
            },
        },
        "Fact": {"type": "object", "properties": {"label": {"type": "string"}, "text": {"type": "string"}}},
        "Completion": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {"type": "object", "description": "form data; money fields in integer fen"},
                "attachments": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "integer"}},
                    "description": "upload ids per attachment name of the form",
                },
                "waive_reason": {"type": "string", "description": "record failed legal checks with this reason"},
                "idempotency_key": {"type": "string", "description": "a retry with the same key does not act twice"},
            },
        },
        "Upload": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "sha256": {"type": "string"},
                "filename": {"type": "string"},
                "size": {"type": "integer"},
                "type": {"type": "string"},
            },
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string", "nullable": True},
                        "fields": {"type": "array", "items": {"type": "object"}},
                        "problems": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
        },
    },
    "responses": {
        name: {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}
        for name, description in (
            ("BadRequest", "invalid input; the message names the field"),
            ("Unauthorized", "no valid bearer token"),
            ("Forbidden", "not allowed"),
            ("NotFound", "not found, or not visible to you"),
            ("Conflict", "the matter changed: the step is already done, or someone else changed it just now"),
        )
    },
}


# --- supervision: the worklist of warnings and complaints, one warning and its handling, search ------

VIOLATION_ID = _path("violation_id", {"type": "integer", "minimum": 1}, "violation (warning) id")
VIOLATION_ACTION = _path(
    "action",
    {"type": "string", "enum": ["ack", "assign", "rectify", "accept", "reject", "escalate", "dismiss", "close"]},
    "handling action",
)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


WORKLIST_FILTERS = [
    _query("village", {"type": "string", "maxLength": 100}, "village code"),
    _query("flow", {"type": "string", "maxLength": 100}, "power item key of the matter"),
    _query("kind", {"type": "string", "maxLength": 100}, "violation code, or complaint"),
    _query("colour", {"type": "string", "enum": [s.value for s in Severity]}, "colour"),
    _query(
        "state",
        {"type": "string", "enum": ["open", "acknowledged", "escalated", "rectified", "closed"]},
        "state (default: all but closed)",
    ),
    _query("period", {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}|Q[1-4])?$"}, "2026-11, 2026Q4 or 2026"),
    _query("page", {"type": "integer", "minimum": 1}, "page of each list"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "items per page"),
]
PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "pages": {"type": "integer"},
    },
}
PATHS.update(
    {
        "/violations": {
            "get": _op(
                "the supervisor's worklist: warnings and complaints to handle now, and the others in scope, "
                "most severe first, then newest (auditors: read only)",
                _answer(
                    "the worklist",
                    {
                        "type": "object",
                        "properties": {"now": PAGE, "others": PAGE, "may_act": {"type": "boolean"}},
                    },
                ),
                params=WORKLIST_FILTERS,
                tag="supervision",
            )
        },
        "/violations/{violation_id}": {
            "get": _op(
                "one warning: its facts, its whole history and the actions you may take now",
                _answer("the warning", {"type": "object"}),
                params=[VIOLATION_ID],
                tag="supervision",
            )
        },
        "/violations/{violation_id}/{action}": {
            "post": _op(
                "handle a warning: ack, assign (owner_role, owner_user?, deadline YYYY-MM-DD), rectify, "
                "accept or reject a reported rectification, escalate, dismiss, close; note required but for assign",
                _answer("what the action did", {"type": "object"}),
                body=_json_body(
                    {
                        "type": "object",
                        "properties": {
                            "note": {"type": "string", "maxLength": 2000},
                            "owner_role": {"type": "string", "maxLength": 64},
                            "owner_user": {"type": "string", "maxLength": 64},
                            "deadline": {"type": "string", "format": "date"},
                        },
                        "additionalProperties": False,
                    }
                ),
                params=[VIOLATION_ID, VIOLATION_ACTION],
                tag="supervision",
            )
        },
        "/search": {
            "get": _op(
                "search the matters in your scope by title, receipt code, person or decision number",
                _answer("matching matters, newest first (at most 50)", {"type": "object"}),
                params=[
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 2, "maxLength": 100},
                    }
                ],
                tag="supervision",
            )
        },
    }
)


# --- documents (预警通知书, 整改通知书, 三色督查令) and talks (约谈, 提醒谈话) ---------------------------

DOCUMENT_ID = _path("document_id", {"type": "integer", "minimum": 1}, "document id")
_DOC_QUERY = [
    {"name": "violation", "in": "query", "required": False, "schema": {"type": "integer"}, "description": "of it"},
    {
        "name": "village",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "maxLength": 16},
        "description": "in this village, town or county",
    },
]
_DOCUMENT = {"type": "object", "description": "number, title, village, issuer, dates, receipt, content as issued"}
_DAY = {"type": "string", "description": "a day, YYYY-MM-DD (China time)"}
PATHS.update(
    {
        "/documents": {
            "get": _op(
                "the documents you may read, newest first",
                _answer("documents", {"type": "array", "items": _DOCUMENT}),
                params=_DOC_QUERY,
                tag="supervise",
            ),
            "post": _op(
                "issue a 预警通知书 (warning), 整改通知书 (rectification) or 三色督查令 (order) for a violation, or "
                "a warning or rectification notice for a village's grade in a quarter; with preview: true, its "
                "text without issuing it (200). Who may issue which kind is rule data (notices.yaml); a refusal "
                "answers 403 notice.issue_denied",
                _answer("the document as issued", _DOCUMENT),
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["kind"],
                        "additionalProperties": False,
                        "properties": {
                            "kind": {"type": "string", "enum": ["warning", "rectification", "order"]},
                            "violation": {"type": "integer", "description": "the violation it is issued for"},
                            "village": {"type": "string", "description": "or: the village graded C or D …"},
                            "period": {"type": "string", "description": "… in this quarter, e.g. 2026Q4"},
                            "facts": {"type": "string", "maxLength": 2000, "description": "the issuer's findings"},
                            "rectify_by": _DAY,
                            "preview": {"type": "boolean"},
                        },
                    }
                ),
                status="201",
                tag="supervise",
            ),
        },
        "/documents/{document_id}": {
            "get": _op("one document", _answer("the document", _DOCUMENT), params=[DOCUMENT_ID], tag="supervise")
        },
        "/documents/{document_id}/pdf": {
            "get": _op(
                "the document as an A4 PDF with its QR code",
                _answer("PDF", {"type": "string", "format": "binary"}, "application/pdf"),
                params=[DOCUMENT_ID],
                tag="supervise",
            )
        },
        "/documents/{document_id}/receipt": {
            "post": _op(
                "record that the document was received (签收): who signed for it and on which day",
                _answer("the document", _DOCUMENT),
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["received_by"],
                        "additionalProperties": False,
                        "properties": {
                            "received_by": {"type": "string", "maxLength": 100},
                            "received_on": _DAY,
                            "note": {"type": "string", "maxLength": 500},
                        },
                    }
                ),
                params=[DOCUMENT_ID],
                tag="supervise",
            )
        },
        "/talks": {
            "get": _op(
                "the talks (约谈, 提醒谈话) you may read, newest first",
                _answer("talks", {"type": "array", "items": {"type": "object"}}),
                params=_DOC_QUERY,
                tag="supervise",
            ),
            "post": _op(
                "record a 约谈 (interview) or 提醒谈话 (reminder) about a violation and/or with a village",
                _answer("the talk", {"type": "object"}),
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["kind", "held_on", "place", "present", "subject_name", "summary", "outcome"],
                        "additionalProperties": False,
                        "properties": {
                            "kind": {"type": "string", "enum": ["interview", "reminder"]},
                            "violation": {"type": "integer"},
                            "village": {"type": "string", "maxLength": 16},
                            "held_on": _DAY,
                            "place": {"type": "string", "maxLength": 200},
                            "present": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 30,
                                "items": {
                                    "type": "object",
                                    "required": ["name", "office"],
                                    "properties": {"name": {"type": "string"}, "office": {"type": "string"}},
                                },
                            },
                            "subject_name": {"type": "string", "maxLength": 100},
                            "subject_office": {"type": "string", "maxLength": 100},
                            "summary": {"type": "string", "maxLength": 4000},
                            "outcome": {"type": "string", "maxLength": 4000},
                            "follow_up_on": _DAY,
                        },
                    }
                ),
                status="201",
                tag="supervise",
            ),
        },
    }
)


# --- the supervisors' overview: risk map, grades, the monthly red and black lists (read only) ---------


def _period_param(examples: str) -> dict[str, Any]:
    return _query(
        "period",
        {"type": "string", "maxLength": 16},
        f"China time: {examples} (default: the current one); anything else answers 400, field period",
    )


_UNIT = _query(
    "unit",
    {"type": "string", "maxLength": 16},
    "county, town or village code within your scope (default: your widest unit)",
)


PATHS.update(
    {
        "/overview/risk": {
            "get": _op(
                "risk map: violations by colour and points per village × power item for a period",
                _answer("rows (villages), items, cells, totals and the worst cells", {"type": "object"}),
                params=[
                    _period_param("a month 2026-10, a quarter 2026Q4 or a year 2026"),
                    _UNIT,
                    _query("items", {"type": "string", "enum": ["warned"]}, "warned: only items with a violation"),
                ],
                tag="supervision",
            )
        },
        "/overview/grades": {
            "get": _op(
                "scores and grades per village for a quarter or a year, with the trend of the last periods",
                _answer("villages with score, grade, notice and trend; villages per grade", {"type": "object"}),
                params=[
                    _period_param("a quarter 2026Q4 or a year 2026"),
                    _UNIT,
                    _query("trend", {"type": "integer", "minimum": 1, "maximum": 12}, "periods in the trend (4)"),
                ],
                tag="supervision",
            )
        },
        "/overview/lists": {
            "get": _op(
                "晾晒台: the red and black lists of villages for a month, as the rule set's lists say",
                _answer("red, black and the other villages with score, grade and reasons", {"type": "object"}),
                params=[_period_param("a month 2026-10"), _UNIT],
                tag="supervision",
            )
        },
    }
)

DRAFT = {
    "type": "object",
    "required": ["data", "revision"],
    "properties": {
        "data": {"type": "object", "description": "the form as typed so far (field name -> value)"},
        "revision": {
            "type": "integer",
            "minimum": 0,
            "description": "the typing time in milliseconds: a save older than the kept draft answers 409",
        },
    },
}
DRAFT_ANSWER = _answer(
    "the draft (data, revision, saved_at, attachments already uploaded by slot), or null", {"type": "object"}
)
PATHS.update(
    {
        "/tasks/{task_id}/draft": {
            "get": _op(
                "the caller's unsent draft of the open step's form (not part of the record)",
                DRAFT_ANSWER,
                params=[TASK_ID],
            ),
            "put": _op(
                "keep a draft of the step's form; only for someone who may act on the step; the latest typing wins",
                DRAFT_ANSWER,
                body=_json_body(DRAFT),
                params=[TASK_ID],
            ),
            "post": _op(
                "the same as PUT, for clients that cannot send PUT",
                DRAFT_ANSWER,
                body=_json_body(DRAFT),
                params=[TASK_ID],
            ),
            "delete": _op(
                "discard the caller's draft of the step's form",
                _answer("whether there was one", {"type": "object", "properties": {"discarded": {"type": "boolean"}}}),
                params=[TASK_ID],
            ),
        }
    }
)
