"""A SpiffWorkflow script engine that runs the safe expression language instead of eval/exec.

SpiffWorkflow calls ``script_engine.evaluate`` for gateway conditions, timer values, loop and
multi-instance expressions and conditional events, ``script_engine.execute`` for script tasks,
and ``script_engine.environment.evaluate`` directly for ad hoc completion conditions and message
correlations; all of them end up in :func:`compile_expression` / :func:`compile_script`.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from engine.expressions.compiler import compile_expression
from engine.expressions.errors import ExpressionError
from engine.expressions.script import compile_script
from engine.expressions.timer_values import is_iso8601_timer


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions over task data (which wins over ``external_context``)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__({})
        self.functions = dict(functions or {})

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context=None) -> Any:
        if isinstance(expression, str) and is_iso8601_timer(expression):
            # Timer values may be written bare (P3D) as well as quoted ("P3D").
            return expression.strip()
        names = ChainMap(context, external_context) if external_context else context
        return compile_expression(expression).evaluate(names, self.functions)

    def execute(self, script: str, context: dict[str, Any], external_context=None) -> bool:
        compile_script(script).run(context, self.functions, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionError("service tasks are not supported")


class SafeScriptEngine(PythonScriptEngine):
    """Drop-in for SpiffWorkflow's PythonScriptEngine: ``BpmnWorkflow(spec, script_engine=...)``."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__(environment=SafeEnvironment(functions))

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task, expression: str, external_context=None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ExpressionError as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc}",
                task=task,
                exception=exc,
                offset=exc.offset,
            ) from exc

    def execute(self, task, script: str, external_context=None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context)
        except ExpressionError as exc:
            lines = (script or "").strip().splitlines()
            error_line = lines[exc.line - 1].strip() if exc.line and exc.line <= len(lines) else None
            raise WorkflowTaskException(
                str(exc),
                task=task,
                exception=exc,
                line_number=exc.line,
                offset=exc.offset,
                error_line=error_line,
            ) from exc

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("service tasks are not supported", task=task)
