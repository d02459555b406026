"""The vocabulary of docs/bpmn-conventions.md: namespaces, roles, calendars, powerlist attributes."""

from __future__ import annotations

from engine.expressions import BUILTIN_FUNCTIONS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
PL_NS = "urn:powerlist:bpmn:1"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "pl": PL_NS}

# code -> (Chinese name, level at which the role is held)
ROLES: dict[str, tuple[str, str]] = {
    "party_secretary": ("村党组织书记", "village"),
    "committee_chair": ("村委会主任", "village"),
    "supervisory_member": ("村务监督委员会成员", "village"),
    "bookkeeper": ("村报账员", "village"),
    "cadre": ("村干部", "village"),
    "town_agency": ("镇三资中心", "town"),
    "town_discipline": ("镇纪委", "town"),
    "county_discipline": ("县纪委", "county"),
    "auditor": ("审计员", "county"),
    "admin": ("管理员", "county"),
}

CALENDARS = ("calendar", "working")
DEFAULT_CALENDAR = "calendar"

# Functions a flow's expressions may call: the built-ins plus rule("key"), supplied at run time.
FLOW_FUNCTIONS = frozenset(BUILTIN_FUNCTIONS) | {"rule"}

# Powerlist attributes each BPMN element may carry (local names in the pl namespace).
PL_ATTRIBUTES: dict[str, frozenset[str]] = {
    "process": frozenset({"category", "number", "responsibleBody", "legalBasis"}),
    "userTask": frozenset({"role", "form", "timeLimit", "calendar", "legalBasis"}),
    "lane": frozenset({"role"}),
}


def pl(name: str) -> str:
    """Clark notation of a powerlist attribute: ``pl("role")`` -> ``{urn:powerlist:bpmn:1}role``."""
    return f"{{{PL_NS}}}{name}"


def bpmn(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"
