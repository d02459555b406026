"""Named checks of a BPMN document; each yields one problem per offending element.

Only executable processes are checked in depth: descriptive pools beside them never run.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator

from engine.definitions.conventions import CALENDARS, FLOW_FUNCTIONS, OPERATIONS, PL_ATTRIBUTES, bpmn, pl
from engine.definitions.descriptions import CATEGORIES
from engine.definitions.document import (
    CONTAINERS,
    FLOW_NODES,
    BpmnDocument,
    Element,
    describe,
    is_pl_attribute,
    local_name,
    text_of,
)
from engine.errors import Problem
from engine.expressions import (
    ExpressionError,
    compile_expression,
    compile_script,
    duration_parts,
    is_iso8601_cycle,
    is_iso8601_datetime,
    is_iso8601_duration,
    is_iso8601_timer,
)
from engine.org.roles import ROLES

Check = Callable[[BpmnDocument], Iterator[Problem]]

CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
# Flow nodes SpiffWorkflow lets have several outgoing sequence flows.
SPLITTING_NODES = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "startEvent"}
)
ALMOST_ISO_RE = re.compile(r"(?:R\d*/)?PT?\d[\w.,]*")
SCRIPT_FORMATS = frozenset({"", "python", "python3", "text/x-python", "text/python"})
UNSUPPORTED = {
    "businessRuleTask": "business rule tasks (DMN) are not supported",
    "complexGateway": "complex gateways are not supported",
    "serviceTask": "service tasks are not supported: nothing would call the service and the flow would stop",
    "manualTask": "manual tasks are not supported: a step a person does is a userTask with pl:role",
    "linkEventDefinition": "link events are not supported: connect the flow with a sequence flow",
    "compensateEventDefinition": "compensation events are not supported",
    "dataStoreReference": "data stores are not supported",
}
# Extension elements through which other engines attach code (camunda, zeebe, spiffworkflow, …).
SCRIPT_EXTENSIONS = frozenset(
    {"script", "prescript", "postscript", "executionlistener", "tasklistener", "listener", "eventlistener"}
)
OWNER_KINDS = FLOW_NODES | {"sequenceFlow", "process", "lane", "dataStoreReference", "correlationProperty"}
SCRIPT_ATTRIBUTES = frozenset({"class", "expression", "delegateExpression", "script", "resource"})


def check_executable(doc: BpmnDocument) -> Iterator[Problem]:
    if doc.executable:
        return
    if not doc.processes:
        yield doc.problem("not-executable", "descriptive (non-executable) model: the file has no bpmn:process")
        return
    for process in doc.processes:
        yield doc.problem(
            "not-executable",
            f"descriptive (non-executable) model: process '{process.get('id')}' lacks isExecutable=\"true\"; "
            "only executable processes can run",
            process,
        )


def check_single_top_process(doc: BpmnDocument) -> Iterator[Problem]:
    tops = doc.top_processes()
    if len(tops) > 1:
        ids = ", ".join(p.get("id") or "?" for p in tops)
        for process in tops[1:]:
            yield doc.problem(
                "several-processes",
                f"several executable processes that no call activity calls ({ids}); a file holds one flow",
                process,
            )
    elif doc.executable and not tops:
        yield doc.problem("several-processes", "every executable process is called by another one", doc.executable[0])


def check_duplicate_ids(doc: BpmnDocument) -> Iterator[Problem]:
    for element_id, elements in doc.by_id.items():
        if len(elements) > 1:
            lines = ", ".join(str(e.sourceline) for e in elements)
            for element in elements[1:]:
                yield doc.problem(
                    "duplicate-id",
                    f"id '{element_id}' is used {len(elements)} times (lines {lines})",
                    element,
                )


def check_start_and_end(doc: BpmnDocument) -> Iterator[Problem]:
    for container in [*doc.executable, *doc.find("subProcess", "transaction")]:
        starts = doc.children(container, "startEvent")
        ends = doc.children(container, "endEvent")
        if not starts:
            yield doc.problem("no-start-event", f"{describe(container)} has no start event", container)
        elif local_name(container) != "process" and len(starts) > 1:
            yield doc.problem(
                "no-start-event",
                f"a subprocess needs exactly one start event; found {len(starts)}",
                container,
            )
        if not ends:
            yield doc.problem("no-end-event", f"{describe(container)} has no end event", container)
    for container in doc.find("adHocSubProcess"):
        for event in doc.children(container, "startEvent", "endEvent"):
            yield doc.problem("unsupported-element", "an ad hoc subprocess may not hold start or end events", event)


def check_flows(doc: BpmnDocument) -> Iterator[Problem]:
    for flow in doc.find("sequenceFlow"):
        for attribute, role in (("sourceRef", "starts at"), ("targetRef", "ends at")):
            ref = flow.get(attribute)
            target = doc.element(ref)
            if not ref:
                yield doc.problem("dangling-flow", f"sequence flow without {attribute}", flow)
            elif target is None:
                yield doc.problem("dangling-flow", f"sequence flow {role} '{ref}', which does not exist", flow)
            elif local_name(target) not in FLOW_NODES:
                yield doc.problem("dangling-flow", f"sequence flow {role} '{ref}', which is not a flow node", flow)
            elif target.getparent() is not flow.getparent():
                yield doc.problem(
                    "dangling-flow",
                    f"sequence flow {role} '{ref}' in another (sub)process; flows stay inside one",
                    flow,
                )


def check_references(doc: BpmnDocument) -> Iterator[Problem]:
    for event in doc.find("boundaryEvent"):
        attached = doc.element(event.get("attachedToRef"))
        if attached is None or attached.getparent() is not event.getparent():
            yield doc.problem(
                "dangling-ref",
                f"boundary event attached to '{event.get('attachedToRef')}', which does not exist here",
                event,
            )
    for gateway in doc.find("exclusiveGateway", "inclusiveGateway", "complexGateway"):
        default = gateway.get("default")
        if default and default not in {f.get("id") for f in doc.outgoing(gateway)}:
            yield doc.problem(
                "dangling-ref",
                f"default flow '{default}' is not a sequence flow leaving this gateway",
                gateway,
            )
    executable_ids = {p.get("id") for p in doc.executable}
    for call in doc.find("callActivity"):
        called = call.get("calledElement")
        if not called:
            yield doc.problem("dangling-ref", "call activity without calledElement", call)
        elif called not in executable_ids:
            yield doc.problem(
                "dangling-ref",
                f"call activity calls '{called}', which is not an executable process in this file",
                call,
            )


def check_reachability(doc: BpmnDocument) -> Iterator[Problem]:
    containers = deque(doc.executable)
    while containers:
        container = containers.popleft()
        reached = _reachable(doc, container)
        for node in doc.flow_nodes(container):
            if node not in reached:
                yield doc.problem("unreachable", f"{describe(node)} cannot be reached from a start event", node)
            elif local_name(node) in CONTAINERS:
                containers.append(node)


def _reachable(doc: BpmnDocument, container: Element) -> set[Element]:
    nodes = doc.flow_nodes(container)
    by_id = {n.get("id"): n for n in nodes}
    if local_name(container) == "adHocSubProcess":
        seeds = [n for n in nodes if not doc.incoming(n)]
    else:
        seeds = [
            n
            for n in nodes
            if local_name(n) == "startEvent" or (local_name(n) == "subProcess" and n.get("triggeredByEvent") == "true")
        ]
    boundary: dict[str, list[Element]] = {}
    for node in nodes:
        if local_name(node) == "boundaryEvent":
            boundary.setdefault(node.get("attachedToRef") or "", []).append(node)
    reached: set[Element] = set()
    queue = deque(seeds)
    while queue:
        node = queue.popleft()
        if node in reached:
            continue
        reached.add(node)
        queue.extend(boundary.get(node.get("id") or "", []))
        for flow in doc.outgoing(node):
            target = by_id.get(flow.get("targetRef"))
            if target is not None and target not in reached:
                queue.append(target)
    return reached


def check_outgoing(doc: BpmnDocument) -> Iterator[Problem]:
    for node in (e for e in doc.scoped if local_name(e) in FLOW_NODES):
        kind = local_name(node)
        outgoing = doc.outgoing(node)
        if len(outgoing) > 1 and kind not in SPLITTING_NODES:
            yield doc.problem(
                "multiple-outgoing",
                f"{describe(node)} has {len(outgoing)} outgoing flows; split them with a gateway",
                node,
            )
        if kind not in CONDITIONAL_GATEWAYS:
            for flow in outgoing:
                if flow.find(bpmn("conditionExpression")) is not None:
                    yield doc.problem(
                        "gateway-condition",
                        f"condition on a flow leaving {describe(node)} would be ignored; "
                        "only flows leaving exclusive or inclusive gateways are conditional",
                        flow,
                    )


def check_gateway_conditions(doc: BpmnDocument) -> Iterator[Problem]:
    for gateway in doc.find(*CONDITIONAL_GATEWAYS):
        outgoing = doc.outgoing(gateway)
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        for flow in outgoing:
            if flow.get("id") != default and text_of(flow.find(bpmn("conditionExpression"))) is None:
                yield doc.problem(
                    "gateway-condition",
                    f"flow leaving {describe(gateway)} has no condition, and the gateway has no default flow"
                    if not default
                    else f"flow leaving {describe(gateway)} has no condition and is not its default flow",
                    flow,
                )


def check_expressions(doc: BpmnDocument) -> Iterator[Problem]:
    for element in doc.find(
        "conditionExpression", "condition", "loopCondition", "loopCardinality", "completionCondition"
    ):
        yield from _expression_problems(doc, element, "bad-expression")
    if doc.executable:
        for retrieval in doc.root.iter(bpmn("correlationPropertyRetrievalExpression")):
            for expression in [c for c in retrieval if isinstance(c.tag, str)][:1]:
                yield from _expression_problems(doc, expression, "bad-expression")


_JUEL = re.compile(r"[$#]\{(.*)\}", re.DOTALL)
_NEGATION = re.compile(r"!(?!=)\s*")


def _python_spelling(juel: str) -> str:
    text = juel.strip().replace("&&", " and ").replace("||", " or ")
    return " ".join(_NEGATION.sub("not ", text).split())


def _expression_problems(doc: BpmnDocument, element: Element, code: str) -> Iterator[Problem]:
    owner = _owner(element)
    text = text_of(element)
    what = local_name(element)
    if text is None:
        if what != "conditionExpression":  # a missing condition is the gateway check's business
            yield doc.problem(code, f"empty {what}", owner, line=element.sourceline)
        return
    language = element.get("language")
    if language and language.lower() not in ("python", "text/x-python"):
        yield doc.problem(code, f"{what}: expression language '{language}' is not supported", owner, element.sourceline)
        return
    juel = _JUEL.fullmatch(text.strip())
    if juel:
        yield doc.problem(
            code,
            f"{what}: `{text.strip()}` is a Camunda (JUEL) expression; write the condition itself, "
            f"e.g. `{_python_spelling(juel.group(1))}`",
            owner,
            line=element.sourceline,
        )
        return
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        yield doc.problem(code, f"{what}: {exc}", owner, line=element.sourceline)
        return
    unknown = sorted(expression.functions - FLOW_FUNCTIONS)
    if unknown:
        yield doc.problem(code, f"{what}: unknown function {', '.join(unknown)} in `{text}`", owner, element.sourceline)


def check_scripts(doc: BpmnDocument) -> Iterator[Problem]:
    for task in doc.find("scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in SCRIPT_FORMATS:
            yield doc.problem(
                "bad-script",
                f"scriptFormat '{task.get('scriptFormat')}' is not supported; scripts are assignments "
                "in the safe expression language",
                task,
            )
            continue
        script = task.find(bpmn("script"))
        text = script.text if script is not None else None
        if not (text or "").strip():
            yield doc.problem("bad-script", "script task without a script", task)
            continue
        try:
            compiled = compile_script(text)
        except ExpressionError as exc:
            yield doc.problem("bad-script", f"script: {exc}", task, line=_script_line(script, text, exc.line))
            continue
        unknown = sorted(compiled.functions - FLOW_FUNCTIONS)
        if unknown:
            yield doc.problem("bad-script", f"script calls unknown function {', '.join(unknown)}", task)


def _script_line(script: Element, text: str, line: int | None) -> int | None:
    if script.sourceline is None:
        return None
    leading = text[: len(text) - len(text.lstrip())].count("\n")
    return script.sourceline + leading + (line or 1) - 1


def check_attached_scripts(doc: BpmnDocument) -> Iterator[Problem]:
    for extensions in doc.find("extensionElements"):
        owner = extensions.getparent()
        found = [
            element
            for element in extensions.iterdescendants()
            if isinstance(element.tag, str) and _local(element.tag).lower() in SCRIPT_EXTENSIONS
        ]
        if found:
            kinds = ", ".join(dict.fromkeys(_prefixed(element) for element in found))
            yield doc.problem(
                "script-not-allowed",
                f"scripts attached to {describe(owner)} ({kinds}) are not supported; "
                "only script tasks with assignments run",
                owner,
                line=found[0].sourceline,
            )
    for element in doc.scoped:
        for attribute in element.attrib:
            if attribute.startswith("{") and not is_pl_attribute(attribute):
                name = _local(attribute)
                if name in SCRIPT_ATTRIBUTES:
                    yield doc.problem(
                        "script-not-allowed",
                        f"code attached to {describe(element)} ({name}=…) is not supported",
                        element,
                    )


def check_timers(doc: BpmnDocument) -> Iterator[Problem]:
    for timer in doc.find("timerEventDefinition"):
        owner = _owner(timer)
        value = next(
            (c for c in (timer.find(bpmn(n)) for n in ("timeDate", "timeDuration", "timeCycle")) if c is not None),
            None,
        )
        if value is None:
            yield doc.problem("bad-timer", "timer without timeDate, timeDuration or timeCycle", owner, timer.sourceline)
            continue
        kind, text = local_name(value), text_of(value)
        if text is None:
            yield doc.problem("bad-timer", f"empty {kind}", owner, value.sourceline)
            continue
        literal = _literal(text)
        if isinstance(literal, ExpressionError):
            yield doc.problem(
                "bad-timer",
                f"{kind} is neither ISO 8601 nor an expression: {literal}",
                owner,
                value.sourceline,
            )
        elif isinstance(literal, str):
            message = _timer_value_problem(kind, literal)
            if message:
                yield doc.problem("bad-timer", message, owner, value.sourceline)
        elif literal is not None:
            yield doc.problem("bad-timer", f"{kind} must be ISO 8601 text, not {literal!r}", owner, value.sourceline)


def _literal(text: str) -> object:
    """The value of a timer text that needs no task data; None when it depends on data."""
    if is_iso8601_timer(text):
        return text
    if ALMOST_ISO_RE.fullmatch(text):
        return text  # a name like P3X is a mistyped duration, not a variable
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        return exc
    if expression.names or expression.functions:
        return None
    try:
        return expression.evaluate({})
    except ExpressionError as exc:
        return exc


def _timer_value_problem(kind: str | None, value: str) -> str | None:
    if kind == "timeDuration" and not is_iso8601_duration(value):
        return f"timeDuration '{value}' is not an ISO 8601 duration (like P3D or PT48H)"
    if kind == "timeDate":
        if not is_iso8601_datetime(value):
            return f"timeDate '{value}' is not an ISO 8601 date-time (like 2026-01-01T00:00:00+08:00)"
        if not is_iso8601_datetime(value, require_offset=True):
            return f"timeDate '{value}' needs a UTC offset such as +08:00"
    if kind == "timeCycle" and not is_iso8601_cycle(value):
        return f"timeCycle '{value}' is not an ISO 8601 repeating interval (like R3/PT1H)"
    return None


def check_roles(doc: BpmnDocument) -> Iterator[Problem]:
    known = ", ".join(ROLES)
    for lane in doc.root.iter(bpmn("lane")):
        role = (lane.get(pl("role")) or "").strip()
        if role and role not in ROLES:
            yield doc.problem("unknown-role", f"lane role '{role}' is not one of: {known}", lane)
    for task in doc.find("userTask"):
        role = doc.role(task)
        if role is None:
            yield doc.problem("no-role", "user task without pl:role (on the task or its lane)", task)
        elif role not in ROLES and (task.get(pl("role")) or "").strip():
            yield doc.problem("unknown-role", f"role '{role}' is not one of: {known}", task)


def check_step_attributes(doc: BpmnDocument) -> Iterator[Problem]:
    for task in doc.find("userTask"):
        limit = task.get(pl("timeLimit"))
        message = _time_limit_problem(limit) if limit is not None else None
        if message:
            yield doc.problem("bad-time-limit", message, task)
        calendar = task.get(pl("calendar"))
        if calendar is not None and calendar.strip() not in CALENDARS:
            yield doc.problem("bad-calendar", f"pl:calendar '{calendar}' is not one of: {', '.join(CALENDARS)}", task)
        operations = task.get(pl("operations"))
        unknown = sorted(set((operations or "").split()) - set(OPERATIONS))
        if unknown:
            yield doc.problem(
                "bad-operations",
                f"pl:operations names {', '.join(unknown)}; the operations are: {', '.join(OPERATIONS)}",
                task,
            )


def _time_limit_problem(limit: str) -> str | None:
    try:
        parts = duration_parts(limit)
    except ExpressionError:
        return f"pl:timeLimit '{limit}' is not an ISO 8601 duration (like P10D or PT48H)"
    if "years" in parts or "months" in parts:
        return f"pl:timeLimit '{limit}': years and months have no fixed length; write days (P30D)"
    if any(not isinstance(value, int) for unit, value in parts.items() if unit != "seconds"):
        return f"pl:timeLimit '{limit}': only seconds may have a fraction; write PT36H, not P1.5D"
    return None


def check_process_attributes(doc: BpmnDocument) -> Iterator[Problem]:
    for process in doc.executable:
        category = process.get(pl("category"))
        if category is not None and category.strip() not in CATEGORIES:
            yield doc.problem(
                "bad-category", f"pl:category '{category}' is not one of: {', '.join(CATEGORIES)}", process
            )


def check_pl_attributes(doc: BpmnDocument) -> Iterator[Problem]:
    for element in doc.root.iter():
        if not isinstance(element.tag, str):
            continue
        allowed = PL_ATTRIBUTES.get(local_name(element) or "", frozenset())
        for attribute in element.attrib:
            if is_pl_attribute(attribute) and _local(attribute) not in allowed:
                name = _local(attribute)
                where = f"; allowed here: {', '.join(sorted(allowed))}" if allowed else ""
                yield doc.problem(
                    "unknown-attribute",
                    f"pl:{name} has no meaning on {local_name(element) or element.tag}{where}",
                    element,
                )


def check_unsupported(doc: BpmnDocument) -> Iterator[Problem]:
    for element in doc.scoped:
        reason = UNSUPPORTED.get(local_name(element) or "")
        if reason:
            yield doc.problem("unsupported-element", reason, _owner(element))
    for loop in doc.find("standardLoopCharacteristics"):
        if loop.get("loopMaximum") is None and loop.find(bpmn("loopCondition")) is None:
            yield doc.problem("unsupported-element", "a loop needs loopMaximum or a loopCondition", _owner(loop))


def _owner(element: Element) -> Element:
    """The nearest ancestor-or-self a modeler clicks on: a flow node, flow, lane or process."""
    for candidate in (element, *element.iterancestors()):
        if candidate.get("id") and local_name(candidate) in OWNER_KINDS:
            return candidate
    return element


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _prefixed(element: Element) -> str:
    prefix = element.prefix
    name = _local(element.tag)
    return f"{prefix}:{name}" if prefix else name


CHECKS: tuple[Check, ...] = (
    check_executable,
    check_single_top_process,
    check_duplicate_ids,
    check_start_and_end,
    check_flows,
    check_references,
    check_reachability,
    check_outgoing,
    check_gateway_conditions,
    check_expressions,
    check_scripts,
    check_attached_scripts,
    check_timers,
    check_roles,
    check_step_attributes,
    check_process_attributes,
    check_pl_attributes,
    check_unsupported,
)
