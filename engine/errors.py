"""Errors the engine raises, worded for the person who caused them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.texts import error_text


class PowerlistError(Exception):
    """Base of every error the engine reports to a user; ``str()`` is the message to show.

    ``code`` is stable (adapters and clients branch on it, the message catalogue words it);
    ``params`` fill the catalogue's wording; ``field`` names the input at fault, when there is one.
    Raised without a message, the error reads as its code's Chinese wording in ``engine/texts``.
    """

    exit_code = 1
    default_code = "error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        params: dict[str, object] | None = None,
        field: str | None = None,
    ):
        code = code or self.default_code
        if not message:
            message = error_text(code, params) or code
        super().__init__(message)
        self.code = code
        self.params = dict(params or {})
        self.field = field


class NotFound(PowerlistError):
    default_code = "not_found"


class PermissionDenied(PowerlistError):
    default_code = "permission_denied"


class InvalidState(PowerlistError):
    """The thing exists but is not in a state that allows the action (e.g. a task no longer open)."""

    default_code = "invalid_state"


class Conflict(PowerlistError):
    """Someone else changed the same matter first; nothing was written."""

    default_code = "conflict"


@dataclass
class FieldError:
    field: str
    message: str
    code: str | None = None

    @classmethod
    def coded(cls, field: str, code: str, **params: Any) -> FieldError:
        """A field's error worded by the catalogue (``engine/texts``) from its code and params."""
        return cls(field, error_text(code, params) or code, code)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class FormInvalid(PowerlistError):
    """Form data failed the step's schema or checks; ``errors`` names each field."""

    def __init__(self, step: str, errors: list[FieldError]):
        self.step = step
        self.errors = errors
        lines = "; ".join(str(e) for e in errors)
        first = errors[0].field if errors else None
        super().__init__(
            error_text("form.invalid_fields", {"step": step, "errors": lines}) or lines,
            code="form.invalid",
            params={"step": step},
            field=first or None,
        )


@dataclass
class Problem:
    """One problem found in an uploaded BPMN file or form."""

    code: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        """One line: file:line element (name): [code] message."""
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        if self.element_id:
            label = self.element_id + (f" ({self.element_name})" if self.element_name else "")
            where.append(label)
        prefix = " ".join(where)
        text = f"{prefix}: [{self.code}] {self.message}" if prefix else f"[{self.code}] {self.message}"
        return " ".join(text.split())


@dataclass
class DefinitionInvalid(PowerlistError):
    problems: list[Problem] = field(default_factory=list)
    exit_code = 2
    code = "definition.invalid"
    params = {}  # noqa: RUF012
    field = None

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
