"""补贴去哪了: subsidy rosters (补贴名册) by village, kind and period, and a household's own lookup.

A roster comes from a spreadsheet the town's civil-affairs office keeps (:func:`import_roster`, the same
command for the staff page and ``powerlist subsidies import``) or from a subsidy flow that ends approved
(the ``flows`` of ``rules/defaults/subsidies.yaml``, registered as a step hook). Every row is checked
(name, resident ID with its GB 11643 check character, amount in yuan with at most two decimals, date,
household code); every problem is reported at once with its line and column, and nothing is written
while any is left (all or nothing). A second roster for the same village, kind and period is refused
unless it replaces the first (the first is kept, marked replaced). A flow adds a household to a roster
once: a second approval for a household already on it is skipped and written to the audit log.

What is kept: the recipient's name as typed (shown only through :func:`engine.public.masking.mask_name`),
the ID's region code with the rest as ``*``, the amount, people, payment date, group and household code,
and for the household's own lookup an HMAC-SHA256 under the household's random salt of its code and the
last four characters of the head's ID. Neither the full ID number nor any bank account is stored.

Who: ``subsidy.import`` and ``subsidy.withdraw`` belong to the ``keeping_rosters`` role set within reach
of the village; ``subsidy.read`` (the staff list, with who imported what) and ``subsidy.households``
(the door-plate codes) to those roles and the village's ``disclosing`` cadres; everyone else who reads
the village's matters is refused, and the rest are refused too (a village is public, nothing to hide).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import clock, hooks
from engine.calendar import CST
from engine.errors import Conflict, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, OrgUnit
from engine.public.masking import mask_id_number, mask_known_names, mask_name
from engine.public.spreadsheets import SheetRow, cell_yuan, read_sheet
from engine.public.subsidy_models import SubsidyEntry, SubsidyHousehold, SubsidyLookupAttempt, SubsidyRoster
from engine.ruleset import AreaRulesInvalid, area_rules

RULE_FILE = "subsidies.yaml"
PERIOD_STYLES = ("month", "quarter", "year")
COLUMNS = ("name", "id_number", "group", "people", "amount", "paid_on")
PUBLISHED, WITHDRAWN, REPLACED = "published", "withdrawn", "replaced"
IMPORT, FLOW = "import", "flow"
MAX_AMOUNT_FEN = 100_000_000 * 100  # a hundred million yuan: more on one line is a typo
MAX_PEOPLE = 50
MAX_REASON = 500
WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)

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


# --- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    period: str
    published: tuple[str, ...]


@dataclass(frozen=True)
class FlowSource:
    flow: str
    step: str
    approved: str
    kind: str
    kinds: dict[str, str]
    name: str
    id_number: str
    people: str | None
    amount_fen: str
    paid_on: str | None


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, Kind]
    flows: tuple[FlowSource, ...]
    tries_per_hour: int
    wrong_per_code_per_day: int


_cache: dict[tuple[Any, ...], Rules] = {}


def rules() -> Rules:
    """``rules/defaults/subsidies.yaml`` with the county's file merged over it, checked (read again
    when either file or the rule folder changes: every completed step asks for the flows)."""
    import os
    from pathlib import Path

    from engine.ruleset import DEFAULTS

    folder = os.environ.get("POWERLIST_RULES_DIR")
    files = [DEFAULTS / RULE_FILE, *([Path(folder) / RULE_FILE] if folder else [])]
    key = (folder, *(path.stat().st_mtime_ns if path.is_file() else None for path in files))
    if key not in _cache:
        _cache.clear()
        _cache[key] = _read_rules()
    return _cache[key]


def _read_rules() -> Rules:
    data = area_rules(RULE_FILE, "subsidies", "the subsidy rosters' rule file")
    problems: list[str] = []
    kinds: dict[str, Kind] = {}
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, dict) or not raw_kinds:
        problems.append(f"{RULE_FILE}: subsidies.kinds is a mapping of kind code to its name, period and columns")
        raw_kinds = {}
    for code, spec in raw_kinds.items():
        where = f"{RULE_FILE}: subsidies.kinds.{code}"
        if not isinstance(spec, dict):
            problems.append(f"{where} is a mapping with name, period and published")
            continue
        name, period, published = spec.get("name"), spec.get("period"), spec.get("published")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name is the kind's Chinese name")
        if period not in PERIOD_STYLES:
            problems.append(f"{where}.period is one of {', '.join(PERIOD_STYLES)}, not {period!r}")
        if not isinstance(published, list) or any(column not in COLUMNS for column in published):
            problems.append(f"{where}.published lists columns among {', '.join(COLUMNS)}")
            published = []
        if "amount" not in (published or []):
            problems.append(f"{where}.published must include amount: where the money went is the point")
        kinds[str(code)] = Kind(str(code), str(name), str(period), tuple(published or ()))
    flows: list[FlowSource] = []
    for index, spec in enumerate(data.get("flows") or []):
        where = f"{RULE_FILE}: subsidies.flows[{index}]"
        keys = ("flow", "step", "approved", "kind", "name", "id_number", "amount_fen")
        if not isinstance(spec, dict) or any(not isinstance(spec.get(key), str) for key in keys):
            problems.append(f"{where} names flow, step, approved, kind, name, id_number and amount_fen")
            continue
        mapping = spec.get("kinds") or {}
        if not isinstance(mapping, dict) or any(value not in kinds for value in mapping.values()):
            problems.append(f"{where}.kinds maps the form's values to kinds of subsidies.kinds")
            continue
        flows.append(
            FlowSource(
                flow=spec["flow"],
                step=spec["step"],
                approved=spec["approved"],
                kind=spec["kind"],
                kinds={str(k): str(v) for k, v in mapping.items()},
                name=spec["name"],
                id_number=spec["id_number"],
                people=spec.get("people"),
                amount_fen=spec["amount_fen"],
                paid_on=spec.get("paid_on"),
            )
        )
    limits = {}
    for key, default in (("tries_per_hour", 10), ("wrong_per_code_per_day", 20)):
        value = (data.get("lookup") or {}).get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            problems.append(f"{RULE_FILE}: subsidies.lookup.{key} is a whole number 1 to 1000")
        limits[key] = value
    if problems:
        raise AreaRulesInvalid(problems)
    return Rules(kinds, tuple(flows), limits["tries_per_hour"], limits["wrong_per_code_per_day"])


def kind_of(code: str) -> Kind:
    kinds = rules().kinds
    if code not in kinds:
        raise PowerlistError(
            f"没有「{code}」这一类补贴；可用的有：{'、'.join(f'{k}（{v.name}）' for k, v in kinds.items())}",
            code="subsidy.unknown_kind",
            params={"kind": code, "kinds": ", ".join(kinds)},
            field="kind",
        )
    return kinds[code]


_PERIODS = {
    "month": (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "2026-11"),
    "quarter": (re.compile(r"^(\d{4})Q([1-4])$"), "2026Q4"),
    "year": (re.compile(r"^(\d{4})$"), "2026"),
}


def check_period(kind: Kind, period: str) -> str:
    text = (period or "").strip().upper()
    pattern, example = _PERIODS[kind.period]
    if not pattern.match(text) or not 2000 <= int(text[:4]) <= 2100:
        raise PowerlistError(
            f"{kind.name}按{_STYLE_NAMES[kind.period]}发放，期间应写作 {example}，不是「{period}」",
            code="subsidy.bad_period",
            params={"kind": kind.code, "period": period, "example": example},
            field="period",
        )
    return text


_STYLE_NAMES = {"month": "月", "quarter": "季", "year": "年"}


def period_label(period: str) -> str:
    if "Q" in period:
        return f"{period[:4]}年第{'一二三四'[int(period[-1]) - 1]}季度"
    if "-" in period:
        return f"{period[:4]}年{int(period[5:])}月"
    return f"{period}年度"


def period_of(kind: Kind, day: date) -> str:
    if kind.period == "month":
        return f"{day.year}-{day.month:02d}"
    if kind.period == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


# --- who may ----------------------------------------------------------------------------------------


def decide(session: Session, action: str, target: Any, holds: Any) -> str | None:
    """The policy's answer for ``subsidy.*`` on a village (an OrgUnit)."""
    from engine.policy.rules import access_rules

    rules = access_rules()
    keepers = rules.roles("keeping_rosters")
    if not holds(keepers | rules.roles("acting") | rules.roles("read_only"), target.id):
        return "hidden"  # a village out of reach is as good as absent
    if action in ("subsidy.import", "subsidy.withdraw"):
        return None if holds(keepers, target.id) else "denied"
    if action in ("subsidy.read", "subsidy.households"):
        return None if holds(keepers | rules.roles("disclosing"), target.id) else "denied"
    return "denied"


_ACTION_NAMES = {
    "subsidy.import": "导入、发布这个村的补贴名册",
    "subsidy.withdraw": "撤下这个村的补贴名册",
    "subsidy.read": "查看这个村的补贴名册台账",
    "subsidy.households": "查看这个村的户码",
}


def _require(session: Session, actor: str | None, action: str, village: OrgUnit) -> None:
    from engine import policy

    if policy.may(session, actor, action, village):
        return
    from engine.persistence.models import User

    if not actor or session.scalar(select(User.id).where(User.username == actor, User.active.is_(True))) is None:
        raise NotFound(f"没有启用的用户 {actor}", code="user.unknown", params={"user": actor})
    raise PermissionDenied(
        f"{actor} 无权{_ACTION_NAMES[action]}（{village.name} {village.code}）：这是镇、县民政或农经站经办人的事",
        code="subsidy.denied",
        params={"user": actor, "action": action, "village": village.code},
    )


# --- checking rows ----------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.I)
_HOUSEHOLD = re.compile(r"^[0-9A-Za-z-]{1,32}$")


def _ascii(text: str) -> str:
    """Full-width digits and letters as ASCII, spaces out."""
    return "".join(unicodedata.normalize("NFKC", ch) for ch in text if not ch.isspace())


def id_problem(number: str) -> str | None:
    """Why ``number`` is not a resident ID (GB 11643-1999: 17 digits, a valid birth date, the check
    character over them, 0-9 or X), or None."""
    text = _ascii(number).upper()
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
    value = cell_yuan(_ascii(text), Decimal(MAX_AMOUNT_FEN) / 100)
    if isinstance(value, Decimal):
        return int(value * 100)
    return {
        "negative": "金额不能是负数",
        "size": "金额大得不像一户的补贴，请核对",
        "cents": "金额最多两位小数（到分）",
    }.get(value, f"金额「{text}」不是数字")


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_day(text: str) -> date | str:
    raw = _ascii(text)
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
        id_text = _ascii(values.get("id_number", "")).upper()
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
            text = _ascii(values["people"])
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
        household = _ascii(values.get("household", "")).upper()
        if household and not _HOUSEHOLD.match(household):
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


# --- households and digests -------------------------------------------------------------------------


def digest(salt: str, household_code: str, last4: str) -> str:
    """HMAC-SHA256, under the household's salt, of its code and the last four characters of the head's ID."""
    message = f"{household_code}|{_ascii(last4).upper()}".encode()
    return hmac.new(bytes.fromhex(salt), message, hashlib.sha256).hexdigest()


def _new_household(session: Session, village: OrgUnit, code: str | None, now: datetime) -> SubsidyHousehold:
    if code is None:
        count = session.scalar(select(func.count(SubsidyHousehold.id)).where(SubsidyHousehold.village_id == village.id))
        number = (count or 0) + 1
        while True:
            code = f"{village.code}-{number:04d}"
            taken = session.scalar(
                select(SubsidyHousehold.id).where(
                    SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code
                )
            )
            if taken is None:
                break
            number += 1
    household = SubsidyHousehold(village_id=village.id, code=code, salt=secrets.token_hex(32), created_at=now)
    session.add(household)
    session.flush()
    return household


def _household_for(
    session: Session, village: OrgUnit, code: str, name: str, last4: str, now: datetime, made: dict[str, Any]
) -> SubsidyHousehold:
    """The household by its code (made when new); without a code, the village's household whose earlier
    entry has the same name and head's check, else a new one with a code of the system's."""
    if code:
        if code in made:
            return made[code]
        household = session.scalar(
            select(SubsidyHousehold).where(SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code)
        )
        made[code] = household or _new_household(session, village, code, now)
        return made[code]
    candidates = session.execute(
        select(SubsidyHousehold, SubsidyEntry.check_digest)
        .join(SubsidyEntry, SubsidyEntry.household_id == SubsidyHousehold.id)
        .where(SubsidyHousehold.village_id == village.id, SubsidyEntry.recipient_name == name)
    ).all()
    for household, check in candidates:
        if hmac.compare_digest(check, digest(household.salt, household.code, last4)):
            return household
    return _new_household(session, village, None, now)


def _masked_id(number: str) -> str:
    return number[:6] + "*" * (len(number) - 6)


# --- import, withdraw -------------------------------------------------------------------------------


@dataclass
class Preview:
    """What an import would publish (nothing written): totals and the first rows, masked as published."""

    village: str
    village_name: str
    kind: str
    kind_name: str
    period: str
    filename: str
    sha256: str
    households: int
    people: int
    total_fen: int
    rows: list[dict[str, Any]]
    existing: int | None  # the published roster it would replace
    roster_id: int | None = None


def _prepare(
    session: Session, actor: str | None, data: bytes, filename: str, village_code: str, kind_code: str, period: str
) -> tuple[OrgUnit, Kind, str, list[Row], str]:
    village = get_village(session, village_code)
    _require(session, actor, "subsidy.import", village)
    kind = kind_of(kind_code)
    period = check_period(kind, period)
    rows = check_rows(read_sheet(data, filename, SHEET_COLUMNS, REQUIRED), filename)
    return village, kind, period, rows, hashlib.sha256(data).hexdigest()


def _published(session: Session, village: OrgUnit, kind: str, period: str) -> SubsidyRoster | None:
    return session.scalar(
        select(SubsidyRoster).where(
            SubsidyRoster.village_id == village.id,
            SubsidyRoster.kind == kind,
            SubsidyRoster.period == period,
            SubsidyRoster.status == PUBLISHED,
        )
    )


def preview(
    session: Session, actor: str | None, data: bytes, filename: str, village_code: str, kind_code: str, period: str
) -> Preview:
    """Check a roster file as :func:`import_roster` would, and show what it would publish; writes nothing."""
    village, kind, period, rows, sha = _prepare(session, actor, data, filename, village_code, kind_code, period)
    existing = _published(session, village, kind.code, period)
    return Preview(
        village=village.code,
        village_name=village.name,
        kind=kind.code,
        kind_name=kind.name,
        period=period,
        filename=filename,
        sha256=sha,
        households=len(rows),
        people=sum(row.people or 1 for row in rows),
        total_fen=sum(row.amount_fen for row in rows),
        rows=[_shown(kind, _row_fields(row)) for row in rows[:20]],
        existing=existing.id if existing else None,
    )


def _row_fields(row: Row) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_masked": _masked_id(row.id_number),
        "group": row.group,
        "people": row.people,
        "amount_fen": row.amount_fen,
        "paid_on": row.paid_on,
    }


def import_roster(
    session: Session,
    actor: str | None,
    data: bytes,
    filename: str,
    village_code: str,
    kind_code: str,
    period: str,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> Preview:
    """Check and publish a roster file for a village, kind and period: all rows or none.

    Raises :class:`~engine.public.spreadsheets.SheetInvalid` or :class:`RosterInvalid` (every problem
    with its line and column), :class:`Conflict` when that period's roster is published and
    ``replace`` is not given, :class:`PermissionDenied` for anyone outside ``keeping_rosters``."""
    begin_write(session)
    now = now or clock.now()
    filename = (filename or "roster.csv")[:200]
    village, kind, period, rows, sha = _prepare(session, actor, data, filename, village_code, kind_code, period)
    existing = _published(session, village, kind.code, period)
    if existing is not None and not replace:
        raise Conflict(
            f"{village.name}{period_label(period)}的{kind.name}名册已经发布（#{existing.id}）；要替换它请选择“替换”",
            code="subsidy.exists",
            params={"village": village.code, "kind": kind.code, "period": period, "roster": existing.id},
        )
    roster = SubsidyRoster(
        village_id=village.id,
        kind=kind.code,
        period=period,
        status=PUBLISHED,
        source=IMPORT,
        filename=filename,
        file_sha256=sha,
        households=len(rows),
        people=sum(row.people or 1 for row in rows),
        total_fen=sum(row.amount_fen for row in rows),
        imported_by=actor,
        imported_at=now,
    )
    session.add(roster)
    session.flush()
    made: dict[str, Any] = {}
    for row in rows:
        household = _household_for(session, village, row.household, row.name, row.last4, now, made)
        session.add(
            SubsidyEntry(
                roster_id=roster.id,
                household_id=household.id,
                line=row.line,
                recipient_name=row.name,
                id_masked=_masked_id(row.id_number),
                people=row.people,
                amount_fen=row.amount_fen,
                paid_on=row.paid_on,
                group_name=row.group,
                check_digest=digest(household.salt, household.code, row.last4),
            )
        )
    if existing is not None:
        existing.status = REPLACED
        existing.replaced_by_id = roster.id
        existing.withdrawn_by, existing.withdrawn_at = actor, now
        existing.withdraw_reason = f"由 #{roster.id}（{filename}）替换"
    detail = {
        "roster": roster.id,
        "village": village.code,
        "kind": kind.code,
        "period": period,
        "file": filename,
        "sha256": sha,
        "rows": len(rows),
        "total_fen": roster.total_fen,
        "replaces": existing.id if existing is not None else None,
    }
    session.add(AuditLog(at=now, actor=actor, action="subsidy.import", subject=f"roster #{roster.id}", detail=detail))
    session.flush()
    shown = preview_of(roster, kind, village, rows)
    return shown


def preview_of(roster: SubsidyRoster, kind: Kind, village: OrgUnit, rows: list[Row]) -> Preview:
    return Preview(
        village=village.code,
        village_name=village.name,
        kind=kind.code,
        kind_name=kind.name,
        period=roster.period,
        filename=roster.filename or "",
        sha256=roster.file_sha256 or "",
        households=roster.households,
        people=roster.people,
        total_fen=roster.total_fen,
        rows=[_shown(kind, _row_fields(row)) for row in rows[:20]],
        existing=None,
        roster_id=roster.id,
    )


def withdraw(session: Session, actor: str | None, roster_id: int, reason: str, now: datetime | None = None) -> dict:
    """Take a published roster down (a wrong one), with the reason; it stays in the record."""
    begin_write(session)
    now = now or clock.now()
    roster = session.get(SubsidyRoster, roster_id)
    if roster is None:
        raise NotFound(f"没有编号为 {roster_id} 的补贴名册", code="subsidy.not_found", params={"roster": roster_id})
    village = session.get(OrgUnit, roster.village_id)
    assert village is not None
    _require(session, actor, "subsidy.withdraw", village)
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= MAX_REASON:
        raise PowerlistError(
            f"撤下名册要写明原因（2 到 {MAX_REASON} 个字）",
            code="subsidy.reason_needed",
            params={"max": MAX_REASON},
            field="reason",
        )
    if roster.status != PUBLISHED:
        raise InvalidState(
            f"名册 #{roster.id} 已经不在公布中", code="subsidy.not_published", params={"roster": roster.id}
        )
    roster.status = WITHDRAWN
    roster.withdrawn_by, roster.withdrawn_at, roster.withdraw_reason = actor, now, reason
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="subsidy.withdraw",
            subject=f"roster #{roster.id}",
            detail={
                "roster": roster.id,
                "village": village.code,
                "kind": roster.kind,
                "period": roster.period,
                "reason": reason,
            },
        )
    )
    session.flush()
    return staff_roster(roster, village)


# --- flows ------------------------------------------------------------------------------------------


def _field(steps: dict[str, dict[str, Any]], path: str | None) -> Any:
    if not path:
        return None
    step, _, name = path.partition(".")
    return (steps.get(step) or {}).get(name)


@hooks.after_step
def _from_flow(context: hooks.StepContext) -> None:
    """A subsidy flow whose result step is done with the county's approval adds the household to its
    village's roster of that kind for the period of the approval."""
    from engine.history.events import EventKind
    from engine.supervision.facts import matter_facts

    key = context.definition.key
    done = [e for e in context.events if e.kind == EventKind.TASK_COMPLETED and e.step_id]
    if not done:
        return
    sources = [s for s in rules().flows if s.flow == key and any(e.step_id == s.step for e in done)]
    for source in sources:
        session, instance = context.session, context.instance
        facts = matter_facts(session, instance, key)
        if _field(facts.steps, source.approved) is not True:
            continue
        kind_code = source.kinds.get(str(_field(facts.steps, source.kind)))
        name = str(_field(facts.steps, source.name) or "").strip()[:50]
        number = _ascii(str(_field(facts.steps, source.id_number) or "")).upper()
        money = _field(facts.steps, source.amount_fen)
        # the flow's form checked the ID's form; its check character is the county's business there
        well_formed = re.fullmatch(r"\d{17}[\dX]", number) is not None
        if not kind_code or not name or not well_formed or not isinstance(money, int) or money < 0:
            continue
        if session.scalar(select(SubsidyEntry.id).where(SubsidyEntry.instance_id == instance.id)) is not None:
            continue
        paid = _field(facts.steps, source.paid_on)
        day = parse_day(paid) if isinstance(paid, str) else None
        if not isinstance(day, date):
            day = clock.as_utc(context.now).astimezone(CST).date()
        people = _field(facts.steps, source.people)
        people = people if isinstance(people, int) and not isinstance(people, bool) and people > 0 else None
        village = session.get(OrgUnit, instance.village_id)
        assert village is not None
        kind = rules().kinds[kind_code]
        add_entry(
            session,
            village,
            kind,
            period_of(kind, day),
            Row(0, name, number, "", people, money, day.isoformat(), None),
            actor=context.actor,
            now=context.now,
            instance_id=instance.id,
        )


def add_entry(
    session: Session,
    village: OrgUnit,
    kind: Kind,
    period: str,
    row: Row,
    *,
    actor: str | None,
    now: datetime,
    instance_id: int | None = None,
) -> SubsidyEntry | None:
    """One household added to the period's published roster of the kind (made when there is none).

    A household already on that roster (the same household code, or the same head's name and ID
    check as an earlier entry of the village) is not added twice: None, and the skip is in the
    audit log (``subsidy.entry_skipped``) for the keepers to look at."""
    roster = _published(session, village, kind.code, period)
    if roster is None:
        roster = SubsidyRoster(
            village_id=village.id,
            kind=kind.code,
            period=period,
            status=PUBLISHED,
            source=FLOW,
            households=0,
            people=0,
            total_fen=0,
            imported_by=actor,
            imported_at=now,
        )
        session.add(roster)
        session.flush()
    household = _household_for(session, village, row.household, row.name, row.last4, now, {})
    there = session.scalar(
        select(SubsidyEntry.id).where(SubsidyEntry.roster_id == roster.id, SubsidyEntry.household_id == household.id)
    )
    if there is not None:
        detail = {
            "roster": roster.id,
            "household": household.code,
            "entry": there,
            "instance": instance_id,
            "amount_fen": row.amount_fen,
        }
        session.add(
            AuditLog(at=now, actor=actor, action="subsidy.entry_skipped", subject=f"roster #{roster.id}", detail=detail)
        )
        session.flush()
        return None
    entry = SubsidyEntry(
        roster_id=roster.id,
        household_id=household.id,
        line=None,
        recipient_name=row.name,
        id_masked=_masked_id(row.id_number),
        people=row.people,
        amount_fen=row.amount_fen,
        paid_on=row.paid_on,
        group_name=row.group,
        check_digest=digest(household.salt, household.code, row.last4),
        instance_id=instance_id,
    )
    session.add(entry)
    roster.households += 1
    roster.people += row.people or 1
    roster.total_fen += row.amount_fen
    session.flush()
    return entry


# --- what staff see ---------------------------------------------------------------------------------


def staff_roster(roster: SubsidyRoster, village: OrgUnit) -> dict[str, Any]:
    kinds = rules().kinds
    return {
        "id": roster.id,
        "village": village.code,
        "village_name": village.name,
        "kind": roster.kind,
        "kind_name": kinds[roster.kind].name if roster.kind in kinds else roster.kind,
        "period": roster.period,
        "period_label": period_label(roster.period),
        "status": roster.status,
        "source": roster.source,
        "filename": roster.filename,
        "sha256": roster.file_sha256,
        "households": roster.households,
        "people": roster.people,
        "total_fen": roster.total_fen,
        "imported_by": roster.imported_by,
        "imported_at": clock.as_utc(roster.imported_at).isoformat(),
        "withdrawn_by": roster.withdrawn_by,
        "withdrawn_at": clock.as_utc(roster.withdrawn_at).isoformat() if roster.withdrawn_at else None,
        "withdraw_reason": roster.withdraw_reason,
        "replaced_by": roster.replaced_by_id,
    }


def rosters_for_staff(session: Session, actor: str | None, village_code: str) -> list[dict[str, Any]]:
    """Every roster of the village, withdrawn and replaced ones too, newest period first."""
    village = get_village(session, village_code)
    _require(session, actor, "subsidy.read", village)
    rows = session.scalars(
        select(SubsidyRoster)
        .where(SubsidyRoster.village_id == village.id)
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind, SubsidyRoster.id.desc())
    )
    return [staff_roster(roster, village) for roster in rows]


def households_of(session: Session, actor: str | None, village_code: str) -> list[dict[str, Any]]:
    """The village's households by door-plate code (户码), with the latest head's name masked, to print
    the plates; the check (last four of the head's ID) is the household's own and never listed."""
    village = get_village(session, village_code)
    _require(session, actor, "subsidy.households", village)
    latest = (
        select(SubsidyEntry.household_id, func.max(SubsidyEntry.id).label("entry_id"))
        .group_by(SubsidyEntry.household_id)
        .subquery()
    )
    rows = session.execute(
        select(SubsidyHousehold.code, SubsidyEntry.recipient_name, SubsidyEntry.group_name)
        .join(latest, latest.c.household_id == SubsidyHousehold.id)
        .join(SubsidyEntry, SubsidyEntry.id == latest.c.entry_id)
        .where(SubsidyHousehold.village_id == village.id)
        .order_by(SubsidyHousehold.code)
    ).all()
    return [{"code": r.code, "head": mask_name(r.recipient_name), "group": r.group_name or ""} for r in rows]


def villages_for(session: Session, actor: str | None) -> list[OrgUnit]:
    """The villages whose rosters ``actor`` may import (for the staff page's choice)."""
    from engine import policy
    from engine.public.villages import villages

    return [unit for unit in villages(session) if policy.may(session, actor, "subsidy.import", unit)]


# --- what villagers see -----------------------------------------------------------------------------


def _shown(kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """An entry as the public sees it: only the kind's published columns, masked."""
    published = set(kind.published)
    return {
        "name": mask_name(fields["name"]) if "name" in published else None,
        "id_number": mask_id_number(fields["id_masked"]) if "id_number" in published else None,
        "group": mask_known_names(fields.get("group") or "", fields["name"], 50) if "group" in published else None,
        "people": fields.get("people") if "people" in published else None,
        "amount_fen": fields["amount_fen"],
        "paid_on": fields.get("paid_on") if "paid_on" in published else None,
    }


def _entry_fields(entry: SubsidyEntry) -> dict[str, Any]:
    return {
        "name": entry.recipient_name,
        "id_masked": entry.id_masked,
        "group": entry.group_name,
        "people": entry.people,
        "amount_fen": entry.amount_fen,
        "paid_on": entry.paid_on,
    }


def _public_roster(roster: SubsidyRoster, kinds: dict[str, Kind]) -> dict[str, Any]:
    kind = kinds.get(roster.kind)
    return {
        "id": roster.id,
        "kind": roster.kind,
        "kind_name": kind.name if kind else roster.kind,
        "period": roster.period,
        "period_label": period_label(roster.period),
        "households": roster.households,
        "people": roster.people,
        "total_fen": roster.total_fen,
        "published_on": clock.as_utc(roster.imported_at).astimezone(CST).date().isoformat(),
        "columns": list(kind.published) if kind else ["amount"],
    }


ROSTERS_PER_PAGE = 12
ENTRIES_PER_PAGE = 50
PREVIEW_ENTRIES = 10


def public_rosters(session: Session, village: OrgUnit, page: int = 1) -> dict[str, Any]:
    """The village's published rosters, newest period first, each with its first entries, masked."""
    kinds = rules().kinds
    base = select(SubsidyRoster).where(
        SubsidyRoster.village_id == village.id, SubsidyRoster.status == PUBLISHED, SubsidyRoster.kind.in_(list(kinds))
    )
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-count // ROSTERS_PER_PAGE))
    page = min(max(page, 1), pages)
    rosters = list(
        session.scalars(
            base.order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind, SubsidyRoster.id.desc())
            .offset((page - 1) * ROSTERS_PER_PAGE)
            .limit(ROSTERS_PER_PAGE)
        )
    )
    shown = []
    for roster in rosters:
        data = _public_roster(roster, kinds)
        entries = session.scalars(
            select(SubsidyEntry)
            .where(SubsidyEntry.roster_id == roster.id)
            .order_by(SubsidyEntry.id)
            .limit(PREVIEW_ENTRIES)
        )
        data["entries"] = [_shown(kinds[roster.kind], _entry_fields(e)) for e in entries]
        data["more"] = roster.households > PREVIEW_ENTRIES
        shown.append(data)
    return {"rosters": shown, "page": page, "pages": pages, "count": count}


def public_roster(session: Session, village: OrgUnit, roster_id: int, page: int = 1) -> dict[str, Any]:
    """One published roster of the village, paged, masked."""
    kinds = rules().kinds
    roster = session.get(SubsidyRoster, roster_id)
    if roster is None or roster.village_id != village.id or roster.status != PUBLISHED or roster.kind not in kinds:
        raise NotFound("没有这份补贴名册", code="subsidy.not_found", params={"roster": roster_id})
    data = _public_roster(roster, kinds)
    pages = max(1, -(-roster.households // ENTRIES_PER_PAGE))
    page = min(max(page, 1), pages)
    entries = session.scalars(
        select(SubsidyEntry)
        .where(SubsidyEntry.roster_id == roster.id)
        .order_by(SubsidyEntry.id)
        .offset((page - 1) * ENTRIES_PER_PAGE)
        .limit(ENTRIES_PER_PAGE)
    )
    data["entries"] = [_shown(kinds[roster.kind], _entry_fields(e)) for e in entries]
    data.update(page=page, pages=pages, first=(page - 1) * ENTRIES_PER_PAGE + 1)
    return data


def village_section(session: Session, village: OrgUnit) -> dict[str, Any]:
    """For the village page: the latest published rosters (no entries)."""
    kinds = rules().kinds
    rosters = session.scalars(
        select(SubsidyRoster)
        .where(
            SubsidyRoster.village_id == village.id,
            SubsidyRoster.status == PUBLISHED,
            SubsidyRoster.kind.in_(list(kinds)),
        )
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind)
        .limit(4)
    )
    return {"code": village.code, "rosters": [_public_roster(r, kinds) for r in rosters]}


# --- a household's own lookup -----------------------------------------------------------------------


@dataclass
class Lookup:
    """The answer to a household lookup: its receipts, a mismatch ("对不上", whichever part was wrong),
    or how long to wait."""

    matched: bool = False
    wait_seconds: int = 0
    code_locked: bool = False  # too many wrong checks for this household code today, from anywhere
    receipts: list[dict[str, Any]] = field(default_factory=list)
    total_fen: int = 0


_DUMMY_SALT = "00" * 32
MIN_LOOKUP_S = 0.05  # every answer takes at least this long: an unknown code answers like a wrong check


def lookup(session: Session, village_code: str, household_code: str, check: str, address: str | None) -> Lookup:
    """A household's receipts across kinds and periods, by its door-plate code and the last four
    characters of the head's ID. Every try counts against the sender (:func:`engine.public.throttle.sender`); the
    caller commits whatever the answer."""
    from engine.public.throttle import sender, wait_seconds
    from engine.public.villages import public_village

    started = time.monotonic()
    begin_write(session)
    village = public_village(session, village_code)
    who = sender(address)
    wait = wait_seconds(session, SubsidyLookupAttempt, who, rules().tries_per_hour, WINDOW)
    if wait:
        return Lookup(wait_seconds=wait)
    now = clock.now()
    session.execute(delete(SubsidyLookupAttempt).where(SubsidyLookupAttempt.at < now - KEEP))
    code = _ascii(household_code or "").upper()[:32]
    last4 = _ascii(check or "").upper()[:4]
    attempt = SubsidyLookupAttempt(address=who, at=now, village_id=village.id, code=code, matched=False)
    session.add(attempt)
    session.flush()
    wrong = session.scalar(
        select(func.count())
        .select_from(SubsidyLookupAttempt)
        .where(
            SubsidyLookupAttempt.village_id == village.id,
            SubsidyLookupAttempt.code == code,
            SubsidyLookupAttempt.matched.is_(False),
            SubsidyLookupAttempt.at > now - KEEP,
        )
    )
    if wrong > rules().wrong_per_code_per_day:  # counted whether the code exists or not: reveals nothing
        _pad(started)
        return Lookup(code_locked=True)
    household = None
    if code and _HOUSEHOLD.match(code):
        household = session.scalar(
            select(SubsidyHousehold).where(SubsidyHousehold.village_id == village.id, SubsidyHousehold.code == code)
        )
    expected = digest(household.salt if household else _DUMMY_SALT, code, last4)
    kinds = rules().kinds
    rows = session.execute(
        select(SubsidyEntry, SubsidyRoster)
        .join(SubsidyRoster, SubsidyRoster.id == SubsidyEntry.roster_id)
        .where(
            SubsidyEntry.household_id == (household.id if household else -1),
            SubsidyEntry.check_digest == expected,
            SubsidyRoster.status == PUBLISHED,
        )
        .order_by(SubsidyRoster.period.desc(), SubsidyRoster.kind)
    ).all()
    result = Lookup()
    if rows and len(last4) == 4:
        result.matched = True
        for entry, roster in rows:
            kind = kinds.get(roster.kind)
            result.receipts.append(
                {
                    "kind_name": kind.name if kind else roster.kind,
                    "period": roster.period,
                    "period_label": period_label(roster.period),
                    "name": mask_name(entry.recipient_name),
                    "people": entry.people,
                    "amount_fen": entry.amount_fen,
                    "paid_on": entry.paid_on,
                }
            )
            result.total_fen += entry.amount_fen
    attempt.matched = result.matched
    _pad(started)
    return result


def _pad(started: float) -> None:
    """Every answer takes at least :data:`MIN_LOOKUP_S`: an unknown code answers like a wrong check."""
    elapsed = time.monotonic() - started
    if elapsed < MIN_LOOKUP_S:
        time.sleep(MIN_LOOKUP_S - elapsed)
