"""Elements nothing in the product can trigger: the matter would wait at them for ever, or they would
pass without anyone doing anything.

powerlist moves a matter only when a person completes a user task, a timer fires, a script runs or a
gateway decides. It receives no messages or signals from outside, so an element waiting for one is
reached only when something inside the same flow throws it. Per element kind (docs/bpmn-conventions.md,
"Elements nothing can trigger"):

- refused (``untriggerable``): a receive task, an intermediate catch event or a process's start event
  waiting for a message, signal, escalation or error that nothing in the flow throws: a matter reaching
  it is stuck with nobody responsible (or never starts);
- warned (``idle-element``): a boundary event or an event subprocess whose trigger nothing in the flow
  throws (the path never happens, the work goes on), a send task or a throw event whose message or
  signal nothing in the flow catches (it passes without sending anything), a plain ``bpmn:task``
  (it passes at once: a step a person does is a userTask with pl:role).

Manual tasks and service tasks are refused as unsupported elements (:mod:`engine.definitions.checks`).
"""

from __future__ import annotations

from engine.definitions.document import BpmnDocument, Element, describe, local_name
from engine.errors import Problem

# event definition -> the attribute naming what it throws or catches
REFERENCED = {
    "messageEventDefinition": "messageRef",
    "signalEventDefinition": "signalRef",
    "escalationEventDefinition": "escalationRef",
    "errorEventDefinition": "errorRef",
}
THROWERS = frozenset({"intermediateThrowEvent", "endEvent"})
CATCHERS = frozenset({"intermediateCatchEvent", "boundaryEvent", "startEvent"})
KIND_NAMES = {
    "messageEventDefinition": "message",
    "signalEventDefinition": "signal",
    "escalationEventDefinition": "escalation",
    "errorEventDefinition": "error",
}


def _definitions(node: Element) -> list[tuple[str, str | None]]:
    """(definition kind, referenced id or None) of the node's event definitions we follow."""
    found = []
    for child in node:
        kind = local_name(child)
        if kind in REFERENCED:
            found.append((kind, (child.get(REFERENCED[kind]) or "").strip() or None))
    return found


def check_triggers(doc: BpmnDocument) -> tuple[list[Problem], list[Problem]]:
    """(refusals, warnings) for the elements of the executable processes nothing can trigger."""
    thrown: set[tuple[str, str | None]] = set()
    caught: set[tuple[str, str | None]] = set()
    for node in doc.scoped:
        kind = local_name(node)
        if kind in THROWERS:
            thrown.update(_definitions(node))
        elif kind in CATCHERS:
            caught.update(_definitions(node))
        elif kind == "sendTask":
            thrown.add(("messageEventDefinition", (node.get("messageRef") or "").strip() or None))
        elif kind == "receiveTask":
            caught.add(("messageEventDefinition", (node.get("messageRef") or "").strip() or None))

    def is_thrown(kind: str, ref: str | None) -> bool:
        if kind == "errorEventDefinition" and ref is None:
            return any(k == kind for k, _ in thrown)  # a catch-all error boundary catches any error thrown
        return (kind, ref) in thrown

    refusals: list[Problem] = []
    warnings: list[Problem] = []
    for node in doc.scoped:
        kind = local_name(node)
        if kind == "receiveTask":
            ref = (node.get("messageRef") or "").strip() or None
            if not is_thrown("messageEventDefinition", ref):
                refusals.append(
                    doc.problem(
                        "untriggerable",
                        f"{describe(node)} waits for message '{ref or '?'}', which nothing in this flow sends: "
                        "powerlist receives no messages from outside, so a matter would stop here with nobody "
                        "responsible. Make it a userTask with pl:role",
                        node,
                    )
                )
        elif kind == "sendTask":
            ref = (node.get("messageRef") or "").strip() or None
            if ("messageEventDefinition", ref) not in caught:
                warnings.append(
                    doc.problem(
                        "idle-element",
                        f"{describe(node)} sends message '{ref or '?'}', which nothing in this flow receives: "
                        "powerlist sends nothing outside, so the step passes without doing anything",
                        node,
                    )
                )
        elif kind == "task":
            warnings.append(
                doc.problem(
                    "idle-element",
                    f"{describe(node)} is a plain task: it passes at once and nobody does it. A step a person "
                    "does is a userTask with pl:role",
                    node,
                )
            )
        elif kind in CATCHERS:
            for definition, ref in _definitions(node):
                if is_thrown(definition, ref):
                    continue
                what = f"{KIND_NAMES[definition]} '{ref or '?'}'"
                parent = node.getparent()
                in_event_subprocess = parent is not None and parent.get("triggeredByEvent") == "true"
                if kind == "intermediateCatchEvent" or (kind == "startEvent" and not in_event_subprocess):
                    refusals.append(
                        doc.problem(
                            "untriggerable",
                            f"{describe(node)} waits for {what}, which nothing in this flow throws: a matter "
                            "would stop here with nobody responsible",
                            node,
                        )
                    )
                else:  # a boundary event or an event subprocess's start
                    warnings.append(
                        doc.problem(
                            "idle-element",
                            f"{describe(node)} waits for {what}, which nothing in this flow throws: "
                            "the path from it never happens",
                            node,
                        )
                    )
        elif kind in THROWERS:
            for definition, ref in _definitions(node):
                if (
                    definition in ("messageEventDefinition", "signalEventDefinition")
                    and (definition, ref) not in caught
                ):
                    warnings.append(
                        doc.problem(
                            "idle-element",
                            f"{describe(node)} throws {KIND_NAMES[definition]} '{ref or '?'}', which nothing in "
                            "this flow catches: powerlist sends nothing outside",
                            node,
                        )
                    )
    return refusals, warnings
