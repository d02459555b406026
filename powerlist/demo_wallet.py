"""Demo collective accounts of the demo villages: a year of monthly journals (序时账), as the town's
三资中心 exports them, imported by the same command as the staff page (``ledger.import``).

Each month holds the village's income (rent of the fish pond and the village hall, grants each
quarter, now and then interest), a few small expenses the books show with no flow behind them (电费,
网络费), and one line for every flow payment paid that month, carrying its 支付流水号, so the wallet
counts it once at the books' amount. The first month gives the opening balance: 上年结转 in January,
that month's 期初余额 otherwise (the page then counts the balance from it). A big project is paid
from a 上级专项补助 (a county's or town's grant, as 一事一议 and road or lighting projects are) booked
before it, so no village's money runs out on the demo pages. Nothing is added when a village already
has imports.
"""

from __future__ import annotations

import random
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST
from engine.clock import as_utc
from engine.public import ledger, wallet
from engine.public.ledger_models import LedgerImport

SIZES = {"full": 12, "small": 6, "tiny": 3}
HEADER = "日期,凭证号,摘要,科目,收入,支出,支付流水号"


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _months(today: date, count: int) -> list[tuple[int, int]]:
    """The ``count`` months before ``today``'s, oldest first."""
    found = []
    year, month = today.year, today.month
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        found.append((year, month))
    return found[::-1]


FLOOR = 10_000_000  # 100,000 yuan: the least a village keeps; a project that would go below is granted


def _grant(short: int) -> int:
    """A grant covering ``short`` fen, rounded up to 10,000 yuan."""
    return -(-short // 1_000_000) * 1_000_000


def _journal(
    year: int, month: int, village: int, paid: list[dict], rng: random.Random, first: bool, state: dict, later: int
) -> str:
    """One month's journal; ``state["balance"]`` is the village's money as the wallet counts it (kept
    at least :data:`FLOOR`, and at the end of the last month above the flow payments still to come,
    ``later``), ``paid`` the flow payments of the month (with 支付流水号 or not)."""
    lines = [HEADER]
    number = 0

    def line(day: int, summary: str, category: str, income: int = 0, spending: int = 0, reference: str = "") -> None:
        nonlocal number
        number += 1
        lines.append(
            f"{year:04d}-{month:02d}-{day:02d},记-{number:03d},{summary},{category},"
            f"{_yuan(income) if income else ''},{_yuan(spending) if spending else ''},{reference}"
        )
        state["balance"] += income - spending

    if first:
        opening = rng.randint(30, 90) * 1_000_000
        words = "上年结转" if month == 1 else "期初余额"
        lines.append(f"{year:04d}-{month:02d}-01,,{words},期初余额,{_yuan(opening)},,")
        state["balance"] = opening
    line(5, "村东鱼塘承包费", "发包及上交收入", income=rng.choice((600_000, 800_000, 1_000_000)) + village * 10_000)
    line(8, "村委会一楼门面出租", "发包及上交收入", income=300_000)
    if month in (3, 6, 9, 12):
        line(15, "上级转移支付（村级组织运转经费）", "补助收入", income=rng.choice((4_000_000, 5_000_000)))
        line(21, "银行存款利息", "其他收入", income=rng.randint(5_000, 30_000))
    line(18, "村部电费", "管理费用", spending=rng.randint(30_000, 90_000))
    if month % 2 == 0:
        line(20, "村部网络费", "管理费用", spending=12_000)
    for payment in sorted(paid, key=lambda p: p["date"]):
        day = int(payment["date"][8:10])
        if state["balance"] - payment["amount_fen"] < FLOOR:
            grant = _grant(FLOOR + payment["amount_fen"] - state["balance"] + rng.randint(5, 30) * 1_000_000)
            line(day, f"上级专项补助（{payment['purpose']}）"[:60], "补助收入", income=grant)
        if payment["reference"]:
            line(day, f"付{payment['purpose']}"[:60], payment["category_name"], spending=payment["amount_fen"],
                 reference=payment["reference"])  # fmt: skip
        else:  # no 支付流水号 on the form: the wallet counts the flow's payment
            state["balance"] -= payment["amount_fen"]
    if later and state["balance"] - later < FLOOR:
        line(28, "上级专项补助（预拨下月工程款）", "补助收入", income=_grant(FLOOR + later - state["balance"]))
    return "\n".join(lines) + "\n"


def load(session: Session, now: datetime, rng: random.Random, size: str) -> None:
    """Add a year (``full``; ``small`` half a year) of monthly journals to each demo village."""
    from powerlist.demo_people import VILLAGES, holder

    today = as_utc(now).astimezone(CST).date()
    clock.clock.set(now)
    for index, code in enumerate(VILLAGES):
        village = wallet.public_village(session, code)
        if session.scalar(select(LedgerImport.id).where(LedgerImport.village_id == village.id).limit(1)):
            continue
        paid = wallet.flow_payments(session, village.id)
        months = _months(today, SIZES.get(size, 12))
        last = f"{months[-1][0]:04d}-{months[-1][1]:02d}"
        later = sum(p["amount_fen"] for p in paid if p["date"][:7] > last)
        seen: set[int] = set()
        state = {"balance": 0}
        for year, month in months:
            key = f"{year:04d}-{month:02d}"
            text = _journal(
                year,
                month,
                index,
                [p for p in paid if p["date"][:7] == key],
                rng,
                year not in seen,
                state,
                later if key == last else 0,
            )
            seen.add(year)
            ledger.import_journal(
                session, holder("town_agency", code), code, key, text.encode("utf-8"), f"{code}-{key}-序时账.csv"
            )
