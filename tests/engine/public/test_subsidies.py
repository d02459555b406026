"""补贴去哪了 in the engine: rosters imported from county spreadsheets (all rows or none, every problem
with its line and column), produced by the subsistence-aid flow, published masked by rule, a household's
own lookup (right, wrong, unknown, rate-limited), who may import and withdraw; and that no full ID or
bank number is ever stored or shown."""

from __future__ import annotations

import io
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, inspect, select, text

from engine.calendar import CST
from tests.conftest import DATABASES, fresh_database

PROCESSES = Path(__file__).resolve().parents[3] / "processes"
KEEPER = "dongxi.civil"  # 东溪镇民政办: 上塘村 QX0101 and 下塘村 QX0102
OTHER_KEEPER = "xiling.civil"  # 西岭镇: not 上塘村's
CADRE = "shangtang.cadre"
BANK = "6228480402564890018"


def resident_id(first17: str) -> str:
    """``first17`` with its GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


IDS = [resident_id(f"33022519{50 + i:02d}0315{i:03d}") for i in range(1, 6)]
X_ID = next(
    resident_id(f"330225194805{d:02d}123") for d in range(1, 29) if resident_id(f"330225194805{d:02d}123")[-1] == "X"
)


def roster_csv(rows=None, title=True) -> str:
    lines = ["清溪县东溪镇上塘村2026年11月最低生活保障金发放名册", ""] if title else []
    lines.append("序号,户号,户主姓名,身份证号,人数,金额(元),发放日期,村/组,银行卡号")
    rows = rows or [
        f'1,H001,张三丰,{IDS[0]},3,"1,230.50",2026-11-05,一组,{BANK}',
        f"2,H002,李四,{IDS[1]},1,600,2026/11/05,二组,6217 0000 1234 5678 901",
        f"3,H003,欧阳明华,{X_ID.lower()},2,800.5,2026年11月5日,二组,",
        "合计,,,,,2631.00,,,",
    ]
    return "\n".join(lines + rows) + "\n"


@pytest.fixture(scope="module", params=DATABASES)
def county(request, tmp_path_factory):
    """The demo county with the subsistence-aid flow, one application run to approval in 上塘村."""
    from dataclasses import replace

    from engine import api, clock
    from engine.catalog.examples import examples_path, load_examples
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from engine.public import subsidies  # noqa: F401 - registers the flow hook
    from powerlist import demo

    folder = tmp_path_factory.mktemp("subsidies")
    with fresh_database(request.param, folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        flow = PROCESSES / "subsistence_aid" / "subsistence_aid.bpmn"
        with sessions() as session, session.begin():
            demo.load_demo(session, deploy_flows=False)
            api.deploy_file(session, flow, "admin")
        approved = next(p for p in load_examples(examples_path(flow)) if p.name == "approved")
        plan = demo.Plan(
            "subsistence_aid", replace(approved, village="QX0102"), "QX0102", datetime(2025, 3, 1, 9, tzinfo=CST)
        )
        try:
            sessions.instance = demo.run_plan(
                sessions, plan, random.Random(5), datetime(2025, 6, 1, tzinfo=CST), moved=False
            )
        finally:
            clock.clock.set(None)
        sessions.folder, sessions.url = folder, url
        yield sessions
        engine.dispose()


def do(sessions, fn, *args, **kwargs):
    with sessions() as session, session.begin():
        return fn(session, *args, **kwargs)


def counts(sessions) -> tuple[int, int, int]:
    from engine.public.subsidy_models import SubsidyEntry, SubsidyHousehold, SubsidyRoster

    with sessions() as session:
        return tuple(session.scalar(select(func.count(t.id))) for t in (SubsidyRoster, SubsidyEntry, SubsidyHousehold))


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_gb18030_roster_with_title_rows_is_published_masked_and_keeps_no_id_or_bank_number(county):
    from engine.persistence.models import AuditLog
    from engine.public import subsidies
    from engine.public.villages import public_village

    data = roster_csv().encode("gb18030")
    done = do(county, subsidies.import_roster, KEEPER, data, "名册.csv", "QX0101", "subsistence", "2026-11")
    assert (done.households, done.people, done.total_fen) == (3, 6, 263100)
    with county() as session:
        page = subsidies.public_rosters(session, public_village(session, "QX0101"))
        log = session.scalars(select(AuditLog).where(AuditLog.action == "subsidy.import")).all()
    roster = next(r for r in page.rosters if (r.kind, r.period) == ("subsistence", "2026-11"))
    assert (roster.kind_name, roster.period_label, roster.total_fen) == (
        "最低生活保障金（低保）",
        "2026年11月",
        263100,
    )
    assert [e.name for e in roster.entries] == ["张*丰", "李*", "欧阳*华"]
    assert [e.amount_fen for e in roster.entries] == [123050, 60000, 80050]
    assert roster.entries[0].id_number is None  # not a published column of 低保
    assert log[-1].detail["rows"] == 3 and log[-1].detail["sha256"] == done.sha256 and log[-1].actor == KEEPER
    # nothing in any table holds a full ID number, its birth date and check digits, or a bank number
    dump = database_text(county)
    for secret in (*IDS[:2], X_ID, X_ID[6:], repr(IDS[0][-4:]), BANK, "6217 0000", "62170000", "5678901"):
        assert secret not in dump, secret


def database_text(sessions) -> str:
    with sessions() as session:
        names = inspect(session.get_bind()).get_table_names()
        return "\n".join(
            repr(row)
            for name in names
            for row in session.execute(text(f'SELECT * FROM "{name}"')).all()  # noqa: S608
        )


def test_an_xlsx_roster_and_the_household_lookup_across_kinds(county):
    from engine.public import subsidies

    keeper = OTHER_KEEPER  # 西岭镇's, for 岭头村 QX0201
    do(county, subsidies.import_roster, keeper, roster_csv().encode(), "低保.csv", "QX0201", "subsistence", "2026-10")
    data = xlsx(
        [
            ["岭头村2026年耕地地力保护补贴"],
            ["户号", "姓名", "身份证号码", "补贴金额"],
            ["H001", "张三丰", IDS[0], 312.8],
            ["H004", "王五", IDS[3], 100],
        ]
    )
    do(county, subsidies.import_roster, keeper, data, "耕地.xlsx", "QX0201", "farmland_protection", "2026")
    mine = do(county, subsidies.lookup, "QX0201", "h001", IDS[0][-4:], "10.0.0.1")
    assert mine.matched and mine.total_fen == 123050 + 31280
    assert [(r.kind_name, r.period, r.amount_fen) for r in mine.receipts] == [
        ("最低生活保障金（低保）", "2026-10", 123050),
        ("耕地地力保护补贴", "2026", 31280),
    ]
    assert do(county, subsidies.lookup, "QX0201", "H003", X_ID[-4:].lower(), "10.0.0.1").matched  # x typed small
    wrong = do(county, subsidies.lookup, "QX0201", "H001", "0000", "10.0.0.1")
    unknown = do(county, subsidies.lookup, "QX0201", "H999", IDS[0][-4:], "10.0.0.1")
    other_village = do(county, subsidies.lookup, "QX0202", "H001", IDS[0][-4:], "10.0.0.1")
    for answer in (wrong, unknown, other_village):
        assert (answer.matched, answer.receipts, answer.wait_seconds) == (False, [], 0)


def test_lookups_are_limited_per_sender(county):
    from engine.public import subsidies

    data = roster_csv([f"1,H001,张三丰,{IDS[0]},3,99,,,"]).encode()
    do(county, subsidies.import_roster, OTHER_KEEPER, data, "a.csv", "QX0202", "subsistence", "2026-10")
    for _ in range(10):
        assert not do(county, subsidies.lookup, "QX0202", "H001", "1111", "2001:db8:1:2::5").wait_seconds
    blocked = do(county, subsidies.lookup, "QX0202", "H001", IDS[0][-4:], "2001:db8:1:2::99")  # same /64
    assert blocked.wait_seconds > 3000 and not blocked.matched
    assert do(county, subsidies.lookup, "QX0202", "H001", IDS[0][-4:], "10.9.9.9").matched


def test_guessing_one_household_from_many_addresses_is_stopped_for_that_code_alone(county):
    """Each address keeps under its own limit, yet the household code locks after the day's wrong
    checks; an unknown code locks the same way, so the lock reveals nothing; other codes still answer."""
    from engine.public import subsidies

    data = roster_csv([f"1,H101,李大,{IDS[1]},2,88,,,", f"2,H102,李二,{IDS[2]},1,66,,,"]).encode()
    do(county, subsidies.import_roster, OTHER_KEEPER, data, "b.csv", "QX0202", "subsistence", "2026-09")
    limit = subsidies.rules().wrong_per_code_per_day
    for code in ("H101", "H999"):
        for attempt in range(limit):
            answer = do(county, subsidies.lookup, "QX0202", code, f"{attempt:04d}", f"10.1.{attempt}.{len(code)}")
            assert not answer.matched and not answer.code_locked and not answer.wait_seconds
        locked = do(county, subsidies.lookup, "QX0202", code, IDS[1][-4:], "10.2.0.1")
        assert locked.code_locked and not locked.matched and not locked.receipts
    assert do(county, subsidies.lookup, "QX0202", "H102", IDS[2][-4:], "10.2.0.2").matched


BAD = [
    (f"1,H1,,{IDS[0]},1,10,,,", 4, "C", "缺姓名"),
    (f"2,H2,赵六,{IDS[1][:-1]}0,1,10,,,", 5, "D", "校验位"),
    ("3,H3,钱七,1.10105E+17,1,10,,,", 6, "D", "科学计数法"),
    (f"4,H4,孙八,{IDS[2]},1,-5,,,", 7, "F", "负数"),
    (f"5,H5,周九,{IDS[3]},1,10.005,,,", 8, "F", "两位小数"),
    (f"6,H6,吴十,{IDS[4]},1,十元,,,", 9, "F", "不是数字"),
    (f"7,H7,郑一,{IDS[4]},1,10,2026-02-30,,", 10, "D", "同一个身份证号"),
    (f"8,H8,王二,{resident_id('33022519991301001')},1,10,,,", 11, "D", "出生日期"),
    (f"9,H9,冯三,{X_ID},0,10,2026-13-01,,", 12, "E", "人数"),
    (f"10,H/0,陈四,{resident_id('33022519800101002')},1,10,,,", 13, "B", "户号"),
    # amounts too large for any arithmetic of cents: a problem of their cell, never a server error
    (f"11,H11,褚二,{resident_id('33022519800101003')},1,1e30,,,", 14, "F", "大得不像"),
    (f"12,H12,卫三,{resident_id('33022519800101004')},1,1E400,,,", 15, "F", "大得不像"),
    (f"13,H13,蒋四,{resident_id('33022519800101005')},1,{'9' * 29},,,", 16, "F", "大得不像"),
    (f"14,H14,沈五,{resident_id('33022519800101006')},1,{'1' * 29}.5,,,", 17, "F", "大得不像"),
    (f"15,H15,韩六,{resident_id('33022519800101007')},1,1e-400,,,", 18, "F", "两位小数"),
]


@pytest.mark.parametrize(
    ("typed", "why"),
    [("1e30", "大得不像"), ("1e400", "大得不像"), ("9" * 29, "大得不像"), ("-1e400", "负数"), ("1e-400", "两位小数")]
    + [("1e999999", "大得不像"), ("1e-999999", "两位小数"), ("9" * 29 + ".001", "大得不像")],
)
def test_an_amount_beyond_any_subsidy_is_a_problem_of_its_cell(typed, why):
    from engine.public.subsidies import amount_fen

    assert why in amount_fen(typed)


def test_every_bad_row_is_reported_with_line_and_column_and_nothing_is_written(county):
    from engine.public import subsidies

    before = counts(county)
    data = roster_csv([row for row, *_ in BAD], title=False).encode()
    data = b"\n\n" + data  # two blank lines above the header: the header is line 3
    with pytest.raises(subsidies.RosterInvalid) as caught:
        do(county, subsidies.import_roster, KEEPER, data, "bad.csv", "QX0101", "subsistence", "2026-10")
    found = {(p.line, p.column) for p in caught.value.problems}
    for _row, line, column, words in BAD:
        assert (line, column) in found, (line, column)
        assert any(words in p.message for p in caught.value.problems if (p.line, p.column) == (line, column)), words
    assert any((p.line, p.column) == (10, "G") for p in caught.value.problems)  # 2026-02-30
    assert counts(county) == before
    assert caught.value.exit_code == 2 and "bad.csv" in str(caught.value)


def test_a_second_roster_for_the_period_needs_replace_and_a_withdrawal_needs_a_reason(county):
    from engine.errors import Conflict, InvalidState, PowerlistError
    from engine.public import subsidies
    from engine.public.villages import public_village

    data = roster_csv([f"1,H001,张三丰,{IDS[0]},3,99,,,"]).encode()
    args = ("QX0102", "temporary_aid", "2026-09")
    do(county, subsidies.import_roster, KEEPER, data, "a.csv", *args)
    with pytest.raises(Conflict) as caught:
        do(county, subsidies.import_roster, KEEPER, data, "again.csv", *args)
    assert caught.value.code == "subsidy.exists"
    new = do(county, subsidies.import_roster, KEEPER, data, "b.csv", *args, replace=True)
    listed = do(county, subsidies.rosters_for_staff, KEEPER, "QX0102")
    old = next(r for r in listed if r.status == "replaced")
    assert old.replaced_by == new.roster_id and old.withdrawn_by == KEEPER
    with pytest.raises(PowerlistError) as caught:
        do(county, subsidies.withdraw, KEEPER, new.roster_id, " ")
    assert caught.value.code == "subsidy.reason_needed"
    do(county, subsidies.withdraw, KEEPER, new.roster_id, "金额录错，核对后重发")
    with pytest.raises(InvalidState):
        do(county, subsidies.withdraw, KEEPER, new.roster_id, "再撤一次")
    with county() as session:
        shown = subsidies.public_rosters(session, public_village(session, "QX0102")).rosters
    assert all(r.kind != "temporary_aid" for r in shown)
    withdrawn = next(r for r in do(county, subsidies.rosters_for_staff, KEEPER, "QX0102") if r.id == new.roster_id)
    assert (withdrawn.status, withdrawn.withdraw_reason) == ("withdrawn", "金额录错，核对后重发")


def test_only_the_keepers_within_reach_may_import_or_withdraw(county):
    from engine.errors import NotFound, PermissionDenied, PowerlistError
    from engine.public import subsidies

    data = roster_csv().encode()
    for who in (OTHER_KEEPER, CADRE, "shangtang.supervisor", "county.auditor"):
        with pytest.raises(PermissionDenied) as caught:
            do(county, subsidies.import_roster, who, data, "x.csv", "QX0101", "temporary_aid", "2026-11")
        assert caught.value.code == "subsidy.denied", who
    with pytest.raises(NotFound):
        do(county, subsidies.import_roster, "nobody", data, "x.csv", "QX0101", "temporary_aid", "2026-11")
    with pytest.raises(PowerlistError) as caught:
        do(county, subsidies.import_roster, KEEPER, data, "x.csv", "QX0101", "subsistence", "2026-13")
    assert caught.value.code == "subsidy.bad_period"
    # the county's civil-affairs bureau reaches every village
    done = do(county, subsidies.import_roster, "county.civil", data, "x.csv", "QX0101", "elderly_allowance", "2026-11")
    with pytest.raises(PermissionDenied):
        do(county, subsidies.withdraw, OTHER_KEEPER, done.roster_id, "不是我的村")
    codes = [h.code for h in do(county, subsidies.households_of, "shangtang.secretary", "QX0101")]
    assert {"H001", "H002", "H003"} <= set(codes)
    with pytest.raises(PermissionDenied):
        do(county, subsidies.households_of, CADRE.replace("shangtang", "lingtou"), "QX0101")


def test_an_approved_subsistence_application_joins_its_village_roster(county):
    from engine.public import subsidies
    from engine.public.subsidy_models import SubsidyEntry, SubsidyRoster
    from engine.public.villages import public_village

    with county() as session:
        entry = session.scalar(select(SubsidyEntry).where(SubsidyEntry.instance_id == county.instance))
        roster = session.get(SubsidyRoster, entry.roster_id)
        shown = subsidies.public_rosters(session, public_village(session, "QX0102")).rosters
    assert (roster.kind, roster.period, roster.source, entry.amount_fen, entry.people) == (
        "subsistence",
        "2025-04",
        "flow",
        60000,
        2,
    )
    assert entry.id_masked == "330225************"
    assert shown[0].entries[0].name == "周*"
    codes = [h.code for h in do(county, subsidies.households_of, "dongxi.civil", "QX0102")]
    code = next(c for c in codes if c.startswith("QX0102-"))
    assert do(county, subsidies.lookup, "QX0102", code, "123X", "10.1.1.1").matched


def test_a_county_override_masks_names_by_surname_and_publishes_the_id_region(county, tmp_path, monkeypatch):
    from engine.public import masking, subsidies
    from engine.public.villages import public_village

    (tmp_path / "public.yaml").write_text("public:\n  masking:\n    names: surname\n    id_numbers: {keep_start: 6}\n")
    (tmp_path / "subsidies.yaml").write_text(
        "subsidies:\n  kinds:\n    farmland_protection:\n      published: [name, id_number, amount]\n"
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    masking.masking_rules.cache_clear()
    try:
        data = xlsx([["户号", "姓名", "身份证号码", "补贴金额"], ["H001", "张三丰", IDS[0], 312.8]])
        do(county, subsidies.import_roster, KEEPER, data, "耕地.xlsx", "QX0101", "farmland_protection", "2025")
        with county() as session:
            shown = subsidies.public_rosters(session, public_village(session, "QX0101")).rosters
        farmland = next(r for r in shown if r.kind == "farmland_protection")
        assert asdict(farmland.entries[0]) == {
            "name": "张**",
            "id_number": "330225************",
            "group": None,
            "people": None,
            "amount_fen": 31280,
            "paid_on": None,
        }
        (tmp_path / "subsidies.yaml").write_text("subsidies:\n  kinds:\n    farmland_protection:\n      period: week\n")
        with pytest.raises(Exception, match="period is one of"):
            subsidies.rules()
    finally:
        monkeypatch.delenv("POWERLIST_RULES_DIR")
        masking.masking_rules.cache_clear()


def test_the_command_line_imports_and_refuses(county, tmp_path):
    from tests.conftest import Cli

    cli = Cli(county.url, tmp_path)
    good, bad = tmp_path / "名册.csv", tmp_path / "bad.csv"
    good.write_bytes(roster_csv().encode("gb18030"))
    bad.write_text(roster_csv([f"1,H1,,{IDS[0]},1,10.001,,,"]))
    where = ("--village", "QX0101", "--kind", "disability_allowance", "--period", "2026-11")
    with ThreadPoolExecutor(4) as pool:  # at once: each command starts a Python; the refusals write nothing
        refused, *denied, done = pool.map(
            lambda args: cli("subsidies", "import", *args, *where),
            [
                (str(bad), "--as", KEEPER),
                (str(good), "--as", CADRE),
                (str(good), "--as", OTHER_KEEPER),
                (str(good), "--as", KEEPER, "--json"),
            ],
        )
    assert refused.code == 2 and "第 4 行 C 列（姓名）：缺姓名" in refused.err and "第 4 行 F 列" in refused.err
    for answer in denied:  # a village cadre, another town's keeper
        assert answer.code == 1 and "无权" in answer.err, answer.err
    assert done.code == 0, done.err
    done = done.json()
    assert (done["households"], done["total_fen"], done["kind"]) == (3, 263100, "disability_allowance")


def test_an_approved_matter_adds_a_household_to_a_roster_only_once(county):
    from engine.persistence.models import AuditLog, OrgUnit
    from engine.public import subsidies
    from engine.public.subsidy_models import SubsidyEntry, SubsidyRoster

    data = roster_csv([f"1,H001,张三丰,{IDS[0]},3,99,,,", f"2,H002,李四,{IDS[1]},1,50,,,"]).encode()
    done = do(county, subsidies.import_roster, KEEPER, data, "a.csv", "QX0101", "subsistence", "2026-08")
    kind = subsidies.kind_of("subsistence")
    now = datetime(2026, 8, 20, tzinfo=CST)
    again = [  # the same household by its code, by its head's name and ID, and a new household
        subsidies.Row(0, "张三", IDS[2], "H001", 1, 100, None, None),
        subsidies.Row(0, "李四", IDS[1], "", 1, 100, None, None),
        subsidies.Row(0, "王五", IDS[3], "", 2, 300, None, None),
        subsidies.Row(0, "王五", IDS[3], "", 2, 300, None, None),
    ]
    with county() as session, session.begin():
        village = session.scalar(select(OrgUnit).where(OrgUnit.code == "QX0101"))
        added = [subsidies.add_entry(session, village, kind, "2026-08", row, actor=KEEPER, now=now) for row in again]
    assert [entry is not None for entry in added] == [False, False, True, False]
    with county() as session:
        roster = session.get(SubsidyRoster, done.roster_id)
        names = session.scalars(select(SubsidyEntry.recipient_name).where(SubsidyEntry.roster_id == roster.id)).all()
        skipped = session.scalars(select(AuditLog).where(AuditLog.action == "subsidy.entry_skipped")).all()
    assert sorted(names) == ["张三丰", "李四", "王五"]
    assert (roster.households, roster.people, roster.total_fen) == (3, 6, 99_00 + 50_00 + 300)
    assert [log.detail["roster"] for log in skipped] == [roster.id] * 3
    assert [log.detail["household"] for log in skipped][:2] == ["H001", "H002"]
    assert skipped[2].detail["household"].startswith("QX0101-") and skipped[2].detail["entry"] == added[2].id
