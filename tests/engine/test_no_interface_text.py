"""No engine module holds interface text or CSS: the engine returns facts, the web words them, and
the words the engine itself writes (documents, error wording, exports) are data in ``engine/texts``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
CSS = re.compile(r"[a-z-]+\s*:\s*[^;{}]+;|\{[^{}]*:[^{}]*;[^{}]*\}")


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _docstrings(tree: ast.AST) -> set[int]:
    """The string statements of every block: docstrings of modules, classes, functions and attributes."""
    found: set[int] = set()
    for node in ast.walk(tree):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                found.update(id(s.value) for s in block if isinstance(s, ast.Expr) and _is_text(s.value))
    return found


def offending(source: str) -> list[tuple[int, str]]:
    """(line, literal) for each string literal of ``source`` that holds Chinese or CSS."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if _is_text(node) and id(node) not in skip and (CJK.search(node.value) or CSS.search(node.value))
    ]


def test_no_engine_module_holds_interface_text_or_css():
    found = [
        f"{path.relative_to(ENGINE.parent)}:{line}: {value[:60]!r}"
        for path in sorted(ENGINE.rglob("*.py"))
        if "migrations" not in path.parts
        for line, value in offending(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_check_finds_chinese_and_css_but_not_docstrings():
    sample = '"""模块"""\nX = "事项"\nY = "fill: #c00;"\nZ = "plain words"\n\n\ndef f():\n    """文档"""\n'
    assert offending(sample) == [(2, "事项"), (3, "fill: #c00;")]
