"""Planted personal data for privacy tests: ID, mobile, landline and bank card numbers in the spellings
people type, put into every free-text field of a form, and a scan of a page for any of them.

A planted number is found on a page however it is shown: the page's text is compared with its
separators removed and full-width characters folded, with and without its HTML tags, and any eight
characters in a row of a planted number count (a half-masked 330226********1X still shows too much).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

NAME = "张三丰"  # a person's name planted into name fields; never on a matter's progress page
# Payees that are people though a word inside their names ends many an organisation's (社, 行, 院, 组, 店),
# or with a word before the name that says who they are: planted into payee fields after the example's own
# payee (某五金店、陈建社). The people's names (the words after 村民 or 组长 alone) never show in full.
PAYEES = ("陈建社", "王德行", "周院生", "黄组", "王店生", "村民王芳", "三组组长李明")
PAYEE_PEOPLE = ("陈建社", "王德行", "周院生", "黄组", "王店生", "王芳", "李明")
PAYEE_FIELDS = ("payee", "payees", "counterparty")
JOIN = " 或 "  # between two planted numbers in one field
WINDOW = 8  # this many characters of a planted number in a row is a leak


@dataclass(frozen=True)
class Planted:
    kind: str
    number: str  # the characters that identify it: digits (and X), separators removed
    spellings: tuple[str, ...]


# Resident IDs with valid check characters (GB 11643): one ending in X, one in a digit.
ID_X = "33022619800101121X"
ID_DIGIT = "330204197512034461"
MOBILE = "13912345678"
LANDLINE = "057487654321"
CARD = "6222000011112222333"

PLANTED = (
    Planted(
        "id_x",
        ID_X,
        (
            ID_X,
            "3302 2619 8001 0112 1X",
            "330226-19800101-121x",
            "３３０２２６１９８００１０１１２１Ｘ",
        ),
    ),
    Planted("id", ID_DIGIT, (ID_DIGIT, "330204 19751203 4461", "3302-0419-7512-0344-61")),
    Planted(
        "mobile",
        MOBILE,
        (MOBILE, "+86 139-1234-5678", "139 1234 5678", "139、1234、5678", "１３９１２３４５６７８", "139.1234.5678"),
    ),
    Planted("landline", LANDLINE, ("(0574) 8765-4321", "0574-87654321", "（０５７４）８７６５４３２１")),
    Planted("card", CARD, ("6222 0000 1111 2222 333", "6222-0000-1111-2222-333", CARD)),
)
SPELLINGS = [(planted.kind, spelling) for planted in PLANTED for spelling in planted.spellings]


class Planter:
    """Puts the planted spellings, in turn, into the free-text fields of forms."""

    def __init__(self) -> None:
        self.turn = 0
        self.payees = 0
        self.planted: list[tuple[str, str, str]] = []  # (where, field, spelling)

    def next_fitting(self, room: int | None, peek: bool = False) -> str | None:
        """The next spelling in turn that is at most ``room`` characters long (None: any)."""
        for offset in range(len(SPELLINGS)):
            _kind, spelling = SPELLINGS[(self.turn + offset) % len(SPELLINGS)]
            if room is None or len(spelling) <= room:
                if not peek:
                    self.turn = (self.turn + offset + 1) % len(SPELLINGS)
                return spelling
        return None

    def text(self, value: str, prop: dict[str, Any], name_like: bool, where: str, field: str) -> str:
        """``value`` with planted numbers after it, as many spellings as the field has room for (and the
        planted name in a name), or as it was when the field has no room for one."""
        limit = prop.get("maxLength") if isinstance(prop.get("maxLength"), int) else None
        lead = value + (NAME if name_like else "，")
        payees = [PAYEES[(self.payees + i) % len(PAYEES)] for i in range(2)] if field in PAYEE_FIELDS else []
        if payees:  # two people paid, after the payee the example names
            lead = "、".join(([value] if value else []) + payees) + "，"
        if limit is not None and self.next_fitting(limit - len(lead), peek=True) is None:
            lead = NAME if name_like else ""
        planted = lead
        for count in range(len(SPELLINGS)):
            room = None if limit is None else limit - len(planted) - (len(JOIN) if count else 0)
            spelling = self.next_fitting(room)
            if spelling is None:
                break
            planted += (JOIN if count else "") + spelling
            self.planted.append((where, field, spelling))
        if planted == lead:
            return value
        if payees and lead in planted:
            self.payees += len(payees)
            self.planted += [(where, field, payee) for payee in payees]
        return planted

    def form(self, schema: dict[str, Any] | None, data: dict[str, Any], where: str, empty: bool) -> dict[str, Any]:
        """``data`` with a planted number in every free-text string field it holds (empty ones too when
        ``empty``): strings without format, pattern, choices or a register reference, and lists of them."""
        properties = (schema or {}).get("properties") or {}
        planted = dict(data)
        for field, value in data.items():
            prop = properties.get(field)
            if not isinstance(prop, dict):
                continue
            name_like = _name_like(field, prop)
            if isinstance(value, str) and isinstance(prop.get("pattern"), str) and prop.get("type") == "string":
                number = _fitting_number(prop)  # an ID number field takes a planted ID number
                if number is not None and (value or empty):
                    planted[field] = number
                    self.planted.append((where, field, number))
            elif _free_text(prop) and isinstance(value, str) and (value or empty):
                planted[field] = self.text(value, prop, name_like, where, field)
            elif prop.get("type") == "array" and isinstance(prop.get("items"), dict) and _free_text(prop["items"]):
                if isinstance(value, list) and all(isinstance(item, str) for item in value):
                    planted[field] = [self.text(item, prop["items"], name_like, where, field) for item in value]
        return planted


def _fitting_number(prop: dict[str, Any]) -> str | None:
    """A planted number as it is, if it is what a field with a pattern takes."""
    limit = prop.get("maxLength") if isinstance(prop.get("maxLength"), int) else None
    for planted in PLANTED:
        for number in (planted.number, planted.number.lower()):
            if re.search(prop["pattern"], number) and (limit is None or len(number) <= limit):
                return number
    return None


def _free_text(prop: dict[str, Any]) -> bool:
    if prop.get("type", "string") != "string":
        return False
    fixed = ("format", "pattern", "enum", "oneOf", "anyOf", "const", "x-reference")
    return not any(key in prop for key in fixed)


THINGS = ("asset_name", "project_name")  # names of things, not of people
PEOPLE = ("reviewers", "checkers", "handlers", "staff", "surveyors", "town_staff", "recipients")


def _name_like(field: str, prop: dict[str, Any]) -> bool:
    """Whether the field holds people's names (人名): the planted name goes into it."""
    if field in THINGS:
        return False
    return field.endswith(("_name", "_names")) or field in PEOPLE or "姓名" in str(prop.get("title") or "")


# --- scanning a page ---------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−－﹣.·・•/\\_()（）\[\]【】+,，、：:；;\u200b\u200c\u200d\u2060\ufeff]+")
_TAG = re.compile(r"<[^>]*>")


def _views(page: str) -> list[str]:
    text = unicodedata.normalize("NFKC", html.unescape(page)).upper()
    return [_SEPARATORS.sub("", text), _SEPARATORS.sub("", _TAG.sub("", text))]


def leaks(page: str, names: bool = False) -> list[str]:
    """What of the planted data the page shows: ``kind: characters`` for each planted number found
    (or eight of its characters in a row), and the planted name when ``names``."""
    found = []
    views = _views(page)
    for planted in PLANTED:
        windows = {planted.number[i : i + WINDOW] for i in range(len(planted.number) - WINDOW + 1)}
        hits = sorted({w for w in windows for view in views if w in view})
        if hits:
            found.append(f"{planted.kind}: {hits[0]}" + (f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""))
    if names:
        found += [f"name: {name}" for name in (NAME, *PAYEE_PEOPLE) if any(name in view for view in views)]
    return found
