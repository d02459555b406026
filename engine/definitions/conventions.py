"""The vocabulary of docs/bpmn-conventions.md: namespaces, calendars, powerlist attributes.

Role codes live in :mod:`engine.org.roles`.
"""

from __future__ import annotations

from engine.expressions import BUILTIN_FUNCTIONS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
PL_NS = "urn:powerlist:bpmn:1"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "pl": PL_NS}

CALENDARS = ("calendar", "working")

# Operations a step may allow besides completing it (pl:operations; absent: all of them).
OPERATIONS = ("reject", "return", "transfer", "add_approver", "remind", "withdraw")
DEFAULT_CALENDAR = "calendar"

# Functions a flow's expressions may call: the built-ins plus rule("key"), supplied at run time.
FLOW_FUNCTIONS = frozenset(BUILTIN_FUNCTIONS) | {"rule"}

# Powerlist attributes each BPMN element may carry (local names in the pl namespace).
PL_ATTRIBUTES: dict[str, frozenset[str]] = {
    "process": frozenset({"category", "number", "responsibleBody", "legalBasis"}),
    "userTask": frozenset({"role", "form", "timeLimit", "calendar", "legalBasis", "operations"}),
    "lane": frozenset({"role"}),
    "startEvent": frozenset({"form"}),  # the start form: the only start data a matter takes besides its title
}


def pl(name: str) -> str:
    """Clark notation of a powerlist attribute: ``pl("role")`` -> ``{urn:powerlist:bpmn:1}role``."""
    return f"{{{PL_NS}}}{name}"


def bpmn(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


# BPMN flow node kinds by local tag name.
EVENT_TAGS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAY_TAGS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
)
ACTIVITY_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
FLOW_NODE_TAGS = EVENT_TAGS | GATEWAY_TAGS | ACTIVITY_TAGS
