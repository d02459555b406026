"""Read untrusted BPMN bytes into an lxml tree, and check it against the BPMN 2.0 XSD.

No DTD is loaded, no entity expanded, nothing fetched from the network; documents that declare a
DOCTYPE are refused outright, so XXE and entity-expansion bombs never reach the parser's
entity machinery.
"""

from __future__ import annotations

import re
import threading
from functools import cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH

from engine.definitions.conventions import BPMN_NS, BPMNDI_NS, PL_NS
from engine.errors import Problem

MAX_BPMN_BYTES = 5 * 1024 * 1024
MAX_XSD_PROBLEMS = 100

_DOCTYPE_MARKERS = tuple(
    marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY") for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
_PREFIXES = {
    BPMN_NS: "bpmn",
    BPMNDI_NS: "bpmndi",
    PL_NS: "pl",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
}
_XSD_LOCK = threading.Lock()
_POSITION_SUFFIX_RE = re.compile(r",? line \d+, column \d+$")


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(content: bytes, filename: str) -> tuple[etree._Element | None, list[Problem]]:
    """The root element of ``content``, or None and the problems that stopped parsing."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, bytes | bytearray):
        return None, [Problem("xml-syntax", f"expected bytes, got {type(content).__name__}", file=filename)]
    if len(content) > MAX_BPMN_BYTES:
        message = f"file too large ({len(content)} bytes; at most {MAX_BPMN_BYTES} bytes)"
        return None, [Problem("too-large", message, file=filename)]
    if any(marker in content for marker in _DOCTYPE_MARKERS):
        return None, [_doctype_problem(filename)]
    try:
        root = etree.fromstring(bytes(content), _safe_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, None)
        detail = _POSITION_SUFFIX_RE.sub("", exc.msg or "")
        message = f"XML syntax error: {detail}" + (f" (column {column})" if column else "")
        return None, [Problem("xml-syntax", message, line=line or None, file=filename)]
    except (ValueError, etree.LxmlError) as exc:
        return None, [Problem("xml-syntax", f"not readable as XML: {exc}", file=filename)]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None, [_doctype_problem(filename)]
    if root.tag != f"{{{BPMN_NS}}}definitions":
        message = f"not a BPMN 2.0 file: the root element is {shorten(str(root.tag))}, not bpmn:definitions"
        return None, [Problem("not-bpmn", message, line=root.sourceline, file=filename)]
    return root, []


def _doctype_problem(filename: str) -> Problem:
    return Problem("xml-doctype", "DOCTYPE and entities are not allowed", file=filename)


@cache
def bpmn_schema() -> etree.XMLSchema:
    """The BPMN 2.0 XSD shipped with SpiffWorkflow, built once."""
    return etree.XMLSchema(etree.parse(XSD_PATH, _safe_parser()))


_DUPLICATE_ID_RE = re.compile(r"attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'")


def xsd_problems(root: etree._Element, filename: str, duplicate_ids: frozenset[str] = frozenset()) -> list[Problem]:
    """One problem per XSD error; errors about ``duplicate_ids`` are left to the duplicate-id check."""
    schema = bpmn_schema()
    with _XSD_LOCK:  # the schema's error_log is shared state
        schema.validate(root)
        errors = list(dict.fromkeys((e.line, e.message, e.path) for e in schema.error_log))
    problems = []
    for line, message, path in errors:
        duplicate = _DUPLICATE_ID_RE.search(message)
        if duplicate and duplicate.group(1) in duplicate_ids:
            continue
        element = _element_at(root, path)
        problems.append(
            Problem(
                "xsd",
                f"BPMN schema: {shorten(message)}",
                element_id=element.get("id") if element is not None else None,
                element_name=element.get("name") if element is not None else None,
                line=line or None,
                file=filename,
            )
        )
    if len(problems) > MAX_XSD_PROBLEMS:
        rest = len(problems) - MAX_XSD_PROBLEMS
        problems = problems[:MAX_XSD_PROBLEMS]
        problems.append(Problem("xsd", f"… and {rest} more BPMN schema errors", file=filename))
    return problems


def _element_at(root: etree._Element, path: str | None) -> etree._Element | None:
    if not path:
        return None
    namespaces = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    try:
        found = root.getroottree().xpath(path, namespaces=namespaces)
    except etree.XPathError:
        return None
    return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


def shorten(text: str) -> str:
    """Replace ``{namespace}`` prefixes in lxml messages by the usual short prefixes."""
    for namespace, prefix in _PREFIXES.items():
        text = text.replace(f"{{{namespace}}}", f"{prefix}:")
    return text
