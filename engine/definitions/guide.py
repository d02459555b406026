"""The guide to the ``pl:`` conventions (docs/bpmn-conventions.md, in Chinese docs/bpmn-conventions.zh.md)
as HTML for the administrators' pages.

The documents are ours, but the HTML is still built by escaping every piece of text: only the
Markdown the guide uses is understood (headings, paragraphs, lists, tables, code blocks, `code`,
**bold**, [links](…)). Headings get ids a validation problem links to (``#roles``).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
FILES = {"zh": "bpmn-conventions.zh.md", "en": "bpmn-conventions.md"}
_ANCHOR = re.compile(r"\s*\{#([a-z0-9-]+)\}\s*$")
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    out, last = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        code, bold, label, target = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        elif target.startswith(("#", "https://")):
            out.append(f'<a href="{html.escape(target)}">{html.escape(label)}</a>')
        else:
            out.append(html.escape(label))
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def to_html(markdown: str) -> str:
    """The guide's Markdown as HTML (every text escaped)."""
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(block))}</code></pre>")
            i += 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 4)
            text = line.lstrip("#").strip()
            anchor = _ANCHOR.search(text)
            ident = f' id="{anchor.group(1)}"' if anchor else ""
            text = _ANCHOR.sub("", text)
            out.append(f"<h{level}{ident}>{_inline(text)}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            head, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
            cells = "".join(f"<th>{_inline(c)}</th>" for c in head)
            table = [f'<div class="table-wrap"><table><thead><tr>{cells}</tr></thead><tbody>']
            for row in body:
                table.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
            out.append("".join(table) + "</tbody></table></div>")
        elif line.lstrip().startswith(("- ", "* ")):
            items = []
            while i < len(lines) and (lines[i].lstrip().startswith(("- ", "* ")) or lines[i].startswith("  ")):
                if lines[i].lstrip().startswith(("- ", "* ")):
                    items.append(lines[i].lstrip()[2:])
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
        elif not line.strip():
            i += 1
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "```", "- ", "* ")):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(out)


@lru_cache(maxsize=4)
def render(language: str = "zh") -> str:
    """The guide in ``language`` (zh or en) as HTML."""
    path = DOCS / FILES.get(language, FILES["zh"])
    return to_html(path.read_text(encoding="utf-8"))
