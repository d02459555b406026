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

MAX_AMOUNT_FEN = 100_000_000 * 100  # a hundred million yuan: more on one line is a typo
MAX_PEOPLE = 50


# The spreadsheet columns read, by the headers county sheets use. 银行卡号 is never asked for: it is
# not read, kept or shown.
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("户主姓名", "姓名", "领取人姓名", "领取人", "户主", "补贴对象", "保障对象", "申请人", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "户主身份证号", "证件号码", "id_number"),
    "household": ("户号", "户编码", "户码", "household"),
    "people": ("人数", "享受人数", "保障人数", "家庭人口", "家庭人数", "people"),
    "amount": ("金额(元)", "金额", "发放金额", "补贴金额", "补助金额", "保障金额", "发放金额(元)", "amount"),
    "paid_on": ("发放日期", "发放时间", "日期", "paid_on"),
    "group": ("村/组", "组", "村民小组", "所在组", "组别", "group"),
    "serial": ("序号", "编号"),  # read only to know the sheet's 合计 line
}
REQUIRED = frozenset({"name", "id_number", "amount"})
COLUMN_NAMES = {
    "name": "姓名",
    "id_number": "身份证号",
    "household": "户号",
    "people": "人数",
    "amount": "金额(元)",
    "paid_on": "发放日期",
    "group": "村/组",
}


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
        return "Excel 把身份证号变成了科学计数法，后几位已经丢了；请把这一列设为“文本”后重新填写"
    if len(text) == 15 and text.isdigit():
        return "这是 15 位的旧身份证号，请填 18 位的"
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        return "身份证号应是 18 位（前 17 位是数字，最后一位是数字或 X）"
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return "身份证号里的出生日期不对"
    check = _ID_CHECKS[sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    if text[17] != check:
        return "身份证号的校验位不对（多半是某一位抄错了）"
    return None


def amount_fen(text: str) -> int | str:
    """Yuan as typed (300, 300.5, 1,200.00, ￥300) in fen, or why not."""
    value = cell_yuan(plain(text), Decimal(MAX_AMOUNT_FEN) / 100)
    if isinstance(value, Decimal):
        return int(value * 100)
    return {
        "negative": "金额不能是负数",
        "size": "金额大得不像一户的补贴，请核对",
        "cents": "金额最多两位小数（到分）",
    }.get(value, f"金额「{text}」不是数字")


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_day(text: str) -> date | str:
    raw = plain(text)
    match = _DATE.match(raw) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", raw))
    if match is None:
        return f"日期「{text}」应写作 2026-11-05"
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return f"没有「{text}」这一天"


@dataclass
class Problem:
    """One problem of one cell (or row) of an imported roster."""

    line: int
    column: str  # the letter, as Excel shows it ("" for the whole row)
    header: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行" + (f" {self.column} 列（{self.header}）" if self.column else "")
        return f"{where}：{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "header": self.header, "message": self.message}


class RosterInvalid(PowerlistError):
    """The roster's rows have problems; ``problems`` lists every one. Nothing was written."""

    exit_code = 2

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        shown = "；".join(str(p) for p in problems[:20]) + (
            f"；另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
        )
        super().__init__(
            f"{filename} 有 {len(problems)} 处问题，名册没有导入：{shown}",
            code="subsidy.rows_invalid",
            params={"file": filename, "count": len(problems)},
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
    for row in rows:
        values, letters = row.values, row.columns

        def problem(column: str, message: str, row: SheetRow = row) -> None:
            problems.append(Problem(row.line, row.columns.get(column, ""), COLUMN_NAMES.get(column, ""), message))

        name = values.get("name", "").strip()
        marks = (name.replace(" ", ""), values.get("serial", "").replace(" ", ""))
        if not values.get("id_number") and any(mark.startswith(("合计", "总计", "小计")) for mark in marks):
            continue  # the sheet's total line
        ok = True
        if not name:
            problem("name", "缺姓名")
            ok = False
        elif len(name) > 50 or any(ch.isdigit() for ch in name):
            problem("name", "姓名不对（太长或含数字）")
            ok = False
        id_text = plain(values.get("id_number", "")).upper()
        why = id_problem(id_text) if id_text else "缺身份证号"
        if why:
            problem("id_number", why)
            ok = False
        elif id_text in seen_ids:
            problem("id_number", f"和第 {seen_ids[id_text]} 行是同一个身份证号")
            ok = False
        else:
            seen_ids[id_text] = row.line
        money = amount_fen(values.get("amount", "")) if values.get("amount") else "缺金额"
        if isinstance(money, str):
            problem("amount", money)
            ok = False
        people: int | None = None
        if values.get("people"):
            text = plain(values["people"])
            if not text.isdigit() or not 1 <= int(text) <= MAX_PEOPLE:
                problem("people", f"人数应是 1 到 {MAX_PEOPLE} 的整数")
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
            problem("household", "户号只能是 32 位以内的数字、字母和横线")
            ok = False
        group = values.get("group", "").strip()[:50] or None
        if ok:
            assert isinstance(money, int)
            checked.append(Row(row.line, name, id_text, household, people, money, paid, group))
        del letters
    if problems:
        raise RosterInvalid(filename, problems)
    if not checked:
        raise RosterInvalid(filename, [Problem(0, "", "", "表头下面没有一行数据")])
    return checked
