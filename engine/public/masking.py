"""Personal numbers taken out of text the public pages show.

Cadres type payees and purposes freely, so a resident ID (居民身份证号, 18 characters ending in a
digit or X, or the old 15 digits), a mobile or landline number or a bank card number may be in
them, written in one piece or in groups, with spaces, dashes, dots or brackets between the
groups, in full-width digits (１３８), with +86 in front. :func:`mask_personal` finds every run of
digits, whatever spaces or marks separate them, and hides any run of six digits or more except a
date (2025-03-01) or a sum of money (1234.50).

Names and ID numbers that a page shows on purpose (a subsidy roster's recipients) are shown as the
rule file ``rules/defaults/public.yaml`` says (:func:`mask_name`, :func:`mask_id_number`). Every
public page and answer takes its personal data through this module and no other.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from engine.ruleset import AreaRulesInvalid, area_rules

MASK = "***"
MIN_DIGITS = 6  # shorter runs (a house number, a count, a year) stay readable

# Characters people put between the digit groups of one number.
_SEPARATORS = frozenset(
    "-‐‑‒–—―−－﹣﹘"  # hyphens and dashes, ASCII and full-width
    "·・•"  # middle dots
    "/／\\＼_＿"  # slashes, underscores
    ")）]］"  # closing brackets round an area code
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
)
_X = frozenset("xXｘＸ")
_PLUS = frozenset("+＋")
_OPENING = frozenset("(（[［")
_DOTS = frozenset(".．")
_NUMBER = re.compile(r"\d(?:[~.(]*+\d)*+(?:[~.(]*+X)?")  # possessive: linear however long the text
_DATE = re.compile(r"(?:19|20)\d\d(?P<sep>[~.]+)\d\d?(?P=sep)\d\d?")
_MONEY = re.compile(r"(?P<whole>\d+)\.\d{1,2}")


def _flat(char: str) -> str:
    """One character for one: ASCII digits, ``X``, ``+``, ``.``, ``(``, ``~`` for other separators, else ``#``."""
    if char.isdecimal():
        return str(unicodedata.decimal(char))
    if char in _X:
        return "X"
    if char in _PLUS:
        return "+"
    if char in _DOTS:
        return "."
    if char in _OPENING:
        return "("
    if char in _SEPARATORS or char.isspace():
        return "~"
    return "#"


def _is_date(run: str) -> bool:
    if _DATE.fullmatch(run) is None:
        return False
    year, month, day = (int(part) for part in re.split("[~.]+", run))
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_personal(run: str) -> bool:
    money = _MONEY.fullmatch(run)
    counted = money.group("whole") if money else run
    digits = sum(1 for c in counted if c.isdigit() or c == "X")
    return digits >= MIN_DIGITS and not _is_date(run)


def mask_personal(text: Any, limit: int | None = None) -> str:
    """``text`` with every ID, phone, landline or card number (any spacing, any digits) as ***.

    Anything but a string becomes ``""``; ``limit`` cuts the result to that many characters,
    after masking, so a number is never cut in two and half of it shown.
    """
    if not isinstance(text, str):
        return ""
    flat = "".join(map(_flat, text))
    pieces = []
    end = 0
    for found in _NUMBER.finditer(flat):
        if _is_personal(found.group()):
            start = found.start()
            while start > end and flat[start - 1] in "(+":  # +86, (0571)
                start -= 1
            pieces.append(text[end:start])
            pieces.append(MASK)
            end = found.end()
    pieces.append(text[end:])
    shown = "".join(pieces).strip()
    return shown if limit is None else shown[:limit]


NAME_STYLES = ("full", "given", "surname")
ID_KEEP_MAX = 6  # the region code; a birth date or the check digits are never shown
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 端木 独孤 南宫 西门 澹台 呼延".split()
)


@lru_cache(maxsize=1)
def masking_rules() -> dict[str, Any]:
    """The ``public.masking`` rules, checked: ``names`` (a style) and ``id_numbers.keep_start``."""
    rules = area_rules("public.yaml", "public", "the public pages' rule file").get("masking") or {}
    names = rules.get("names", "given")
    if names not in NAME_STYLES:
        raise AreaRulesInvalid([f"public.yaml: masking.names is one of {', '.join(NAME_STYLES)}, not {names!r}"])
    keep = (rules.get("id_numbers") or {}).get("keep_start", 0)
    if not isinstance(keep, int) or isinstance(keep, bool) or not 0 <= keep <= ID_KEEP_MAX:
        raise AreaRulesInvalid([f"public.yaml: masking.id_numbers.keep_start is a whole number 0 to {ID_KEEP_MAX}"])
    return {"names": names, "keep_start": keep}


def mask_name(name: Any) -> str:
    """A person's name as the rules show it: 张*明, 李*, 欧阳*华 (``given``), 张** (``surname``) or in full.

    Digits typed into a name are masked as in free text; a name of Latin letters keeps its first letter."""
    text = mask_personal(name, 40)
    style = masking_rules()["names"]
    if style == "full" or not text or MASK in text:
        return text
    surname = text[:2] if text[:2] in _COMPOUND_SURNAMES else text[:1]
    rest = text[len(surname) :]
    if not rest:
        return text
    if style == "surname" or len(rest) == 1:
        return surname + "*" * len(rest)
    return surname + "*" * (len(rest) - 1) + rest[-1]


def mask_id_number(number: Any) -> str:
    """A resident ID number as the rules show it: its first ``keep_start`` characters, the rest as *."""
    if not isinstance(number, str):
        return ""
    flat = "".join(_flat(ch) for ch in number if not ch.isspace() and _flat(ch) != "~")
    if not flat:
        return ""
    keep = masking_rules()["keep_start"]
    shown = flat[:keep] if flat[:keep].isdigit() else ""
    return shown + "*" * (max(len(flat), 15) - len(shown))
