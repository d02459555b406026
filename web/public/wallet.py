"""我们的钱包: where the village's money came from and went, as villagers see it (no login).

The page is for a year (``?year=``, this year by default) and optionally one of its months
(``?month=``): the totals and balance, a bar chart of each month's income against its spending drawn
here as inline SVG (no script; its numbers also in a table), the categories, every payment with its
approved amount, resolution and approving offices, the income, the village-card evidence and the
assets let out. The village page shows this year's totals (:func:`village_section`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, render_template, request

from engine import clock
from engine.calendar import CST
from engine.clock import as_utc
from engine.public import wallet
from web import db
from web.public.blueprint import add_village_section, bp

CHART_WIDTH = 360
CHART_HEIGHT = 170
CHART_TOP = 10
CHART_BOTTOM = 150  # the baseline; month numbers below it
CHART_LEFT = 6


def _number(name: str, low: int, high: int) -> int | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        abort(404)
    return int(text)


def chart(months: list[wallet.MonthTotals]) -> dict[str, Any]:
    """Bars for each month's income and spending, scaled to the largest, as SVG coordinates."""
    largest = max([m.income_fen for m in months] + [m.spending_fen for m in months] + [1])
    step = (CHART_WIDTH - CHART_LEFT) / len(months)
    bar = step * 0.36
    span = CHART_BOTTOM - CHART_TOP
    bars = []
    for index, month in enumerate(months):
        x = CHART_LEFT + index * step
        income = round(span * month.income_fen / largest, 1)
        spending = round(span * month.spending_fen / largest, 1)
        bars.append(
            {
                "month": month,
                "label_x": round(x + step / 2, 1),
                "income": {"x": round(x + step * 0.12, 1), "y": round(CHART_BOTTOM - income, 1), "h": income},
                "spending": {
                    "x": round(x + step * 0.12 + bar, 1),
                    "y": round(CHART_BOTTOM - spending, 1),
                    "h": spending,
                },
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bottom": CHART_BOTTOM,
        "bar": round(bar, 1),
        "bars": bars,
        "largest_fen": largest,
    }


@bp.get("/villages/<code>/wallet")
def village_wallet(code: str) -> str:
    year = _number("year", 2000, 2100)
    month = _number("month", 1, 12)
    shown = wallet.wallet(db.session(), code, year, month)
    return render_template("public/wallet.html", wallet=shown, chart=chart(shown.months))


def village_section(session, unit) -> dict[str, Any]:
    """This year's income, spending and balance for the village page."""
    today = as_utc(clock.now()).astimezone(CST).date()
    found = wallet.period_summary(session, unit.id, date(today.year, 1, 1), date(today.year, 12, 31))
    return {
        "code": unit.code,
        "year": today.year,
        **{k: found[k] for k in ("income_fen", "spending_fen", "closing_fen", "balance_from")},
    }


add_village_section("public/_village_wallet.html", village_section, 10)
