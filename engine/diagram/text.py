"""Measuring and wrapping label text without a font engine: CJK glyphs are one em wide, Latin about half."""

from __future__ import annotations

import unicodedata

from engine.texts import data

ELLIPSIS = "…"


def char_width(ch: str, size: float) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return size
    if ch in "il.,:;'|!" or ch == " ":
        return size * 0.3
    if ch.isupper() or ch in "mwMW@%":
        return size * 0.7
    return size * 0.55


def text_width(text: str, size: float) -> float:
    return sum(char_width(ch, size) for ch in text)


def wrap(text: str, width: float, size: float, max_lines: int | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``width``.

    Chinese breaks between any two characters; Latin words are kept whole when they fit.
    Opening punctuation never ends a line and closing punctuation never starts one.
    """
    width = max(width, size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph.strip(), width, size))
    lines = [line for line in lines if line] or [""]
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[: max(max_lines, 1)]
        last = kept[-1]
        while last and text_width(last + ELLIPSIS, size) > width:
            last = last[:-1]
        kept[-1] = last + ELLIPSIS
        return kept
    return lines


# punctuation that may not begin a line, and that may not end one (engine/texts/zh/diagram.yaml)
NO_LINE_START = set(data("diagram.no_line_start"))
NO_LINE_END = set(data("diagram.no_line_end"))


def _tokens(text: str) -> list[str]:
    """Words of Latin letters/digits stay together; every other character is its own token."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "_-/.@"):
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens


def _wrap_paragraph(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if text_width(candidate, size) <= width or not line:
            if text_width(token, size) > width and not line:
                # A single overlong word: cut it where it overflows.
                for ch in token:
                    if text_width(line + ch, size) > width and line:
                        lines.append(line)
                        line = ""
                    line += ch
                continue
            line = candidate
            continue
        if token in NO_LINE_START and line:
            # Carry the last character over with the punctuation.
            carry = line[-1]
            lines.append(line[:-1] or line)
            line = (carry if line[:-1] else "") + token
            continue
        if line and line[-1] in NO_LINE_END:
            carry = line[-1]
            lines.append(line[:-1])
            line = carry + token.lstrip()
            continue
        lines.append(line.rstrip())
        line = token.lstrip()
    if line:
        lines.append(line.rstrip())
    return lines
