"""Personal numbers taken out of text the public pages show.

Cadres type payees and purposes freely, so a resident ID (居民身份证号, 18 characters ending in a
digit or X, or the old 15 digits), a mobile or landline number or a bank card number may be in
them, written in one piece or in groups, with spaces, dashes, dots, brackets or line breaks between
the groups, in full-width digits (１３８), with +86 in front. :func:`mask_personal` finds every run of
digits, whatever spaces or marks separate them, and hides any run of six digits or more. Groups
split by Chinese or list punctuation (139、1234、5678, 139，1234，5678, 139:1234:5678) are hidden
when together they make a mobile, an ID, a landline or a card number, and a number written in
Chinese numerals (一三九一二三四五六七八) when it has seven numerals or more.

What must stay readable stays: a date or a time (2025-03-01, 2025.3.1, 2026年3月1日 10:30), a
sum of money (1234.50元, ¥80,000.00, 12.5万元, 80000000.00元: at most nine digits before the
point and a 元/万/¥ beside it), a number of the decision register (QX0101-2026-J-003, 决2026-003)
and a receipt code (ABCD-EFGH-JKLM, which never holds a 0 or a 1). None of them is kept when a
digit group joins it from outside, so a number cannot hide behind one.

Names and ID numbers that a page shows on purpose (a subsidy roster's recipients) are shown as the
rule file ``rules/defaults/public.yaml`` says (:func:`mask_name`, :func:`mask_id_number`). A payee
(:func:`mask_payee`) is an organisation, shown in full, when its name ends as one's does; else it is
a person's name, masked. A name in free text is found only when the record knows it
(:func:`mask_known_names`). Every public page and answer takes its personal data through this module
and no other.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from engine.ruleset import AreaRulesInvalid, area_rules
from engine.texts import data

# The characters and words masking reads in Chinese text are data: ``masking`` of engine/texts/zh/public.yaml.
_WORDS = data("public.masking")
_CHARACTERS = _WORDS["characters"]
MASK = "***"
MIN_DIGITS = 6  # shorter runs (a house number, a count, a year) stay readable
MONEY_DIGITS = 9  # a sum of money keeps at most this many digits before the point (under 10 亿元)
CHINESE_NUMERALS = 7  # this many Chinese numerals in a row are a number (a landline has seven digits)

# Characters people put between the digit groups of one number.
_SEPARATORS = frozenset(_CHARACTERS["separators"] + "\u200b\u200c\u200d\u2060\ufeff")  # and zero-width ones
# Punctuation between the items of a list, and between the groups of a number typed in a hurry:
# groups across it count as one number only when together they have a personal number's shape.
_WEAK = frozenset(_CHARACTERS["weak"])
_X = frozenset(_CHARACTERS["x"])
_PLUS = frozenset(_CHARACTERS["plus"])
_OPENING = frozenset(_CHARACTERS["opening"])
_DOTS = frozenset(_CHARACTERS["dots"])
_NUMBER = re.compile(r"\d(?:[~.(]*+\d)*+(?:[~.(]*+X)?")  # possessive: linear however long the text
_DATE = re.compile(r"(?:19|20)\d\d(?P<sep>[~.]+)\d\d?(?P=sep)\d\d?")
_MONEY = re.compile(r"(?P<whole>\d+)\.\d{1,2}")
_LONE_X = re.compile(r"[~,]{0,3},[~,]{0,3}X")
_WEAK_GAP = re.compile(r"[~,]{0,3},[~,]{0,3}")  # between two groups: list punctuation, maybe spaces
# The shapes a number split by list punctuation must have to be hidden (its digits run together).
_PERSONAL_SHAPES = re.compile(
    r"(?:0?86)?1[3-9]\d{9}"  # mobile
    r"|\d{17}[\dX]|\d{15}"  # resident ID
    r"|0\d{9,11}"  # landline with its area code
    r"|[3-6]\d{15,18}"  # bank card
)

# What stays readable, found in the text as typed (any digits): dates and times, register numbers and
# receipt codes, and sums of money.
# Chinese characters in these patterns are \u escapes: \uff10-\uff19 full-width digits ０-９, \uff1a ：,
# \uff0e ．, \uff0f ／, \uff0d －, \uff0c ，, \u3001 、, \uff1b ；, \uffe5 ￥, \u5e74 年, \u6708 月, \u65e5 日,
# \u51b3 决, \u5b57 字, \u53f7 号, \u7b2c 第, \u5143 元, \u4e07 万, \u4ebf 亿, \u5757 块, brackets \uff08 （ \uff09 ）
# \u3010 【 \u3011 】 \u300a 《 \u300b 》.
_D = r"[0-9\uff10-\uff19]"
_TIME = rf"{_D}{{1,2}}[:\uff1a]{_D}{{2}}(?:[:\uff1a]{_D}{{2}})?"
_KEPT = re.compile(
    "|".join(
        (
            # a date, maybe with its time: 2025-03-01, 2025.3.1, 2025/03/01, 2026年3月1日, 2026-03-01T10:30:00
            rf"(?:19|20){_D}{{2}}(?P<ds>[-/.\uff0e\uff0f\uff0d])[01]?{_D}(?P=ds)[0-3]?{_D}(?:[ T]{_TIME})?",
            rf"(?:19|20){_D}{{2}}\u5e74[01]?{_D}\u6708(?:[0-3]?{_D}\u65e5)?(?:\s*{_TIME})?",
            # a number of the decision register: QX0101-2026-J-003, and 决2026-003 as written on paper
            rf"[A-Z]{{1,4}}{_D}{{0,8}}-(?:19|20){_D}{{2}}-[A-Z]{{1,3}}-{_D}{{1,4}}",
            rf"(?<=[\u51b3\u5b57\u53f7\u7b2c])(?:19|20){_D}{{2}}[-\uff0d]{_D}{{1,4}}",
            # a receipt code: three groups of four of its alphabet (no 0, O, 1 or I), with a letter
            r"(?<![0-9A-Za-z])(?=[2-9]{0,11}[A-Za-z])[2-9A-HJ-NP-Za-hj-np-z]{4}[- ]?[2-9A-HJ-NP-Za-hj-np-z]{4}"
            r"[- ]?[2-9A-HJ-NP-Za-hj-np-z]{4}(?![0-9A-Za-z])",
        )
    )
)
# A sum of money: ¥80,000.00, 1234.50元, 12.5万元, 80000000.00 元. A group of digits before it even
# across list punctuation (139、1234、5678元) makes it part of a number instead.
_KEPT_MONEY = re.compile(
    "|".join(
        (
            rf"[¥\uffe5]\s*{_D}{{1,3}}(?:[,\uff0c]{_D}{{3}})+(?:[.\uff0e]{_D}{{1,2}})?",
            rf"[¥\uffe5]\s*{_D}{{1,{MONEY_DIGITS}}}(?:[.\uff0e]{_D}{{1,2}})?",
            rf"{_D}{{1,3}}(?:[,\uff0c]{_D}{{3}})+(?:[.\uff0e]{_D}{{1,2}})?(?=\s*(?:\u5143|\u4e07|\u4ebf|\u5757))",
            rf"{_D}{{1,{MONEY_DIGITS}}}(?:[.\uff0e]{_D}{{1,4}})?(?=\s*(?:\u5143|\u4e07|\u4ebf|\u5757))",
        )
    )
)
_CHINESE = _CHARACTERS["numerals"]
_CHINESE_NUMBER = re.compile(rf"[{_CHINESE}](?:[\s\-\uff0d—·.\uff0c\u3001]?[{_CHINESE}]){{{CHINESE_NUMERALS - 1},}}")


def _flat(char: str) -> str:
    """One character for one: ASCII digits, ``X``, ``+``, ``.``, ``(``, ``~`` for separators, ``,`` for list
    punctuation, else ``#``."""
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
    if char in _WEAK:
        return ","
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


def _joined(flat: str, start: int, step: int, between: str) -> bool:
    """Whether a digit group touches ``flat`` at ``start`` going ``step`` (-1 back, 1 on), across the
    characters ``between``: a kept date or sum must not be the end of a longer number."""
    index = start
    while 0 <= index < len(flat) and flat[index] in between:
        index += step
    return 0 <= index < len(flat) and (flat[index].isdigit() or flat[index] == "X")


def _kept_spans(text: str, flat: str) -> list[tuple[int, int]]:
    """Dates, times, sums, register numbers and receipt codes that stay as typed."""
    spans = []
    for pattern, between in ((_KEPT, "~(+."), (_KEPT_MONEY, "~(+.,")):
        for found in pattern.finditer(text):
            start, end = found.span()
            if not _joined(flat, start - 1, -1, between) and not _joined(flat, end, 1, between):
                spans.append((start, end))
    return spans


def mask_personal(text: Any, limit: int | None = None) -> str:
    """``text`` with every ID, phone, landline or card number (any spacing, any digits) as ***.

    Anything but a string becomes ``""``; ``limit`` cuts the result to that many characters,
    after masking, so a number is never cut in two and half of it shown.
    """
    if not isinstance(text, str):
        return ""
    flat = "".join(map(_flat, text))
    kept = _kept_spans(text, flat)
    if kept:
        cut = list(flat)
        for start, end in kept:
            cut[start:end] = "#" * (end - start)
        flat = "".join(cut)
    runs = [found.span() for found in _NUMBER.finditer(flat)]
    hidden = [(start, end) for start, end in runs if _is_personal(flat[start:end])]
    hidden += _split_numbers(flat, runs)
    hidden += [found.span() for found in _CHINESE_NUMBER.finditer(text)]
    pieces = []
    end = 0
    for start, stop in _merged(hidden):
        while start > end and flat[start - 1] in "(+":  # +86, (0571)
            start -= 1
        pieces.append(text[end:start])
        pieces.append(MASK)
        end = stop
    pieces.append(text[end:])
    shown = "".join(pieces).strip()
    return shown if limit is None else shown[:limit]


def _split_numbers(flat: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where runs of digits joined across list punctuation make a personal number's digits."""
    texts = [flat[start:end] for start, end in runs]
    digits = [None if _MONEY.fullmatch(text) else "".join(c for c in text if c.isdigit() or c == "X") for text in texts]
    linked = [
        index > 0 and _WEAK_GAP.fullmatch(flat, runs[index - 1][1], runs[index][0]) is not None
        for index in range(len(runs))
    ]
    found = []
    for first in range(len(runs)):
        if digits[first] is None or first + 1 >= len(runs) or not linked[first + 1]:
            continue
        joined = digits[first]
        for last in range(first + 1, len(runs)):
            if not linked[last] or digits[last] is None:
                break
            joined += digits[last]
            if len(joined) > 21:
                break
            if _PERSONAL_SHAPES.fullmatch(joined) or _PERSONAL_SHAPES.fullmatch(joined.rstrip("X")):
                found.append((runs[first][0], runs[last][1]))
            check = _LONE_X.match(flat, runs[last][1])  # an ID's X typed as a group of its own
            if check and _PERSONAL_SHAPES.fullmatch(joined + "X"):
                found.append((runs[first][0], check.end()))
    return found


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans in order, overlapping ones made one."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


NAME_STYLES = ("full", "given", "surname")
ID_KEEP_MAX = 6  # the region code; a birth date or the check digits are never shown
_COMPOUND_SURNAMES = frozenset(_WORDS["compound_surnames"].split())


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


_NAME_BREAKS = re.compile(r"(\*\*\*|[\u3001\uff0c,;\uff1b/\uff0f\s]+)")


def mask_name(name: Any) -> str:
    """A person's name as the rules show it: 张*明, 李*, 欧阳*华 (``given``), 张** (``surname``) or in full.

    Several names in one field (张三明、李四) are each shown so; digits typed into a name are masked as
    in free text, the name beside them still masked; a name of Latin letters keeps its first letter."""
    text = mask_personal(name, 40)
    style = masking_rules()["names"]
    if style == "full" or not text:
        return text
    return "".join(
        part if not part or _NAME_BREAKS.fullmatch(part) else _one_name(part, style)
        for part in _NAME_BREAKS.split(text)
    )


def _one_name(text: str, style: str) -> str:
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


# --- payees: an organisation in full, a person masked ------------------------------------------------

# How the name of an organisation ends (a company, a shop, a co-operative, an office, a team). A payee
# is an organisation when its name ends so; a word inside a name (陈建社, 王德行, 周院生) says nothing.
ORGANISATION_SUFFIXES = tuple(_WORDS["organisation_suffixes"].split())
# A word before a person's name that says who they are (村民王芳, 三组组长李明, 户主：张三).
PERSON_TITLES = tuple(_WORDS["person_titles"].split())
# Common surnames: a short name beginning with one is a person's even when it ends like a shop's (李建厂).
SURNAMES = frozenset(_WORDS["surnames"])
_SUFFIXES = tuple(sorted(set(ORGANISATION_SUFFIXES), key=len, reverse=True))
_HAN = r"\u3400-\u9fff"  # the Han characters, as a character class's range
_PAYEE_BREAKS = re.compile(r"(\*+|[\u3001\uff0c,;\uff1b/\uff0f\s()\uff08\uff09\[\]\u3010\u3011<>\u300a\u300b]+)")
# a group's number before a title (三组组长): Chinese numerals 一 to 十 or digits, then 组 (\u7ec4)
_GROUP = r"(?:[\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341]|[0-9\uff10-\uff19])+\u7ec4"
_TITLE = rf"(?:{_GROUP})?(?:{'|'.join(sorted(PERSON_TITLES, key=len, reverse=True))})[:\uff1a]?"
_TITLED = re.compile(rf"(?P<title>{_TITLE})(?P<name>[{_HAN}]{{2,4}})")
_TITLE_ONLY = re.compile(_TITLE)


def _person_like(text: str) -> bool:
    """Whether ``text`` has a person's name's shape: two or three Han characters after a common surname
    (four after a compound one), and is no organisation's word (商店, 施工队)."""
    if not re.fullmatch(rf"[{_HAN}]{{2,4}}", text) or text in _SUFFIXES:
        return False
    if text[:2] in _COMPOUND_SURNAMES:
        return len(text) >= 3
    return text[0] in SURNAMES and len(text) <= 3


def is_organisation(text: str) -> bool:
    """Whether a payee's name ends as an organisation's does (上塘村股份经济合作社, 某五金店, 砖瓦厂).

    A short name that begins with a surname is a person's (李建厂, 欧阳建店), as is a name after a
    person's title (村民王店生), unless the whole name is an organisation's word (商店, 卫生院)."""
    if text in _SUFFIXES:
        return True
    suffix = next((s for s in _SUFFIXES if text.endswith(s)), None)
    if suffix is None or _person_like(text):
        return False
    return len(suffix) > 1 or _TITLED.match(text) is None


def _shown_name(name: str, style: str) -> str:
    return name if style == "full" else _one_name(name, style)


def _payee_part(text: str, style: str) -> str:
    if _TITLE_ONLY.fullmatch(text):  # 村民小组长 before a name set apart by a space
        return text
    titled = _TITLED.fullmatch(text)
    if titled and (_person_like(titled["name"]) or not is_organisation(text)):
        return titled["title"] + _shown_name(titled["name"], style)
    for end in range(len(text) - 2, 1, -1):  # a shop and its owner: 某五金店张三丰
        if _person_like(text[end:]) and is_organisation(text[:end]):
            return text[:end] + _shown_name(text[end:], style)
    if is_organisation(text):
        return text
    return _shown_name(text, style)


def mask_payee(text: Any, limit: int | None = None) -> str:
    """Whoever was paid: an organisation's name in full, a person's as :func:`mask_name` shows it; any
    number masked either way. 财务公开 says who was paid; it need not name a private person in full.

    An organisation is known by how its name ends (:data:`ORGANISATION_SUFFIXES`); a name after a
    person's title (村民王芳, 三组组长李明) or after a shop's name (某五金店张三丰) is a person's; anything
    else is masked as a name, each payee of a list (、，/ or brackets between them) on its own."""
    shown = mask_personal(text, limit)
    if not shown:
        return shown
    style = masking_rules()["names"]
    return "".join(
        part if not part or _PAYEE_BREAKS.fullmatch(part) else _payee_part(part, style)
        for part in _PAYEE_BREAKS.split(shown)
    )


def mask_known_names(text: Any, names: Any, limit: int | None = None) -> str:
    """Free text as :func:`mask_personal` shows it, with every name the same record knows (its applicant,
    payee, recipients: ``names``, each a name or a list of them, 张三、李四 too) shown as :func:`mask_name`
    shows it wherever the text repeats it (付张三丰工钱 → 付张*丰工钱). Names the record does not know
    cannot be found in free text; a single character is never taken for a name."""
    shown = mask_personal(text)
    style = masking_rules()["names"]
    known = set()
    for value in names if isinstance(names, (list, tuple, set, frozenset)) else [names]:
        if isinstance(value, str):
            known.update(part for part in _PAYEE_BREAKS.split(mask_personal(value)) if len(part.strip("*")) >= 2)
    known = {name for name in known if not _PAYEE_BREAKS.fullmatch(name) and not is_organisation(name)}
    if shown and known and style != "full":
        pattern = re.compile("|".join(re.escape(name) for name in sorted(known, key=len, reverse=True)))
        shown = pattern.sub(lambda found: _one_name(found.group(), style), shown)
    return shown if limit is None else shown[:limit]


# Form fields that hold a person's name besides those named *name* (申请人, 收款方, 竞得人…).
NAME_FIELDS = frozenset({"payee", "counterparty", "winner", "applicant", "reviewers", "handlers"})


def names_in_forms(forms: Any) -> list[str]:
    """Every person's name a matter's forms hold (2 to 4 Han characters in fields named ``*name`` or in
    :data:`NAME_FIELDS`, lists too): what :func:`mask_known_names` masks in the same matter's free text."""
    names: list[str] = []
    for form in forms:
        for key, value in (form or {}).items():
            if (key.endswith("name") and not key.startswith(_THING_NAMES)) or key in NAME_FIELDS:
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        names.extend(part for part in _PAYEE_BREAKS.split(text) if _PERSON_LIKE.fullmatch(part))
    return names


_THING_NAMES = ("project", "asset", "item", "matter", "file", "place", "meeting", "village", "unit")
_PERSON_LIKE = re.compile(r"[\u4e00-\u9fff]{2,4}")  # a project's or an asset's name is longer, or not Han
