"""我们的钱包 in the engine: every payment a flow made (the small-works one too) with its approved amount,
its resolution and the offices that approved it; the accounts imported month by month; totals and
balance that add up; nothing personal shown."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from engine.calendar import CST
from tests.conftest import DATABASES, ROOT, Cli, fresh_database

PROCESSES = ROOT / "processes"
BOOKKEEPER = "shangtang.bookkeeper"  # 上塘村 (QX0101)
TOWN_AGENCY = "dongxi.agency"
OTHER = "lingtou.bookkeeper"  # 岭头村, another town
SECRETARY = "shangtang.secretary"
SUPERVISOR = "shangtang.supervisor"
ID_NUMBER = "330102199001011234"
PHONE = "138 0013 8000"
CARD = "6222 0000 1111 2222"

JANUARY = "\n".join(
    [
        "日期,凭证号,摘要,科目,收入,支出",
        "2025-01-01,,上年结转,期初余额,500000.00,",
        "2025-01-05,记-001,收村东鱼塘承包费,发包及上交收入,20000.00,",
        "2025-01-10,记-002,上级转移支付,补助收入,30000.00,",
        f"2025-01-12,记-003,付保洁员工资 {PHONE} 身份证{ID_NUMBER} 卡号{CARD},管理费用,,1500.00",
    ]
)
MARCH = "\n".join(
    [
        "日期,凭证号,摘要,科目,收入,支出,支付流水号",
        "2025-03-02,记-010,村委会房屋出租,发包及上交收入,6000.00,,",
        "2025-03-24,记-011,付村道硬化工程款,公益支出,,80000.00,FP-ROAD-1",
        "2025-03-25,记-012,付办公用品,管理费用,,300.00,",
    ]
)


@pytest.fixture(scope="module", params=DATABASES)
def village(request, tmp_path_factory):
    """The demo county with three paying matters in 上塘村 (QX0101) run as people would, one refused
    payment, and an asset let out; the sessionmaker."""
    from engine import api, clock
    from engine.catalog.examples import examples_path, load_examples
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    folder = tmp_path_factory.mktemp("wallet")
    with fresh_database(request.param, folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session, session.begin():
            demo.load_demo(session, deploy_flows=False)
            for key in ("fund_payment", "small_works", "asset_lease"):
                api.deploy_file(session, PROCESSES / key / f"{key}.bpmn", "admin")
        paths = {
            key: {p.name: p for p in load_examples(examples_path(PROCESSES / key / f"{key}.bpmn"))}
            for key in ("fund_payment", "small_works", "asset_lease")
        }
        rng = random.Random(3)
        now = datetime(2025, 12, 20, 10, tzinfo=CST)
        start = datetime(2025, 2, 1, 9, tzinfo=CST)
        road = paths["fund_payment"]["tier4_town_leader"]
        road_payment = next(s.data for s in road.steps if s.step == "payment")
        works = paths["small_works"]["town_centre"]
        works_payment = next(s.data for s in works.steps if s.step == "payment")
        plans = [
            demo.Plan(
                "fund_payment",
                replace(road, village="QX0101"),
                "QX0101",
                start,
                change={"payment": {**road_payment, "payment_reference": "FP-ROAD-1"}},
            ),
            demo.Plan("fund_payment", paths["fund_payment"]["signoff_rejected"], "QX0101", start),
            demo.Plan(
                "small_works",
                works,
                "QX0101",
                start,
                change={"payment": {**works_payment, "paid_amount_fen": 12_000_000, "payment_reference": "GC-1"}},
            ),
            demo.Plan("asset_lease", paths["asset_lease"]["leased"], "QX0101", start),
        ]
        ids = []
        try:
            for plan in plans:
                ids.append(demo.run_plan(sessions, plan, rng, now, moved=False))
        finally:
            clock.clock.set(None)
        sessions.ids = ids
        sessions.url = url
        sessions.folder = folder
        yield sessions
        engine.dispose()


def summary(sessions, first: date, last: date) -> dict:
    from engine.persistence.models import OrgUnit
    from engine.public.wallet import period_summary

    with sessions() as session:
        village_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))
        return period_summary(session, village_id, first, last)


def test_the_small_works_payment_is_spending_with_its_project_and_approvals(village):
    year = summary(village, date(2025, 1, 1), date(2025, 12, 31))
    works = [p for p in year["payments"] if p["flow"] == "small_works"]
    assert len(works) == 1
    paid = works[0]
    assert paid["amount_fen"] == 12_000_000
    assert paid["purpose"] == "村东路灯安装工程"
    assert paid["category_name"] == "公益支出"
    assert [a["step"] for a in paid["approvals"]] == ["竣工验收", "工程审计", "工程结算"]
    assert "-决-" in paid["resolution"]["number"]
    assert "批准 200,000.00 元" in paid["resolution"]["text"]


def test_a_fund_payment_shows_its_approved_amount_resolution_and_approving_offices(village):
    year = summary(village, date(2025, 1, 1), date(2025, 12, 31))
    road = next(p for p in year["payments"] if p["flow"] == "fund_payment")
    assert road["amount_fen"] == road["approved_fen"] == 8_000_000
    assert road["resolution"]["title"] == "“四议两公开”决议"
    assert road["resolution"]["amount_fen"] == 8_000_000
    steps = [a["step"] for a in road["approvals"]]
    assert "村民代表会议决议" in " ".join(steps) and "镇" in " ".join(a["office"] for a in road["approvals"])
    for approval in road["approvals"]:
        assert approval["on"][:4] == "2025" and "." not in approval["office"]
    # The refused voucher is no money spent.
    assert len([p for p in year["payments"] if p["flow"] == "fund_payment"]) == 1
    text = repr(year)
    for username in ("shangtang", "qingxi", "admin"):
        assert username not in text


def test_the_public_page_shows_the_small_works_payment_with_its_resolution_and_approving_offices(village):
    from tests.support.webapp import served

    app = next(served(village.url, village.folder))
    page = app.test_client().get("/public/villages/QX0101/wallet?year=2025").get_data(as_text=True)
    payments = page[page.index('id="payments"') :]
    assert "村东路灯安装工程" in payments and "120,000.00 元" in payments
    assert "批准 200,000.00 元" in payments  # the resolution behind the works
    assert "工程审计" in payments and "镇三资中心" in payments  # the approving step and its office
    assert "批准金额 80,000.00 元" in payments


def test_assets_let_out_with_a_signed_contract_are_listed_with_the_counterparty_masked(village):
    from engine.public.wallet import assets

    with village() as session:
        found = assets(session, village_id(village))
    assert [(a["asset"], a["deal"], a["term_years"], a["price_fen"]) for a in found] == [
        ("村东鱼塘", "出租", 10, 4_100_000)
    ]
    assert found[0]["counterparty"] == "李*"


def village_id(sessions) -> int:
    from engine.persistence.models import OrgUnit

    with sessions() as session:
        return session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))


def do_import(sessions, text: str, month: str, actor: str = BOOKKEEPER, **options):
    from engine.public import ledger

    with sessions() as session, session.begin():
        return ledger.import_journal(
            session, actor, "QX0101", month, text.encode("gb18030"), "序时账.csv", **options
        ).id


@pytest.fixture(scope="module")
def booked(village):
    do_import(village, JANUARY, "2025-01")
    do_import(village, MARCH, "2025-03")
    return village


def test_income_spending_and_balance_add_up_from_the_opening_balance(booked):
    year = summary(booked, date(2025, 1, 1), date(2025, 12, 31))
    assert year["opening_fen"] == 50_000_000
    assert year["income_fen"] == 2_000_000 + 3_000_000 + 600_000
    # the flow payments (80,000 + 120,000 yuan) and the lines no flow stands behind (1,500 + 300 yuan);
    # the 80,000-yuan line with the road payment's 支付流水号 is that payment, counted once
    assert year["spending_fen"] == 8_000_000 + 12_000_000 + 150_000 + 30_000
    assert year["closing_fen"] == year["opening_fen"] + year["income_fen"] - year["spending_fen"]
    assert sum(c["income_fen"] for c in year["by_category"]) == year["income_fen"]
    assert sum(c["spending_fen"] for c in year["by_category"]) == year["spending_fen"]
    assert sum(p["amount_fen"] for p in year["payments"]) == year["spending_fen"]
    assert sum(i["amount_fen"] for i in year["income"]) == year["income_fen"]
    books = [p for p in year["payments"] if p["source"] == "books"]
    assert sorted(p["amount_fen"] for p in books) == [30_000, 150_000]
    # a month's opening is the year's opening and everything before it
    january = summary(booked, date(2025, 1, 1), date(2025, 1, 31))
    february = summary(booked, date(2025, 2, 1), date(2025, 2, 28))
    assert february["opening_fen"] == january["closing_fen"]
    march = summary(booked, date(2025, 3, 1), date(2025, 3, 31))
    rest = summary(booked, date(2025, 4, 1), date(2025, 12, 31))
    assert march["opening_fen"] == february["closing_fen"] and rest["opening_fen"] == march["closing_fen"]
    assert rest["closing_fen"] == year["closing_fen"]


def test_id_phone_and_bank_numbers_in_a_summary_are_masked(booked):
    text = repr(summary(booked, date(2025, 1, 1), date(2025, 12, 31)))
    assert "付保洁员工资" in text
    for number in (ID_NUMBER, PHONE, CARD, "13800138000", "6222000011112222", "1234"):
        assert number not in text, number


def test_a_bad_journal_names_every_problem_by_line_and_column_and_writes_nothing(booked):
    from engine.public.ledger import JournalInvalid
    from engine.public.ledger_models import LedgerImport, LedgerLine

    bad = "\n".join(
        [
            "村集体经济组织序时账",
            "日期,凭证号,摘要,科目,收入,支出",
            "2025-04-01,记-1,收租金,发包及上交收入,100.00,",
            "2025-04-31,记-2,付电费,管理费用,,20.00",
            "2025-05-01,记-3,付水费,管理费用,,20.00",
            "2025-04-03,记-4,收入,请客吃饭,5.00,",
            "2025-04-04,记-5,付材料款,公益支出,,12.345",
            "2025-04-05,记-6,,管理费用,,1.00",
        ]
    )
    with booked() as session:
        before = (
            session.scalar(select(func.count(LedgerImport.id))),
            session.scalar(select(func.count(LedgerLine.id))),
        )
    with pytest.raises(JournalInvalid) as failed:
        do_import(booked, bad, "2025-04")
    where = {(p.line, p.column) for p in failed.value.problems}
    assert where == {(4, "A"), (5, "A"), (6, "D"), (7, "F"), (8, "C")}
    assert "第 4 行 A 列" in str(failed.value)
    with booked() as session:
        after = (session.scalar(select(func.count(LedgerImport.id))), session.scalar(select(func.count(LedgerLine.id))))
    assert after == before


def test_a_month_is_imported_once_unless_replaced_with_a_reason_and_the_import_is_recorded(booked):
    from engine.errors import Conflict, PowerlistError
    from engine.persistence.models import AuditLog
    from engine.public import ledger

    with pytest.raises(Conflict):
        do_import(booked, MARCH, "2025-03")
    with pytest.raises(PowerlistError) as failed:
        do_import(booked, MARCH, "2025-03", replace=True)
    assert failed.value.code == "ledger.reason_required"
    corrected = MARCH.replace("付办公用品,管理费用,,300.00", "付办公用品,管理费用,,350.00")
    do_import(booked, corrected, "2025-03", replace=True, reason="办公用品金额录错")
    with booked() as session:
        shown = ledger.imports(session, TOWN_AGENCY, "QX0101")
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "ledger.import")).all()
    march = [row for row in shown if row.month == "2025-03"]
    assert len(march) == 2 and march[0].replaced_at is None and march[1].replaced_at is not None
    assert march[0].reason == "办公用品金额录错" and len(march[0].sha256) == 64
    assert {row.subject for row in logged} >= {"QX0101 2025-01", "QX0101 2025-03"}
    year = summary(booked, date(2025, 3, 1), date(2025, 3, 31))
    assert sorted(p["amount_fen"] for p in year["payments"] if p["source"] == "books") == [35_000]
    do_import(booked, MARCH, "2025-03", replace=True, reason="恢复原账")


def test_only_the_keepers_of_the_accounts_within_reach_may_import(booked):
    from engine.errors import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied):
        do_import(booked, MARCH, "2025-06", actor=SECRETARY)
    with pytest.raises(NotFound):
        do_import(booked, MARCH, "2025-06", actor=OTHER)


def test_the_command_line_imports_refuses_and_shows_as_the_page_does(booked):
    from click.testing import CliRunner

    from powerlist.cli import main

    def cli(*arguments: str):
        env = {"POWERLIST_DATABASE_URL": booked.url, "POWERLIST_INSTANCE": str(booked.folder), "POWERLIST_LANG": "zh"}
        return CliRunner().invoke(main, list(arguments), env=env)

    june = booked.folder / "六月.csv"
    june.write_text(MARCH.replace("2025-03", "2025-06").replace("FP-ROAD-1", ""), encoding="gb18030")
    bad = booked.folder / "坏的.csv"
    bad.write_text(MARCH.replace("2025-03-25", "2025-03-32"), encoding="utf-8")
    # the installed console script refuses a cadre who does not keep the accounts, writing nothing
    script = Cli(booked.url, booked.folder)
    refused = script("ledger", "import", str(june), "--village", "QX0101", "--month", "2025-06", "--as", SECRETARY)
    assert refused.code == 1 and "2025-06" not in refused.out, refused
    invalid = cli("ledger", "import", str(bad), "--village", "QX0101", "--month", "2025-03", "--as", BOOKKEEPER)
    assert invalid.exit_code == 2 and "第 4 行 A 列" in invalid.stderr, invalid.output
    done = cli("ledger", "import", str(june), "--village", "QX0101", "--month", "2025-06", "--as", BOOKKEEPER)
    assert done.exit_code == 0 and "imported QX0101 2025-06: 3 lines" in done.stdout, done.output
    shown = cli("ledger", "show", "--village", "QX0101", "--year", "2025", "--json")
    assert shown.exit_code == 0, shown.output
    shown = json.loads(shown.stdout)
    year = summary(booked, date(2025, 1, 1), date(2025, 12, 31))
    assert shown["summary"]["closing_fen"] == year["closing_fen"]
    assert shown["summary"]["spending_fen"] == year["spending_fen"]
    assert [m["closing_fen"] for m in shown["months"]][-1] == year["closing_fen"]


def test_huge_amounts_in_a_journal_are_problems_named_by_line_not_a_crash(booked):
    from engine.public.ledger import JournalInvalid

    huge = "\n".join(
        [
            "日期,凭证号,摘要,科目,收入,支出",
            "2025-07-01,记-1,收租金,发包及上交收入,1e30,",
            "2025-07-02,记-2,付电费,管理费用,,1e400",
            "2025-07-03,记-3,收租金,发包及上交收入,12345678901234567890123456789,",
            "2025-07-04,记-4,付电费,管理费用,,1e999999",
        ]
    )
    with pytest.raises(JournalInvalid) as failed:
        do_import(booked, huge, "2025-07")
    assert {(p.line, p.column) for p in failed.value.problems} == {(2, "E"), (3, "F"), (4, "E"), (5, "F")}


APRIL = "\n".join(
    [
        "日期,凭证号,摘要,科目,收入,支出,支付流水号",
        "2025-04-03,记-020,付村东路灯安装工程款,公益支出,,250000.00,GC-1",
    ]
)


def test_a_journal_line_of_a_flow_payment_shows_the_books_amount_once_flagged_and_reported(booked):
    """The cadre's form says 120,000 yuan were paid; the accountant's journal, with the same 支付流水号,
    says 250,000: the wallet shows 250,000 once, the form's and the approved amounts beside it, a flag
    for all to see, and the supervision raises paid_above_approved."""
    from engine.supervision.models import Violation
    from tests.support.webapp import served

    before = summary(booked, date(2025, 1, 1), date(2025, 12, 31))
    do_import(booked, APRIL, "2025-04")
    year = summary(booked, date(2025, 1, 1), date(2025, 12, 31))
    works = [p for p in year["payments"] if p["flow"] == "small_works"]
    assert len(works) == 1, works
    paid = works[0]
    assert paid["amount_fen"] == 25_000_000  # the journal is what was paid
    assert (paid["amount_fen"], paid["form_fen"], paid["books_fen"]) == (25_000_000, 12_000_000, 25_000_000)
    assert paid["date"] == "2025-04-03" and paid["books_differ"] and paid["books_over"]
    assert paid["purpose"] == "村东路灯安装工程" and paid["approvals"]
    assert year["spending_fen"] == before["spending_fen"] - 12_000_000 + 25_000_000
    assert sum(p["amount_fen"] for p in year["payments"]) == year["spending_fen"]
    road = next(p for p in year["payments"] if p["flow"] == "fund_payment")
    assert road["books_fen"] == 8_000_000 and not road["books_differ"] and not road["books_over"]
    app = next(served(booked.url, booked.folder))
    page = app.test_client().get("/public/villages/QX0101/wallet?year=2025").get_data(as_text=True)
    payments = page[page.index('id="payments"') : page.index('id="income-lines"')]
    assert "账面金额与审批支付金额不一致" in payments and "账面金额超过批准金额" in payments
    assert "账面金额 250,000.00 元" in payments and "表单支付金额 120,000.00 元" in payments
    assert payments.count("账面金额与审批支付金额不一致") == 1  # the road payment agrees with its books
    with booked() as session:
        found = session.scalars(select(Violation).where(Violation.dedup_key.like("books_over:%"))).all()
    assert [(v.code, v.dedup_key.split(":")[-1]) for v in found] == [("paid_above_approved", "25000000")]
    assert "250,000.00" in found[0].message and "GC-1" in found[0].message


def test_a_month_whose_finance_disclosure_was_signed_is_not_imported_again(booked):
    """Once the 村监会 signed March's finance disclosure, March's accounts stay as signed: replacing them
    (or importing a signed month not yet imported) is refused, saying a correction goes into a later month."""
    import inspect

    from engine import clock
    from engine.errors import Conflict
    from engine.public import disclosures

    signed = {"revision": 1} if "revision" in inspect.signature(disclosures.review).parameters else {}
    clock.clock.set(datetime(2025, 12, 20, 10, tzinfo=CST))
    try:
        for month in ("2025-03", "2025-05"):
            with booked() as session, session.begin():
                disclosures.prepare(session, BOOKKEEPER, "QX0101", "finance", month)
            with booked() as session, session.begin():
                disclosures.review(session, SUPERVISOR, "QX0101", "finance", month, approve=True, **signed)
    finally:
        clock.clock.set(None)
    march = summary(booked, date(2025, 3, 1), date(2025, 3, 31))
    corrected = MARCH.replace("付办公用品,管理费用,,300.00", "付办公用品,管理费用,,3000.00")
    with pytest.raises(Conflict) as refused:
        do_import(booked, corrected, "2025-03", replace=True, reason="办公用品金额录错")
    assert refused.value.code == "ledger.month_disclosed" and "以后月份" in str(refused.value)
    with pytest.raises(Conflict):
        do_import(booked, corrected.replace("2025-03", "2025-05"), "2025-05")
    assert summary(booked, date(2025, 3, 1), date(2025, 3, 31)) == march
    from engine.public import ledger

    with booked() as session:  # the staff page's preview says so before anything is confirmed
        shown = ledger.preview(session, BOOKKEEPER, "QX0101", "2025-03", corrected.encode(), "3月.csv")
    assert shown.disclosed is True


def test_a_year_without_its_opening_balance_counts_the_balance_from_the_first_month_imported(booked):
    """A county going live in March: March's 期初余额 is March's, not the year's; January and February
    have no balance, and their flow payments, inside March's opening already, are not subtracted again."""
    from engine.public import wallet as area

    do_import(
        booked,
        "日期,凭证号,摘要,科目,收入,支出\n2026-03-01,,期初余额,期初余额,300000.00,\n"
        "2026-03-05,记-1,收鱼塘承包费,发包及上交收入,1000.00,\n",
        "2026-03",
    )
    february = {
        "source": "flow",
        "instance_id": 0,
        "flow": "fund_payment",
        "date": "2026-02-10",
        "amount_fen": 5_000_000,
        "books_fen": None,
        "reference": None,
        "category": "public_welfare",
        "category_name": "公益支出",
    }
    with booked() as session:
        shown = area.wallet(session, "QX0101", 2026)
    assert [m.closing_fen for m in shown.months[:3]] == [None, None, 30_100_000]
    with booked() as session:
        vid = village_id(booked)
        start = area.balance_start(session, vid, 2026)
        year = area._summary(session, vid, date(2026, 1, 1), date(2026, 12, 31), [february], start)
    assert start == {"from": date(2026, 3, 1), "opening_fen": 30_000_000, "month": "2026-03", "books": True}
    assert (year["opening_fen"], year["closing_fen"], year["balance_from"]) == (30_000_000, 30_100_000, "2026-03")
    assert shown.months[2].opening_fen == 30_000_000 and shown.year_summary["closing_fen"] == 30_100_000
    # 2025's opening is January's 上年结转, whatever later months say; a year with no accounts has no balance
    with booked() as session:
        assert area.balance_start(session, vid, 2025)["opening_fen"] == 50_000_000
        none = area.period_summary(session, vid, date(2024, 1, 1), date(2024, 12, 31))
    assert (none["books"], none["opening_fen"], none["closing_fen"]) == (False, None, None)


def test_the_demo_books_a_grant_before_a_project_the_village_could_not_pay():
    """The demo's 4,460,000-yuan street lights come after a 上级专项补助 (no negative balance on the demo
    pages), and a first month that is not January gives that month's 期初余额, not the year's."""
    from engine.public.ledger import read_journal
    from powerlist import demo_wallet

    state = {"balance": 0}
    lights = {
        "date": "2026-03-01",
        "amount_fen": 446_000_000,
        "reference": "VC20250801001",
        "purpose": "村东路灯安装工程",
        "category_name": "公益支出",
    }
    text = demo_wallet._journal(2026, 3, 0, [lights], random.Random(1), True, state, 50_000_000)
    journal = read_journal(text.encode("utf-8"), "demo.csv", "2026-03")
    assert "上级专项补助（村东路灯安装工程）" in text and journal.year_opening_fen is None
    assert journal.opening_fen + journal.income_fen - journal.spending_fen == state["balance"]
    assert state["balance"] >= demo_wallet.FLOOR + 50_000_000


def test_a_countys_wallet_rules_are_checked_naming_the_file_and_key(tmp_path, monkeypatch):
    from engine.public.wallet import _rules_cached, wallet_rules
    from engine.ruleset import AreaRulesInvalid

    (tmp_path / "wallet.yaml").write_text(
        "wallet:\n  categories:\n    grant_income: {name: 补助收入, side: sideways}\n"
        "  payments:\n    fund_payment: {paid_at: {when: paid}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    with pytest.raises(AreaRulesInvalid) as failed:
        wallet_rules()
    text = str(failed.value)
    assert "wallet.yaml: wallet.categories.grant_income" in text and "wallet.payments.fund_payment.paid_at" in text
    _rules_cached.cache_clear()
