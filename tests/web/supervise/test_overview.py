"""The supervisors' overview: the village × item risk map, grades per quarter and year with their trend,
and the monthly red and black lists (晾晒台), on both databases; the pages and the API over them.

Violations are seeded as rows (what the detectors would have raised) in two villages of 东溪镇 (QX0101,
QX0102) and two of 西岭镇, on two flows, across months; the clock stands at 15 December 2026.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import api, clock
from engine.errors import NotFound, PermissionDenied
from engine.history.chain import GENESIS
from engine.org.service import get_unit
from engine.supervision import overview
from engine.supervision.models import Violation
from engine.supervision.overview import Period, Tally
from engine.supervision.violations import period_of
from tests.conftest import DATABASES, MINI, ROOT, fresh_database

FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
NOW = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
COUNTY = "county.discipline"
DONGXI = "dongxi.discipline"  # 东溪镇纪委: QX0101 上塘村, QX0102 下塘村
XILING = "xiling.discipline"  # 西岭镇纪委: QX0201 岭头村, QX0202 岭脚村
SUPERVISOR = "shangtang.supervisor"  # 上塘村 村监会
AUDITOR = "county.auditor"
PASSWORD = "powerlist-demo"


def cst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A China-time moment, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


# (village, flow or None, colour, points, China time, extra fields)
SEEDS = [
    ("QX0101", "mini_decision", "red", 10, cst(2026, 10, 10), {}),
    ("QX0101", "mini_decision", "yellow", 1, cst(2026, 10, 20), {}),
    ("QX0101", "mini_decision", "blue", 0, cst(2026, 11, 5), {}),
    ("QX0101", "four_deliberations", "yellow", 3, cst(2026, 11, 12), {}),
    # the town agency's step: on the village's map, charged to the town's score
    ("QX0101", "four_deliberations", "yellow", 2, cst(2026, 10, 18), {"responsible_role": "town_agency"}),
    ("QX0101", None, "yellow", 2, cst(2026, 11, 25), {}),  # a card payment outside any matter
    ("QX0101", "mini_decision", "yellow", 1, cst(2026, 8, 1), {}),
    ("QX0102", "mini_decision", "yellow", 2, cst(2026, 10, 15), {}),
    # red, open past its rectification deadline (10 December) on the 15th
    ("QX0102", "mini_decision", "red", 5, cst(2026, 12, 1), {"rectify_by": cst(2026, 12, 10)}),
    ("QX0102", "four_deliberations", "red", 10, cst(2026, 10, 3), {"outcome": "dismissed", "status": "closed"}),
    ("QX0102", "four_deliberations", "red", 5, cst(2026, 9, 30, 23, 30), {}),  # 30 September in China: Q3
    ("QX0201", "mini_decision", "red", 10, cst(2026, 10, 8), {}),
    (
        "QX0201",
        "four_deliberations",
        "red",
        25,
        cst(2026, 11, 20),
        {"rectify_by": cst(2026, 12, 5), "status": "closed", "outcome": "rectified", "closed_at": cst(2026, 11, 25)},
    ),
]


@pytest.fixture(scope="module", params=DATABASES)
def seeded_db(request, tmp_path_factory):
    """One seeded database per kind for the whole module: the views only read it."""
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist import demo

    with fresh_database(request.param, tmp_path_factory.mktemp("overview")) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session, session.begin():
            demo.load_demo(session, deploy_flows=False)
            _seed(session)
        yield url, sessions
        engine.dispose()


def _seed(session) -> None:
    api.deploy_file(session, MINI, "admin")
    api.deploy_file(session, FOUR, "admin")
    matters = {}
    for village, slug in (("QX0101", "shangtang"), ("QX0102", "xiatang"), ("QX0201", "lingtou")):
        for key in ("mini_decision", "four_deliberations"):
            matters[(village, key)] = api.start(session, key, village, f"{slug}.secretary", None, "事项").instance_id
    for index, (village, key, colour, points, at, extra) in enumerate(SEEDS):
        session.add(
            Violation(
                code="step_overdue",
                dedup_key=f"seed-{index}",
                severity=colour,
                points=points,
                title="办理超期",
                message="seeded",
                rule_version="seed",
                village_id=get_unit(session, village).id,
                instance_id=matters[(village, key)] if key else None,
                evidence=[],
                level="village",
                status=extra.get("status", "open"),
                outcome=extra.get("outcome"),
                responsible_role=extra.get("responsible_role"),
                detected_at=at,
                rectify_by=extra.get("rectify_by"),
                closed_at=extra.get("closed_at"),
                period=period_of(at),
                event_seq=0,
                event_head=GENESIS,
            )
        )


@pytest.fixture
def seeded(seeded_db):
    clock.clock.set(NOW)
    yield seeded_db[1]
    clock.clock.set(None)


def test_periods_are_china_time_and_step_by_kind():
    october = Period.parse("2026-10")
    assert (october.kind, str(october), october.quarters) == ("month", "2026-10", ("2026Q4",))
    assert october.start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert str(Period.parse("2026q4").shift(1)) == "2027Q1"
    assert [str(p) for p in Period.parse("2026Q1").last(3)] == ["2025Q3", "2025Q4", "2026Q1"]
    assert Period.parse("2026").quarters == ("2026Q1", "2026Q2", "2026Q3", "2026Q4")
    assert str(Period.parse("2026-01").shift(-1)) == "2025-12"
    assert Period.current("quarter", NOW) == Period.parse("2026Q4")
    for bad in ("2026-13", "2026Q5", "26", "", None, "2026-10-01", "１９９９"):
        with pytest.raises(overview.OverviewInputInvalid) as refused:
            Period.parse(bad)
        assert (refused.value.field, refused.value.code, refused.value.exit_code) == ("period", "overview.period", 2)
    with pytest.raises(overview.OverviewInputInvalid) as refused:
        Period.parse("2026Q4", ("month",))
    assert refused.value.code == "overview.period_kind"


def test_the_risk_map_counts_colours_and_points_per_village_and_item(seeded):
    with seeded() as session:
        october = overview.risk_map(session, DONGXI, Period.parse("2026-10"))
        assert [r.village.code for r in october.rows] == ["QX0101", "QX0102"]
        assert october.cell("QX0101", "mini_decision").tally == Tally(red=1, yellow=1, points=11)
        assert october.cell("QX0101", "four_deliberations").tally == Tally(yellow=1, points=2)
        assert october.cell("QX0102", "mini_decision").tally == Tally(yellow=1, points=2)
        assert october.cell("QX0102", "four_deliberations").tally == Tally()  # dismissed: not counted

        quarter = overview.risk_map(session, DONGXI, Period.parse("2026Q4"))
        keys = [i.key for i in quarter.items]
        assert {"mini_decision", "four_deliberations"} <= set(keys) and keys[-1] is None
        assert quarter.cell("QX0101", "mini_decision").tally == Tally(red=1, yellow=1, blue=1, points=11)
        assert quarter.cell("QX0101", "four_deliberations").tally == Tally(yellow=2, points=5)
        assert quarter.cell("QX0101", None).tally == Tally(yellow=1, points=2)
        assert quarter.cell("QX0102", "mini_decision").tally == Tally(red=1, yellow=1, points=7)
        assert quarter.rows[0].total == Tally(red=1, yellow=4, blue=1, points=18)
        assert quarter.item_totals[keys.index("mini_decision")] == Tally(red=2, yellow=2, blue=1, points=18)
        assert quarter.total == Tally(red=2, yellow=5, blue=1, points=25)
        assert [(c.village, c.item, c.rank) for c in quarter.worst[:2]] == [
            ("QX0101", "mini_decision", 1),
            ("QX0102", "mini_decision", 2),
        ]
        assert quarter.cell("QX0101", "mini_decision").tally.worst == "red"

        year = overview.risk_map(session, DONGXI, Period.parse("2026"))
        assert year.cell("QX0101", "mini_decision").tally == Tally(red=1, yellow=2, blue=1, points=12)
        assert year.cell("QX0102", "four_deliberations").tally == Tally(red=1, points=5)
        september = overview.risk_map(session, DONGXI, Period.parse("2026-09"), only_warned=True)
        assert [i.key for i in september.items] == ["four_deliberations"]


def test_the_risk_map_keeps_to_the_readers_scope(seeded):
    with seeded() as session:
        county = overview.risk_map(session, COUNTY, Period.parse("2026Q4"))
        assert [r.village.code for r in county.rows] == ["QX0101", "QX0102", "QX0201", "QX0202"]
        town = overview.risk_map(session, COUNTY, Period.parse("2026Q4"), "QX02")
        assert [r.village.code for r in town.rows] == ["QX0201", "QX0202"]
        other = overview.risk_map(session, XILING, Period.parse("2026Q4"))
        assert [r.village.code for r in other.rows] == ["QX0201", "QX0202"]
        assert other.total == Tally(red=2, points=35)
        with pytest.raises(NotFound):
            overview.risk_map(session, XILING, Period.parse("2026Q4"), "QX01")
        with pytest.raises(NotFound):
            overview.risk_map(session, XILING, Period.parse("2026Q4"), "QX0101")
        own = overview.risk_map(session, SUPERVISOR, Period.parse("2026Q4"))
        assert [r.village.code for r in own.rows] == ["QX0101"] and own.total.points == 18
        with pytest.raises(NotFound):
            overview.risk_map(session, SUPERVISOR, Period.parse("2026Q4"), "QX01")
        with pytest.raises(PermissionDenied):
            overview.risk_map(session, "shangtang.secretary", Period.parse("2026Q4"))


def test_grades_per_quarter_and_year_with_their_trend(seeded):
    with seeded() as session:
        quarter = overview.grades(session, COUNTY, Period.parse("2026Q4"), trend=2)
        q = {v.village.code: v for v in quarter.villages}
        # QX0101: 10 + 1 + 0 + 3 + 2 (the town agency's 2 count against the town)
        assert (q["QX0101"].score, q["QX0101"].grade, q["QX0101"].notice) == (84, "C", "warning")
        assert (q["QX0102"].score, q["QX0102"].grade) == (93, "B")
        assert (q["QX0201"].score, q["QX0201"].grade) == (65, "D")
        assert (q["QX0202"].score, q["QX0202"].grade) == (100, "A")
        assert [(str(s.period), s.score, s.grade) for s in q["QX0101"].trend] == [
            ("2026Q3", 99, "A"),
            ("2026Q4", 84, "C"),
        ]
        assert [(str(s.period), s.score) for s in q["QX0102"].trend] == [("2026Q3", 95), ("2026Q4", 93)]
        assert dict(quarter.counts) == {"A": 1, "B": 1, "C": 1, "D": 1}

        year = overview.grades(session, DONGXI, Period.parse("2026"), trend=2)
        y = {v.village.code: v for v in year.villages}
        assert set(y) == {"QX0101", "QX0102"}
        assert (y["QX0101"].score, y["QX0101"].grade, y["QX0101"].deducted) == (96, "A", 17)  # (100+100+99+84)/4
        assert (y["QX0102"].score, y["QX0102"].grade) == (97, "A")  # (100+100+95+93)/4
        assert [(str(s.period), s.score) for s in y["QX0101"].trend] == [("2025", 100), ("2026", 96)]

        own = overview.grades(session, SUPERVISOR, Period.parse("2026Q4"))
        assert [v.village.code for v in own.villages] == ["QX0101"] and len(own.villages[0].trend) == 4
        with pytest.raises(overview.OverviewInputInvalid) as refused:
            overview.grades(session, COUNTY, Period.parse("2026-10"))
        assert refused.value.field == "period"
        with pytest.raises(overview.OverviewInputInvalid) as refused:
            overview.grades(session, COUNTY, Period.parse("2026Q4"), trend=13)
        assert refused.value.field == "trend"


def test_the_monthly_red_and_black_lists_follow_the_rule_data(seeded, tmp_path, monkeypatch):
    with seeded() as session:
        december = overview.lists(session, COUNTY, Period.parse("2026-12"))
        assert december.as_of == NOW
        assert [(e.village.code, e.reasons) for e in december.black] == [
            ("QX0201", ("grade",)),  # 65 in the quarter to date: D
            ("QX0102", ("overdue_red",)),  # 93, B, but a red warning left past its deadline
        ]
        assert [e.village.code for e in december.red] == ["QX0202"]
        assert {e.village.code for e in december.others} == {"QX0101"}
        assert december.black[1].overdue_red == 1 and december.black[1].tally == Tally(red=1, points=5)

        october = overview.lists(session, DONGXI, Period.parse("2026-10"))
        # at the end of October: QX0102 lost 2 points, no red warning in the month (the dismissed one is out)
        assert [(e.village.code, e.score) for e in october.red] == [("QX0102", 98)]
        assert october.black == () and [e.village.code for e in october.others] == ["QX0101"]
        with pytest.raises(overview.OverviewInputInvalid):
            overview.lists(session, COUNTY, Period.parse("2026Q4"))

    from engine.supervision import rules

    (tmp_path / "supervision.yaml").write_text(
        "supervision:\n  lists:\n    score: month\n    red: {grades: [A, B], max_red: 0}\n", encoding="utf-8"
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    rules.reset()
    try:
        with seeded() as session:
            december = overview.lists(session, DONGXI, Period.parse("2026-12"))
            assert december.score_over == "month"
            # December alone: QX0101 lost nothing, QX0102 is still black for its overdue red warning
            assert [(e.village.code, e.score) for e in december.red] == [("QX0101", 100)]
            assert [e.village.code for e in december.black] == ["QX0102"]
    finally:
        monkeypatch.delenv("POWERLIST_RULES_DIR")
        rules.reset()


def test_views_as_json(seeded):
    from web.api.overview import as_json

    with seeded() as session:
        data = as_json(overview.risk_map(session, SUPERVISOR, Period.parse("2026Q4")))
        assert data["period"] == "2026Q4" and data["unit"]["code"] == "QX0101"
        assert data["rows"][0]["total"] == {"red": 1, "yellow": 4, "blue": 1, "points": 18, "count": 6, "worst": "red"}
        lists = as_json(overview.lists(session, COUNTY, Period.parse("2026-12")))
        assert lists["as_of"] == "2026-12-15T10:00:00+08:00"


@pytest.fixture(scope="module")
def web(seeded_db, tmp_path_factory):
    from tests.support.webapp import served

    yield from served(seeded_db[0], tmp_path_factory.mktemp("web"))


@pytest.fixture
def app(web, seeded):
    return web


def _client(app, username: str):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.data.decode()[:300]
    return client


def test_the_pages_show_the_map_the_grades_and_the_board(app):
    county = _client(app, COUNTY)
    page = county.get("/supervise/overview/risk?period=2026Q4")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert "上塘村" in html and "岭脚村" in html and "扣 11 分" in html and "扣 25 分" in html and "共扣 60 分" in html
    assert "/supervise/?village=QX0101&amp;flow=mini_decision&amp;period=2026Q4" in html
    assert 'class="risk-cell risk-red worst"' in html and "红 1 黄 1 蓝 1" in html

    grades = county.get("/supervise/overview/grades?period=2026Q4&trend=2").get_data(as_text=True)
    assert '<td class="num score">84</td>' in grades and "预警通知" in grades
    assert 'class="spark"' in grades and "99 → 84" in grades and 'class="bars"' in grades

    board = county.get("/supervise/overview/lists?period=2026-12")
    text = board.get_data(as_text=True)
    assert board.status_code == 200
    red, black = text.split('id="red-title"')[1].split('id="black-title"')
    assert "岭脚村" in red and "下塘村" not in red
    assert "下塘村" in black and "岭头村" in black and "1 条红色预警逾期未整改" in black and "等次为 D" in black

    assert county.get("/supervise/overview/risk").status_code == 200  # the current quarter


def test_the_pages_keep_to_the_scope_and_refuse_bad_input_naming_the_field(app):
    own = _client(app, SUPERVISOR).get("/supervise/overview/risk?period=2026Q4").get_data(as_text=True)
    assert "上塘村" in own and "下塘村" not in own
    other = _client(app, XILING)
    assert "上塘村" not in other.get("/supervise/overview/risk?period=2026Q4").get_data(as_text=True)
    assert other.get("/supervise/overview/risk?period=2026Q4&unit=QX01").status_code == 404
    assert _client(app, "shangtang.secretary").get("/supervise/overview/risk").status_code == 403
    auditor = _client(app, AUDITOR)
    assert auditor.get("/supervise/overview/grades?period=2026").status_code == 200
    for url, field in (
        ("/supervise/overview/risk?period=2026-13", "period"),
        ("/supervise/overview/lists?period=2026Q4", "period"),
        ("/supervise/overview/grades?period=2026Q4&trend=99", "trend"),
    ):
        answer = auditor.get(url)
        assert answer.status_code == 400, url
        assert field in answer.get_data(as_text=True), url


def test_the_api_answers_the_same_views(app, seeded):
    from engine.workspace import tokens

    with seeded() as session, session.begin():
        token = tokens.create(session, DONGXI, "overview", None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    risk = client.get("/api/v1/overview/risk?period=2026Q4", headers=headers).get_json()
    assert [r["village"]["code"] for r in risk["rows"]] == ["QX0101", "QX0102"]
    assert risk["total"]["points"] == 25
    grades = client.get("/api/v1/overview/grades?period=2026Q4&trend=2", headers=headers).get_json()
    assert [(v["village"]["code"], v["score"], v["grade"]) for v in grades["villages"]] == [
        ("QX0101", 84, "C"),
        ("QX0102", 93, "B"),
    ]
    board = client.get("/api/v1/overview/lists?period=2026-12", headers=headers).get_json()
    assert [e["village"]["code"] for e in board["black"]] == ["QX0102"]
    for url, code, field in (
        ("/api/v1/overview/risk?period=Q4", "overview.period", "period"),
        ("/api/v1/overview/lists?period=2026", "overview.period_kind", "period"),
        ("/api/v1/overview/grades?trend=0", "overview.trend", "trend"),
    ):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 400, url
        assert (answer.get_json()["error"]["code"], answer.get_json()["error"]["field"]) == (code, field)
    assert client.get("/api/v1/overview/risk?unit=QX02", headers=headers).status_code == 404
