"""The village's collective accounts for 我们的钱包: a month's journal (序时账) imported from the
accounting system the town's 三资中心 keeps (村账镇代管).

``ledger.import`` (role set ``keeping_accounts``, within reach of the village) takes one month's journal
as CSV or .xlsx (read by :func:`engine.public.spreadsheets.read_sheet`; the headers each column may have
are rule data, ``journal.columns`` of ``rules/defaults/wallet.yaml``): 日期, 凭证号, 摘要, 科目/类别,
收入/支出 amounts in yuan, optionally 支付流水号; a line whose 科目 or 摘要 is 期初余额/上年结转 gives the
month's opening balance, and the year's when the month is January or the line says so (``year_opening``
of the rules: 上年结转, 年初余额). All or nothing: every problem is reported with its line and column
and nothing is written. A month already imported is refused unless replacing it, with a reason; the
replaced import stays (marked replaced) and the file's SHA-256 is kept. A month whose finance disclosure
the 村监会 has signed (or that was posted) is refused: the disclosure is frozen, so a correction goes
into a later month's journal, as accountants do. Each import is in the AuditLog. When the books pay a
flow payment more than the matter approved, the supervision raises ``paid_above_approved``.

Actions (through :func:`engine.policy.require`, routed here by the ``ledger.`` prefix):
``ledger.read`` (the imports list: keepers, supervisors and read-only roles within reach) and
``ledger.import`` (``keeping_accounts``); someone with no role within reach of the village gets
NotFound.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.errors import Conflict, PowerlistError
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, Matter, OrgUnit
from engine.public.disclosure_models import Disclosure, DisclosureStatus
from engine.public.ledger_models import LedgerImport, LedgerLine
from engine.public.spreadsheets import CENT, cell_yuan, read_sheet
from engine.public.wallet import category_of, flow_payments, wallet_rules, with_books
from engine.texts import text, texts

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_FEN = 10**13  # a hundred billion yuan: anything larger is a typing slip
MAX_YUAN = Decimal(MAX_FEN) / 100
SUMMARY_MAX = 200
REASON_MAX = 200


@dataclass
class JournalProblem:
    line: int | None
    column: str | None
    header: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line:
            where.append(text("wallet.journal.line", line=self.line))
        if self.column:
            where.append(text("wallet.journal.column", column=self.column))
        if self.header:
            where.append(text("wallet.journal.header", header=self.header))
        return text("wallet.journal.shown", where=" ".join(where), message=self.message) if where else self.message


def _problem(key: str, **params: Any) -> str:
    return text(f"wallet.journal.problems.{key}", **params)


class JournalInvalid(PowerlistError):
    """The journal has problems; ``problems`` name each one's line and column. Nothing was written."""

    exit_code = 2

    def __init__(self, filename: str, problems: list[JournalProblem]) -> None:
        shown = text("wallet.journal.separator").join(str(p) for p in problems)
        super().__init__(
            text("wallet.journal.invalid", file=filename, problems=shown),
            code="ledger.journal_invalid",
            params={"file": filename, "count": len(problems), "problems": shown},
            field=problems[0].header if problems else None,
        )
        self.problems = problems


class MonthInvalid(PowerlistError):
    exit_code = 2

    def __init__(self, month: Any) -> None:
        super().__init__(code="ledger.month_invalid", params={"month": month, "typed": repr(month)})


@dataclass
class Journal:
    """A month's journal, read and checked: the lines to store and what they add up to."""

    filename: str
    month: str
    sha256: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    opening_fen: int | None = None  # the month's 期初余额
    year_opening_fen: int | None = None  # the year's opening (January's, or a 上年结转/年初余额 line)

    @property
    def income_fen(self) -> int:
        return sum(line["income_fen"] for line in self.lines)

    @property
    def spending_fen(self) -> int:
        return sum(line["spending_fen"] for line in self.lines)


# --- policy -------------------------------------------------------------------------------------


# --- reading a journal --------------------------------------------------------------------------


def check_month(month: Any) -> str:
    found = MONTH.match(str(month or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise MonthInvalid(month)
    return found.group(0)


def _fen(text: str) -> int | None:
    """Yuan as typed (1,234.50, ¥1234.5, 1234, -20 for a correction) in fen; None when it is no amount
    (or absurdly large: 1e400 or a 29-digit number is a typing slip, not a sum)."""
    value = cell_yuan(text, MAX_YUAN - CENT, negative=True)
    return int(value * 100) if isinstance(value, Decimal) else None


# 2026/11/05, 2026.11.05 and 2026年11月05日 as 2026-11-05: / . 年 (U+5E74) 月 (U+6708) as dashes, 日 (U+65E5) dropped
_DAY_MARKS = {ord("/"): "-", ord("."): "-", 0x5E74: "-", 0x6708: "-"}
_DAY_END = chr(0x65E5)


def _day(text: str) -> str | None:
    cleaned = text.strip().translate(_DAY_MARKS).rstrip(_DAY_END)
    cleaned = cleaned.split(" ")[0].split("T")[0]
    parts = cleaned.split("-")
    if len(parts) != 3:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        return None


def read_journal(data: bytes, filename: str, month: str) -> Journal:
    """The journal in ``data`` for ``month`` (YYYY-MM), checked; :class:`JournalInvalid` naming every problem."""
    month = check_month(month)
    rules = wallet_rules()
    columns = {name: tuple(str(h) for h in headers) for name, headers in rules["columns"].items()}
    rows = read_sheet(data, filename, columns, {"day", "summary", "category", "income", "spending"})
    journal = Journal(filename, month, hashlib.sha256(data).hexdigest())
    problems: list[JournalProblem] = []
    opening_words = set(rules["opening"]) | set(rules["year_opening"])
    year_words = set(rules["year_opening"])

    def problem(row, name: str | None, message: str) -> None:
        column = row.columns.get(name) if name else None
        header = columns[name][0] if name else None
        problems.append(JournalProblem(row.line, column, header, message))

    for row in rows:
        values = row.values
        day = _day(values.get("day", ""))
        summary = values.get("summary", "").strip()
        category_text = values.get("category", "").strip()
        income_text, spending_text = values.get("income", "").strip(), values.get("spending", "").strip()
        income = _fen(income_text) if income_text else 0
        spending = _fen(spending_text) if spending_text else 0
        if income is None or income < 0 or income >= MAX_FEN:
            problem(row, "income", _problem("amount", text=income_text))
        if spending is None or spending < 0 or spending >= MAX_FEN:
            problem(row, "spending", _problem("amount", text=spending_text))
        if summary in opening_words or category_text in opening_words:
            amount = (income or 0) or (spending or 0)
            if income is not None and spending is not None:
                amount = amount if income else -amount
                if month.endswith("-01"):
                    journal.opening_fen = journal.year_opening_fen = amount
                elif summary in year_words or category_text in year_words:
                    journal.year_opening_fen = amount
                else:
                    journal.opening_fen = amount
            continue
        if day is None:
            problem(row, "day", _problem("day_unreadable", text=values.get("day", "")))
        elif day[:7] != month:
            problem(row, "day", _problem("day_outside", day=day, month=month))
        if not summary:
            problem(row, "summary", _problem("summary_empty"))
        elif len(summary) > SUMMARY_MAX:
            problem(row, "summary", _problem("summary_long", max=SUMMARY_MAX))
        if income is None or spending is None:
            continue
        if bool(income) == bool(spending):
            problem(row, "income", _problem("one_side"))
            continue
        side = "income" if income else "spending"
        category = category_of(category_text, side)
        if category is None:
            separator = text("public.list.separator")
            known = separator.join(r["name"] for r in rules["categories"].values() if r["side"] == side)
            sides = texts("wallet.journal.sides")
            problem(row, "category", _problem("category", text=category_text, side=sides[side], known=known))
            continue
        if day is None or day[:7] != month or not summary or len(summary) > SUMMARY_MAX:
            continue
        journal.lines.append(
            {
                "line_no": row.line,
                "day": day,
                "voucher_no": values.get("voucher", "").strip()[:60] or None,
                "reference": values.get("reference", "").strip()[:100] or None,
                "summary": summary,
                "category": category,
                "income_fen": income,
                "spending_fen": spending,
            }
        )
    if not problems and not journal.lines and journal.opening_fen is None and journal.year_opening_fen is None:
        problems.append(JournalProblem(None, None, None, _problem("no_lines")))
    if problems:
        raise JournalInvalid(filename, problems)
    return journal


# --- commands -----------------------------------------------------------------------------------


def _current(session: Session, village_id: int, month: str) -> LedgerImport | None:
    return session.scalar(
        select(LedgerImport).where(
            LedgerImport.village_id == village_id, LedgerImport.month == month, LedgerImport.replaced_at.is_(None)
        )
    )


@dataclass(frozen=True, slots=True)
class JournalTotals:
    """A month's journal as read: its file, digest, number of lines, totals and balances."""

    month: str
    file: str
    sha256: str
    lines: int
    income_fen: int
    spending_fen: int
    opening_fen: int | None
    year_opening_fen: int | None


@dataclass(frozen=True, slots=True)
class ImportShown(JournalTotals):
    """One month's import as the staff who keep or check the accounts see it."""

    id: int
    imported_by: str | None
    imported_at: str | None
    replaced_at: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class JournalPreview(JournalTotals):
    """What importing a journal would do: its totals, the spending lines matched to a flow payment, whether
    the month's finance disclosure is signed already, and the import it would replace."""

    village: str
    disclosed: bool
    matched: int
    matched_fen: int
    replaces: ImportShown | None
    rows: list[dict[str, Any]]


def preview(session: Session, actor: str, village_code: str, month: str, data: bytes, filename: str) -> JournalPreview:
    """What importing the file would do, without doing it: the totals, the lines matched to a flow
    payment, and the month's current import if there is one (importing then needs replacing)."""
    village = get_village(session, village_code)
    policy.require(session, actor, "ledger.import", village)
    journal = read_journal(data, filename, month)
    known = {p["reference"] for p in flow_payments(session, village.id) if p["reference"]}
    matched = [
        line
        for line in journal.lines
        if line["spending_fen"] and (line["voucher_no"] in known or line["reference"] in known)
    ]
    current = _current(session, village.id, journal.month)
    return JournalPreview(
        village=village.code,
        month=journal.month,
        file=filename,
        sha256=journal.sha256,
        lines=len(journal.lines),
        income_fen=journal.income_fen,
        spending_fen=journal.spending_fen,
        opening_fen=journal.opening_fen,
        year_opening_fen=journal.year_opening_fen,
        disclosed=_disclosed(session, village.id, journal.month) is not None,
        matched=len(matched),
        matched_fen=sum(line["spending_fen"] for line in matched),
        replaces=describe(current) if current else None,
        rows=journal.lines,
    )


def import_journal(
    session: Session,
    actor: str,
    village_code: str,
    month: str,
    data: bytes,
    filename: str,
    replace: bool = False,
    reason: str | None = None,
) -> LedgerImport:
    """Import one month's journal of a village, all or nothing (see the module's docstring)."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "ledger.import", village)
    journal = read_journal(data, filename, month)
    now = clock.now()
    if _disclosed(session, village.id, journal.month) is not None:
        raise Conflict(
            code="ledger.month_disclosed",
            params={"village": village.code, "month": journal.month},
        )
    current = _current(session, village.id, journal.month)
    reason = (reason or "").strip()[:REASON_MAX] or None
    if current is not None:
        if not replace:
            raise Conflict(
                code="ledger.month_imported",
                params={"village": village.code, "month": journal.month, "file": current.file_name},
            )
        if reason is None:
            raise PowerlistError(
                code="ledger.reason_required",
                params={"month": journal.month},
                field="reason",
            )
        current.replaced_at = now
    row = LedgerImport(
        village_id=village.id,
        month=journal.month,
        file_name=filename[:200],
        sha256=journal.sha256,
        lines=len(journal.lines),
        income_fen=journal.income_fen,
        spending_fen=journal.spending_fen,
        opening_fen=journal.opening_fen,
        year_opening_fen=journal.year_opening_fen,
        imported_by=actor,
        imported_at=now,
        replaced_at=None,
        replaces_id=current.id if current else None,
        reason=reason,
    )
    session.add(row)
    session.flush()
    for line in journal.lines:
        session.add(LedgerLine(import_id=row.id, village_id=village.id, **line))
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="ledger.import",
            subject=f"{village.code} {journal.month}",
            detail={**asdict(describe(row)), "replaced": current.id if current else None},
        )
    )
    session.flush()
    _check_books(session, village, row, now)
    return row


def _disclosed(session: Session, village_id: int, month: str) -> Disclosure | None:
    """The village's finance disclosure covering ``month`` (monthly, or a county's quarterly one) that
    the 村监会 signed or that was posted: its content is frozen, so the month's accounts are too."""
    year, number = month.split("-")
    periods = (month, f"{year}Q{(int(number) - 1) // 3 + 1}")
    return session.scalar(
        select(Disclosure)
        .where(
            Disclosure.village_id == village_id,
            Disclosure.kind == "finance",
            Disclosure.period.in_(periods),
            Disclosure.status.in_((DisclosureStatus.APPROVED, DisclosureStatus.POSTED)),
        )
        .limit(1)
    )


def _check_books(session: Session, village: OrgUnit, row: LedgerImport, now) -> None:
    """The books paying a flow payment more than its matter approved (the supervision's
    ``reconciliation.approved_amount`` with its tolerance) raise ``paid_above_approved``, once per amount."""
    from engine.supervision import decisions
    from engine.supervision.facts import Names, evaluate
    from engine.supervision.violations import Finding, book_for_village, raise_violation

    booked = [p for p in with_books(session, village.id, flow_payments(session, village.id)) if p["books_fen"]]
    if not booked:
        return
    book = book_for_village(session, village.id)
    reconciliation = decisions.spec(book).get("reconciliation") or {}
    code = (reconciliation.get("over") or {}).get("paid")
    for payment in booked:
        expression = (reconciliation.get("approved_amount") or {}).get(payment["flow"])
        instance = session.get(Matter, payment["instance_id"])
        if not code or not expression or instance is None:
            continue
        approved = evaluate(expression, Names(session, instance, payment["flow"]))
        if not isinstance(approved, int) or isinstance(approved, bool):
            continue
        total = payment["books_fen"]
        if total <= decisions.ceiling(book, approved) or total == payment["form_fen"]:
            continue  # within what was approved, or the form said so already (the flow's own rule saw it)
        raise_violation(
            session,
            book,
            Finding(
                code=code,
                village_id=village.id,
                dedup_key=f"books_over:{instance.id}:{total}",
                message=text(
                    "wallet.books_over",
                    title=instance.title,
                    approved=_yuan(approved),
                    form=_yuan(payment["form_fen"]),
                    reference=payment["reference"],
                    paid=_yuan(total),
                    over=_yuan(total - approved),
                ),
                instance_id=instance.id,
                evidence=[
                    {"ledger_import": row.id, "month": row.month, "reference": payment["reference"]},
                    {"books_fen": total, "form_fen": payment["form_fen"], "approved_fen": approved},
                ],
            ),
            now,
        )


def _yuan(fen: int | None) -> str:
    return f"{Decimal(fen or 0) / 100:,.2f}"


def describe(row: LedgerImport) -> ImportShown:
    return ImportShown(
        id=row.id,
        month=row.month,
        file=row.file_name,
        sha256=row.sha256,
        lines=row.lines,
        income_fen=row.income_fen,
        spending_fen=row.spending_fen,
        opening_fen=row.opening_fen,
        year_opening_fen=row.year_opening_fen,
        imported_by=row.imported_by,
        imported_at=row.imported_at.isoformat() if row.imported_at else None,
        replaced_at=row.replaced_at.isoformat() if row.replaced_at else None,
        reason=row.reason,
    )


def imports(session: Session, actor: str, village_code: str) -> list[ImportShown]:
    """The village's imports, newest month first, replaced ones too (for the staff who keep or check them)."""
    village = get_village(session, village_code)
    policy.require(session, actor, "ledger.read", village)
    rows = session.scalars(
        select(LedgerImport)
        .where(LedgerImport.village_id == village.id)
        .order_by(LedgerImport.month.desc(), LedgerImport.id.desc())
    )
    return [describe(row) for row in rows]


def keepable_villages(session: Session, actor: str) -> list[OrgUnit]:
    """The villages whose accounts ``actor`` may import (for the staff page's choice)."""
    from engine.public.villages import villages

    return [v for v in villages(session) if policy.may(session, actor, "ledger.import", v)]
