"""补贴去哪了: subsidy rosters by village and period, and a household's own lookup."""

from __future__ import annotations

from flask import render_template, request

from engine.public import subsidies
from engine.public.villages import public_village
from web import db
from web.i18n import gettext as _
from web.public.blueprint import add_village_section, bp
from web.security import client_address


@bp.get("/villages/<code>/subsidies", endpoint="subsidies")
def subsidies_page(code: str) -> str:
    session = db.session()
    unit = public_village(session, code)
    shown = subsidies.public_rosters(session, unit, request.args.get("page", 1, type=int) or 1)
    return render_template("public/subsidies.html", village=unit, shown=shown)


@bp.get("/villages/<code>/subsidies/<int:roster_id>")
def subsidy_roster(code: str, roster_id: int) -> str:
    session = db.session()
    unit = public_village(session, code)
    roster = subsidies.public_roster(session, unit, roster_id, request.args.get("page", 1, type=int) or 1)
    return render_template("public/subsidies_roster.html", village=unit, roster=roster)


@bp.route("/villages/<code>/subsidies/mine", methods=["GET", "POST"])
def subsidy_lookup(code: str):
    session = db.session()
    unit = public_village(session, code)
    if request.method == "GET":
        return render_template(
            "public/subsidies_mine.html", village=unit, result=None, message=None, typed="", tries=_tries()
        )
    household = (request.form.get("household") or "")[:40]
    with db.writing() as writing:
        result = subsidies.lookup(writing, unit.code, household, request.form.get("check") or "", client_address())
    status, message = 200, None
    if result.wait_seconds:
        minutes = (result.wait_seconds + 59) // 60
        status, message = 429, _("查询太频繁了，请 {n} 分钟后再试", n=minutes)
    elif result.code_locked:
        status, message = 429, _("这个户码今天核对不上的次数太多，已暂停网上查询。请明天再试，或到村委会查询。")
    elif not result.matched:
        status, message = 404, _("对不上。请核对门牌上的户码和户主身份证号的最后四位。")
    page = render_template(
        "public/subsidies_mine.html",
        village=unit,
        result=result if result.matched else None,
        message=message,
        typed=household.strip().upper() if result.matched else "",
        tries=_tries(),
    )
    return page, status


def _tries() -> int:
    return subsidies.rules().tries_per_hour


add_village_section("public/_village_subsidies.html", subsidies.village_section, 20)
