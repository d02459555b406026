"""An index over a parsed BPMN tree, shared by the checks and the definition builder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from lxml import etree

from engine.definitions.conventions import BPMN_NS, BPMNDI_NS, FLOW_NODE_TAGS, PL_NS, pl
from engine.errors import Problem

Element = etree._Element

FLOW_NODES = FLOW_NODE_TAGS
OMG_PREFIX = "{http://www.omg.org/spec/"
CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})


def local_name(element: Element) -> str | None:
    """The local name of a BPMN element; None for other namespaces, comments and PIs."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{BPMN_NS}}}"):
        return None
    return tag[len(BPMN_NS) + 2 :]


def text_of(element: Element | None) -> str | None:
    """Stripped text content, None when empty."""
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


class BpmnDocument:
    """The processes of one BPMN file, with the lookups every check needs."""

    def __init__(self, root: Element, filename: str):
        self.root = root
        self.filename = filename
        self.processes = [p for p in root if local_name(p) == "process"]
        self.executable = [p for p in self.processes if p.get("isExecutable") == "true"]
        # Ids of BPMN and diagram elements; vendor extensions may reuse "id" for other things.
        self.by_id: dict[str, list[Element]] = defaultdict(list)
        for element in root.iter(etree.Element):
            element_id = element.get("id")
            if element_id is not None and element.tag.startswith(OMG_PREFIX):
                self.by_id[element_id].append(element)
        # Every BPMN element inside an executable process, in document order.
        self.scoped: list[Element] = [
            e for process in self.executable for e in process.iter(etree.Element) if local_name(e)
        ]
        self._lanes = self._index_lanes()
        self._outgoing: dict[str, list[Element]] = defaultdict(list)
        self._incoming: dict[str, list[Element]] = defaultdict(list)
        for flow in self.find("sequenceFlow"):
            self._outgoing[flow.get("sourceRef") or ""].append(flow)
            self._incoming[flow.get("targetRef") or ""].append(flow)

    # lookups

    def element(self, element_id: str | None) -> Element | None:
        found = self.by_id.get(element_id or "")
        return found[0] if found else None

    def find(self, *names: str) -> Iterator[Element]:
        """BPMN elements of the given local names inside executable processes."""
        wanted = set(names)
        return (e for e in self.scoped if local_name(e) in wanted)

    def children(self, container: Element, *names: str) -> list[Element]:
        wanted = set(names)
        return [e for e in container if local_name(e) in wanted]

    def flow_nodes(self, container: Element) -> list[Element]:
        return [e for e in container if local_name(e) in FLOW_NODES]

    def flows(self, container: Element) -> list[Element]:
        return self.children(container, "sequenceFlow")

    def outgoing(self, node: Element) -> list[Element]:
        """Sequence flows leaving ``node`` inside its own (sub)process."""
        parent = node.getparent()
        return [f for f in self._outgoing.get(node.get("id") or "", []) if f.getparent() is parent]

    def incoming(self, node: Element) -> list[Element]:
        parent = node.getparent()
        return [f for f in self._incoming.get(node.get("id") or "", []) if f.getparent() is parent]

    def containers(self) -> Iterator[Element]:
        return (e for e in self.scoped if local_name(e) in CONTAINERS)

    def called_processes(self) -> set[str]:
        return {c.get("calledElement") for c in self.find("callActivity") if c.get("calledElement")}

    def top_processes(self) -> list[Element]:
        """Executable processes no call activity calls."""
        called = self.called_processes()
        return [p for p in self.executable if p.get("id") not in called]

    def has_di(self) -> bool:
        return self.root.find(f".//{{{BPMNDI_NS}}}BPMNDiagram//{{{BPMNDI_NS}}}BPMNShape") is not None

    # lanes

    def _index_lanes(self) -> dict[str, list[Element]]:
        """Node id -> the lanes that list it, outermost first."""
        lanes: dict[str, list[Element]] = defaultdict(list)
        for lane in self.root.iter(f"{{{BPMN_NS}}}lane"):
            for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
                if ref.text and ref.text.strip():
                    lanes[ref.text.strip()].append(lane)
        for node_lanes in lanes.values():
            node_lanes.sort(key=lambda lane: sum(1 for a in lane.iterancestors() if local_name(a) == "lane"))
        return lanes

    def lane(self, node: Element) -> Element | None:
        """The innermost lane that lists ``node``."""
        lanes = self._lanes.get(node.get("id") or "")
        return lanes[-1] if lanes else None

    def role(self, node: Element) -> str | None:
        """``pl:role`` of a task, else of its innermost lane that has one."""
        role = (node.get(pl("role")) or "").strip()
        if role:
            return role
        for lane in reversed(self._lanes.get(node.get("id") or "", [])):
            role = (lane.get(pl("role")) or "").strip()
            if role:
                return role
        return None

    # problems

    def problem(self, code: str, message: str, element: Element | None = None, line: int | None = None) -> Problem:
        return Problem(
            code=code,
            message=message,
            element_id=element.get("id") if element is not None else None,
            element_name=element.get("name") if element is not None else None,
            line=line if line is not None else (element.sourceline if element is not None else None),
            file=self.filename,
        )


def describe(element: Element) -> str:
    """``userTask 'approve'`` for messages."""
    kind = local_name(element) or str(element.tag)
    element_id = element.get("id")
    return f"{kind} '{element_id}'" if element_id else kind


def is_pl_attribute(name: str) -> bool:
    return name.startswith(f"{{{PL_NS}}}")
