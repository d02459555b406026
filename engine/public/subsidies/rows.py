"""A roster spreadsheet's rows checked: names, resident IDs (GB 11643), yuan, dates, household codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from engine.errors import PowerlistError
from engine.public.spreadsheets import SheetRow, cell_yuan
from engine.texts import data, text, texts

MAX_AMOUNT_FEN = 100_000_000 * 100  # a hundred million yuan: more on one line is a typo
MAX_PEOPLE = 50


REQUIRED = frozenset({"name", "id_number", "amount"})


def sheet_columns() -> dict[str, tuple[str, ...]]:
    """The spreadsheet columns read, by the headers county sheets use (``sheet.columns`` of the
    subsidies' texts). 银行卡号 is never asked for: it is not read, kept or shown."""
    return {column: tuple(headers) for column, headers in data("subsidies.sheet.columns").items()}


def _problem(key: str, **params: Any) -> str:
    return text(f"subsidies.problems.{key}", **params)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.I)
HOUSEHOLD_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")


def plain(text: str) -> str:
    """Full-width digits and letters as ASCII, spaces out."""
    return "".join(unicodedata.normalize("NFKC", ch) for ch in text if not ch.isspace())


def id_problem(number: str) -> str | None:
    """Why ``number`` is not a resident ID (GB 11643-1999: 17 digits, a valid birth date, the check
    character over them, 0-9 or X), or None."""
    text = plain(number).upper()
    if _SCIENTIFIC.match(text):
        return _problem("id_scientific")
    if len(text) == 15 and text.isdigit():
        return _problem("id_old")
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        return _problem("id_shape")
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return _problem("id_birth")
    check = _ID_CHECKS[sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    if text[17] != check:
        return _problem("id_check")
    return None


def amount_fen(text: str) -> int | str:
    """Yuan as typed (300, 300.5, 1,200.00, ￥300) in fen, or why not."""
    value = cell_yuan(plain(text), Decimal(MAX_AMOUNT_FEN) / 100)
    if isinstance(value, Decimal):
        return int(value * 100)
    if value in ("negative", "size", "cents"):
        return _problem(f"amount_{value}")
    return _problem("amount_not_number", text=text)


# 2026-11-05, 2026/11/5, 2026.11.05 or 2026年11月5日 (\u5e74 年, \u6708 月, \u65e5 日)
_DATE = re.compile(r"^(\d{4})[-/.\u5e74](\d{1,2})[-/.\u6708](\d{1,2})\u65e5?$")


def parse_day(text: str) -> date | str:
    raw = plain(text)
    match = _DATE.match(raw) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", raw))
    if match is None:
        return _problem("day_shape", text=text)
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return _problem("day_none", text=text)


@dataclass
class Problem:
    """One problem of one cell (or row) of an imported roster."""

    line: int
    column: str  # the letter, as Excel shows it ("" for the whole row)
    header: str
    message: str

    def __str__(self) -> str:
        if self.column:
            where = _problem("at_cell", line=self.line, column=self.column, header=self.header)
        else:
            where = _problem("at_line", line=self.line)
        return _problem("shown", where=where, message=self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "header": self.header, "message": self.message}


class RosterInvalid(PowerlistError):
    """The roster's rows have problems; ``problems`` lists every one. Nothing was written."""

    exit_code = 2

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        shown = _problem("separator").join(str(p) for p in problems[:20]) + (
            _problem("more", count=len(problems) - 20) if len(problems) > 20 else ""
        )
        super().__init__(
            code="subsidy.rows_invalid",
            params={"file": filename, "count": len(problems), "problems": shown},
        )
        self.filename = filename
        self.problems = problems


@dataclass
class Row:
    line: int
    name: str
    id_number: str
    household: str
    people: int | None
    amount_fen: int
    paid_on: str | None
    group: str | None

    @property
    def last4(self) -> str:
        return self.id_number[-4:]


def check_rows(rows: list[SheetRow], filename: str) -> list[Row]:
    """The rows as entries, or :class:`RosterInvalid` naming every problem with its line and column."""
    problems: list[Problem] = []
    checked: list[Row] = []
    seen_ids: dict[str, int] = {}
    headers = texts("subsidies.sheet.column_names")
    totals = tuple(data("subsidies.sheet.total_marks"))
    for row in rows:
        values, letters = row.values, row.columns

        def problem(column: str, message: str, row: SheetRow = row) -> None:
            problems.append(Problem(row.line, row.columns.get(column, ""), headers.get(column, ""), message))

        name = values.get("name", "").strip()
        marks = (name.replace(" ", ""), values.get("serial", "").replace(" ", ""))
        if not values.get("id_number") and any(mark.startswith(totals) for mark in marks):
            continue  # the sheet's total line
        ok = True
        if not name:
            problem("name", _problem("name_missing"))
            ok = False
        elif len(name) > 50 or any(ch.isdigit() for ch in name):
            problem("name", _problem("name_wrong"))
            ok = False
        id_text = plain(values.get("id_number", "")).upper()
        why = id_problem(id_text) if id_text else _problem("id_missing")
        if why:
            problem("id_number", why)
            ok = False
        elif id_text in seen_ids:
            problem("id_number", _problem("id_repeated", line=seen_ids[id_text]))
            ok = False
        else:
            seen_ids[id_text] = row.line
        money = amount_fen(values.get("amount", "")) if values.get("amount") else _problem("amount_missing")
        if isinstance(money, str):
            problem("amount", money)
            ok = False
        people: int | None = None
        if values.get("people"):
            text = plain(values["people"])
            if not text.isdigit() or not 1 <= int(text) <= MAX_PEOPLE:
                problem("people", _problem("people_range", max=MAX_PEOPLE))
                ok = False
            else:
                people = int(text)
        paid: str | None = None
        if values.get("paid_on"):
            day = parse_day(values["paid_on"])
            if isinstance(day, str):
                problem("paid_on", day)
                ok = False
            else:
                paid = day.isoformat()
        household = plain(values.get("household", "")).upper()
        if household and not HOUSEHOLD_CODE.match(household):
            problem("household", _problem("household_shape"))
            ok = False
        group = values.get("group", "").strip()[:50] or None
        if ok:
            assert isinstance(money, int)
            checked.append(Row(row.line, name, id_text, household, people, money, paid, group))
        del letters
    if problems:
        raise RosterInvalid(filename, problems)
    if not checked:
        raise RosterInvalid(filename, [Problem(0, "", "", _problem("no_rows"))])
    return checked
