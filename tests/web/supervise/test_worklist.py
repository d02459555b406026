"""The supervisors' worklist, search and the handling of a warning, on the page, the API and the CLI.

Warnings (see conftest): on 上塘村's matter a red one (with the town from the start), a yellow and a
blue one (with the village committee); a yellow one in 下塘村 (same town) and one in 岭头村 (the
other town). Each action runs through each adapter with the same outcome and the same refusals.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import clock
from engine.messages import describe
from engine.persistence.models import OrgUnit
from engine.supervision import worklist as wl
from engine.supervision.models import Decision, Violation
from engine.supervision.violations import book_for_village, upgrade
from tests.support.webapp import served
from tests.web.supervise.conftest import Warnings, warning

PASSWORD = "powerlist-demo"
USERS = (
    "shangtang.supervisor",
    "xiatang.supervisor",
    "dongxi.discipline",
    "xiling.discipline",
    "county.discipline",
    "county.auditor",
    "shangtang.chair",
    "shangtang.cadre",
    "admin",
)


class Site:
    """The web app, a signed-in page client and an API token per user, and the CLI in process."""

    def __init__(self, warnings: Warnings, app):
        from engine.workspace import tokens
        from powerlist.cli import State

        self.w = warnings
        self.app = app
        self.pages = {}
        self.tokens = {}
        with warnings.world.sessions() as session, session.begin():
            for user in USERS:
                self.tokens[user] = tokens.create(session, user, "worklist", None)
        self.state = State()
        self.state._engine = warnings.world.engine

    def page(self, user: str):
        if user not in self.pages:
            client = self.app.test_client()
            answer = client.post("/login", data={"username": user, "password": PASSWORD})
            assert answer.status_code == 302, user
            self.pages[user] = client
        return self.pages[user]

    def api(self, user: str, method: str, url: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.app.test_client().open("/api/v1" + url, method=method, headers=headers, **kwargs)

    def cli(self, *arguments: str):
        from powerlist.cli import main

        result = CliRunner().invoke(main, list(arguments), obj=self.state, env={"POWERLIST_LANG": "zh"})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"powerlist {' '.join(arguments)} raised {result.exception!r}")
        return result

    def act(self, adapter: str, user: str, violation: int, action: str, **fields: str) -> tuple[str, str | None]:
        """("done", None) or (refusal kind, code or message) as the adapter answers."""
        if adapter == "web":
            answer = self.page(user).post(f"/supervise/violations/{violation}/{action}", data=fields)
            if answer.status_code == 302:
                return "done", None
            return str(answer.status_code), None
        if adapter == "api":
            answer = self.api(user, "POST", f"/violations/{violation}/{action}", json=fields)
            if answer.status_code == 200:
                return "done", None
            error = answer.get_json()["error"]
            return str(answer.status_code), error["code"] + ("@" + error["field"] if error.get("field") else "")
        options = []
        names = {"note": "--note", "owner_role": "--owner-role", "owner_user": "--owner", "deadline": "--deadline"}
        for name, value in fields.items():
            options += [names[name], value]
        command = ["close", "--dismiss"] if action == "dismiss" else [action]
        result = self.cli("violation", *command, str(violation), "--as", user, *options, "--json")
        return ("done", None) if result.exit_code == 0 else (f"exit {result.exit_code}", result.stderr.strip())


@pytest.fixture
def site(warnings, db_url, tmp_path):
    for app in served(db_url, tmp_path):
        yield Site(warnings, app)


def _ids(page: wl.Page) -> list[int]:
    return [item.id for item in page.items]


def _list(warnings: Warnings, user: str, **filters) -> wl.Worklist:
    with warnings.world.sessions() as session:
        return wl.worklist(session, user, wl.parse_filters(filters))


# --- contents and order ------------------------------------------------------------------------------


def test_each_supervisor_sees_what_they_must_handle_first_and_nothing_outside_their_scope(site):
    w = site.w
    expected = {
        # user: (must handle now, the others)
        "shangtang.supervisor": ([w.yellow, w.blue], [w.red]),  # the town handles the red one; the village follows it
        "xiatang.supervisor": ([w.neighbour], []),
        "dongxi.discipline": ([w.red], [w.neighbour, w.yellow, w.blue]),
        "county.discipline": ([], [w.red, w.far, w.neighbour, w.yellow, w.blue]),
        "xiling.discipline": ([], [w.far]),
        "county.auditor": ([], [w.red, w.far, w.neighbour, w.yellow, w.blue]),
    }
    for user, (now, others) in expected.items():
        listing = _list(w, user)
        assert (_ids(listing.now), _ids(listing.others)) == (now, others), user
        if user == "shangtang.supervisor":
            assert [item.may_act for item in listing.others.items] == [False]
        assert listing.may_act == (user != "county.auditor")
        api = site.api(user, "GET", "/violations").get_json()
        assert [i["id"] for i in api["now"]["items"]] == now and [i["id"] for i in api["others"]["items"]] == others
        page = site.page(user).get("/supervise/")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert ("上塘村道修缮" in text) == (w.red in now + others or w.yellow in now + others), user
    # The other town sees nothing of 上塘村's warnings, by id either.
    for adapter_get in (
        lambda: site.page("xiling.discipline").get(f"/supervise/violations/{w.red}").status_code,
        lambda: site.api("xiling.discipline", "GET", f"/violations/{w.red}").status_code,
        lambda: site.page("xiatang.supervisor").get(f"/supervise/violations/{w.yellow}").status_code,
    ):
        assert adapter_get() == 404
    assert site.api("xiling.discipline", "GET", f"/violations/{w.red}").get_json()["error"]["code"] == (
        "violation.not_found"
    )
    # The cadres' desk is not the worklist; the menu badge counts what must be handled now.
    assert site.page("shangtang.cadre").get("/supervise/").status_code == 403
    menu = site.page("shangtang.supervisor").get("/supervise/").get_data(as_text=True)
    assert '<span class="badge">2</span>' in menu.split("</nav>")[0]


def test_supervisors_land_on_their_worklist_and_auditors_on_the_audit_pages(site):
    landing = {
        "shangtang.supervisor": "/supervise/",
        "dongxi.discipline": "/supervise/",
        "county.discipline": "/supervise/",
        "county.auditor": "/audit/",
        "shangtang.chair": "/desk",
    }
    for user, path in landing.items():
        answer = site.page(user).get("/")
        assert answer.status_code == 302 and answer.headers["Location"].startswith(path), (user, answer.headers)
    desk = site.page("shangtang.chair").get("/desk").get_data(as_text=True)
    assert "/supervise/" not in desk.split("</nav>")[0]
    auditor = site.page("county.auditor").get("/audit/matters").get_data(as_text=True)
    assert "/supervise/" in auditor.split("</nav>")[0]


def test_filters_narrow_the_lists_and_a_bad_filter_names_its_field(site):
    w = site.w
    assert _ids(_list(w, "dongxi.discipline", village="QX0102").others) == [w.neighbour]
    assert _ids(_list(w, "dongxi.discipline", village="QX0201").others) == []  # not theirs: nothing
    assert _ids(_list(w, "shangtang.supervisor", colour="blue").now) == [w.blue]
    assert _ids(_list(w, "county.discipline", kind="step_forced").others) == [w.red]
    assert _ids(_list(w, "county.discipline", flow="mini_decision").others) == [
        w.red,
        w.far,
        w.neighbour,
        w.yellow,
        w.blue,
    ]
    assert _ids(_list(w, "county.discipline", flow="complaint").others) == []
    assert _ids(_list(w, "county.discipline", state="closed").others) == []
    assert len(_list(w, "county.discipline", period="2026-11").others.items) == 5
    assert len(_list(w, "county.discipline", period="2026Q4").others.items) == 5
    assert _list(w, "county.discipline", period="2026-10").others.total == 0
    paged = _list(w, "county.discipline", per_page="2", page="2").others
    assert (_ids(paged), paged.total, paged.pages) == ([w.neighbour, w.yellow], 5, 3)
    for name, value in (
        ("colour", "green"),
        ("state", "lost"),
        ("period", "2026-13"),
        ("page", "0"),
        ("village", "XX"),
    ):
        api = site.api("county.discipline", "GET", f"/violations?{name}={value}")
        assert api.status_code == 400 and api.get_json()["error"]["field"] == name, (name, api.get_json())
        page = site.page("county.discipline").get(f"/supervise/?{name}={value}")
        assert page.status_code == 400 and f'data-field="{name}"' in page.get_data(as_text=True)
    with w.world.sessions() as session, session.begin():
        session.get(Violation, w.yellow).status = "closed"  # a filter by state shows closed ones
    assert _ids(_list(w, "shangtang.supervisor", state="closed").now) == []
    assert _ids(_list(w, "county.auditor", state="closed").others) == [w.yellow]
    # Supervisors read what was closed in their scope too, at any level; not another town's.
    for user in ("shangtang.supervisor", "dongxi.discipline", "county.discipline"):
        assert _ids(_list(w, user, state="closed").others) == [w.yellow], user
    assert _ids(_list(w, "xiling.discipline", state="closed").others) == []
    assert _ids(_list(w, "xiatang.supervisor", state="closed").others) == []


# --- search ------------------------------------------------------------------------------------------


def test_search_finds_matters_by_title_receipt_person_and_decision_number_within_scope(site):
    from engine.public.receipts import display, receipt_for

    w = site.w
    with w.world.sessions() as session, session.begin():
        code = receipt_for(session, w.matter)
        village = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX0101"))
        session.add(
            Decision(
                village_id=village,
                number="上塘决〔2026〕7号",
                kind="resolution",
                year=2026,
                seq=7,
                purpose="修缮村道",
                passed_on="2026-11-02",
                status="open",
                source="paper",
                instance_id=w.matter,
                recorded_at=datetime(2026, 11, 2, tzinfo=UTC),
            )
        )

    def hits(user: str, query: str) -> list[tuple[int, list[str]]]:
        answer = site.api(user, "GET", "/search", query_string={"q": query})
        assert answer.status_code == 200, answer.get_json()
        return [(h["instance_id"], h["matched"]) for h in answer.get_json()["hits"]]

    assert hits("dongxi.discipline", "村道修缮") == [(w.matter, ["title"])]
    assert hits("county.auditor", display(code).lower()) == [(w.matter, ["receipt"])]
    assert hits("shangtang.supervisor", "〔2026〕7") == [(w.matter, ["decision"])]
    found = dict(hits("county.discipline", "shangtang.secretary"))
    assert found == {w.matter: ["person"]}
    assert w.matter in dict(hits("county.discipline", "dongxi.agency"))  # acted in it (forced a step)
    assert hits("xiling.discipline", "村道修缮") == []  # another town's matter
    assert hits("county.discipline", "%%") == [] and hits("county.discipline", "__") == []  # wildcards are text
    page = site.page("dongxi.discipline").get("/supervise/search", query_string={"q": "村道修缮"})
    assert page.status_code == 200 and f"/matters/{w.matter}" in page.get_data(as_text=True)
    for query in ("x", "长" * 101, ""):
        api = site.api("county.discipline", "GET", "/search", query_string={"q": query})
        assert api.status_code == 400 and api.get_json()["error"]["field"] == "q"
        assert site.page("county.discipline").get("/supervise/search", query_string={"q": query}).status_code == 400
    assert site.page("shangtang.cadre").get("/supervise/search?q=村道").status_code == 403


# --- handling through every adapter ------------------------------------------------------------------

ADAPTERS = ["web", "api", "cli"]


def _history(site: Site, violation: int) -> list[tuple[str, str | None]]:
    with site.w.world.sessions() as session:
        return [(e.kind, e.actor) for e in wl.view(session, "county.discipline", violation).history]


def _state(site: Site, violation: int) -> tuple:
    with site.w.world.sessions() as session:
        row = session.get(Violation, violation)
        return row.status, row.level, row.outcome, row.owner_role, row.owner_user, row.rectify_by


def test_assign_rectify_reject_and_accept_a_rectification(site):
    for adapter in ADAPTERS:
        _rectification(site, adapter, _fresh(site, adapter))


def test_ack_escalate_dismiss_and_close_with_the_same_refusals(site):
    for adapter in ADAPTERS:
        _handling(site, adapter, _fresh(site, adapter))


def _fresh(site: Site, adapter: str) -> Warnings:
    """New warnings of each colour on 上塘村's matter, for one adapter's run."""
    w = site.w
    made = {
        colour: warning(w.world, w.matter, "QX0101", code, key=adapter)
        for colour, code in (("yellow", "step_overdue"), ("blue", "step_due_soon"), ("red", "step_forced"))
    }
    return Warnings(w.world, w.matter, made["red"], made["yellow"], made["blue"], w.neighbour, w.far)


def _rectification(site: Site, adapter: str, w: Warnings) -> None:
    done = ("done", None)
    assign = {"owner_role": "committee_chair", "owner_user": "shangtang.chair", "deadline": "2026-11-20"}
    assert site.act(adapter, "shangtang.supervisor", w.yellow, "assign", **assign) == done
    status, level, _outcome, role, person, due = _state(site, w.yellow)
    assert (status, level, role, person) == ("open", "village", "committee_chair", "shangtang.chair")
    assert due.replace(tzinfo=UTC) == datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC)  # 23:59:59 China time
    # The owner sees it: its page, with the report they may make.
    owner_page = site.page("shangtang.chair").get(f"/supervise/violations/{w.yellow}").get_data(as_text=True)
    assert 'id="form-rectify"' in owner_page and 'id="form-ack"' not in owner_page
    assert site.act(adapter, "shangtang.chair", w.yellow, "rectify", note="已补开村民代表会议") == done
    assert site.act(adapter, "shangtang.supervisor", w.yellow, "reject", note="会议记录未附") == done
    assert _state(site, w.yellow)[0] == "acknowledged"
    assert site.act(adapter, "shangtang.chair", w.yellow, "rectify", note="已补附会议记录") == done
    assert site.act(adapter, "shangtang.supervisor", w.yellow, "accept", note="整改到位") == done
    assert _state(site, w.yellow)[:3] == ("closed", "village", "rectified")
    assert _history(site, w.yellow) == [
        ("raised", "system"),
        ("assigned", "shangtang.supervisor"),
        ("rectified", "shangtang.chair"),
        ("rectification_rejected", "shangtang.supervisor"),
        ("rectified", "shangtang.chair"),
        ("rectification_accepted", "shangtang.supervisor"),
    ]
    with site.w.world.sessions() as session:
        rejected = wl.view(session, "shangtang.chair", w.yellow).history[3]
        assert rejected.note == "会议记录未附" and rejected.data["notify"]["user"] == "shangtang.chair"
        from engine.supervision.violation_chain import verify

        assert verify(session).ok
    page = site.page("county.discipline").get(f"/supervise/violations/{w.yellow}").get_data(as_text=True)
    assert "2026-11-20" in page and "整改验收通过" in page and "上塘村监委会成员" in page


def _handling(site: Site, adapter: str, w: Warnings) -> None:
    done = ("done", None)
    assert site.act(adapter, "shangtang.supervisor", w.blue, "ack", note="已签收") == done
    assert site.act(adapter, "shangtang.supervisor", w.blue, "ack", note="再签收") == _refusal(
        adapter, 409, "violation.wrong_state", site, w.blue, "shangtang.supervisor", "ack"
    )
    assert site.act(adapter, "shangtang.supervisor", w.blue, "escalate", note="请镇纪委督办") == done
    assert _state(site, w.blue)[:2] == ("escalated", "town")
    # The village committee no longer handles it; another town never did (it cannot even see it).
    assert site.act(adapter, "shangtang.supervisor", w.blue, "close", note="已处理") == _refusal(
        adapter, 403, "policy.denied", site, w.blue, "shangtang.supervisor", "close"
    )
    assert site.act(adapter, "xiling.discipline", w.blue, "ack", note="已签收") == _refusal(
        adapter, 404, "violation.not_found", site, w.blue, "xiling.discipline", "ack"
    )
    assert site.act(adapter, "county.auditor", w.blue, "ack", note="已签收") == _refusal(
        adapter, 403, "policy.denied", site, w.blue, "county.auditor", "ack"
    )
    assert site.act(adapter, "dongxi.discipline", w.blue, "dismiss", note="经核实不属实") == done
    assert _state(site, w.blue)[:3] == ("closed", "town", "dismissed")
    # A yellow warning turned red goes to the town (rules: escalation.starts_at): the village committee
    # may no longer dismiss it, the town may (rules: escalation.dismiss_from).
    with w.world.sessions() as session, session.begin():
        row = session.get(Violation, w.yellow)
        upgrade(session, book_for_village(session, row.village_id), row, "red", clock.now(), "逾期未整改，升为红色")
    assert site.act(adapter, "shangtang.supervisor", w.yellow, "dismiss", note="经核实不属实") == _refusal(
        adapter, 403, "policy.denied", site, w.yellow, "shangtang.supervisor", "dismiss"
    )
    assert site.act(adapter, "dongxi.discipline", w.yellow, "dismiss", note="经核实不属实") == done
    assert site.act(adapter, "dongxi.discipline", w.red, "close", note="已约谈并整改") == done
    assert [k for k, _a in _history(site, w.blue)][-3:] == ["acknowledged", "escalated", "closed"]
    assert _history(site, w.red)[-1] == ("closed", "dongxi.discipline")


def _refusal(adapter: str, status: int, code: str, site: Site, violation: int, user: str, action: str):
    """What each adapter answers for the engine's refusal ``code``: the status, the code, or the CLI's
    exit code with the catalogue's wording of the very error the engine raises."""
    if adapter == "web":
        return str(status), None
    if adapter == "api":
        return str(status), code
    from engine.supervision.handling import handle

    with site.w.world.sessions() as session:
        try:
            handle(session, violation, action, user, note="核实说明")
        except Exception as exc:  # the engine's own error, worded as the CLI words it
            assert getattr(exc, "code", None) == code, exc
            return "exit 1", _cli_message(exc)
        finally:
            session.rollback()
    raise AssertionError(f"the engine allowed {action} by {user}")


def _cli_message(exc) -> str:
    return f"error: {describe(exc, 'zh')}"


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(site):
    for adapter in ADAPTERS:
        _bad_input(site, adapter)


def _bad_input(site: Site, adapter: str) -> None:
    w = site.w
    before = _history(site, w.yellow)
    cases = [
        ("assign", {"owner_role": "committee_chair", "deadline": "2026-13-01"}, "deadline"),
        ("assign", {"owner_role": "committee_chair", "deadline": "2026-10-01"}, "deadline"),  # past
        ("assign", {"owner_role": "town_discipline", "deadline": "2026-11-20"}, "owner_role"),
        (
            "assign",
            {"owner_role": "committee_chair", "owner_user": "xiatang.chair", "deadline": "2026-11-20"},
            "owner_user",
        ),
        ("ack", {"note": " "}, "note"),
        ("ack", {"note": "长" * 2001}, "note"),
    ]
    for action, fields, field in cases:
        observed = site.act(adapter, "shangtang.supervisor", w.yellow, action, **fields)
        if adapter == "web":
            answer = site.page("shangtang.supervisor").post(f"/supervise/violations/{w.yellow}/{action}", data=fields)
            assert answer.status_code == 400 and 'class="field invalid' in answer.get_data(as_text=True)
        elif adapter == "api":
            assert observed[0] == "400" and observed[1].endswith("@" + field), (fields, observed)
        else:
            assert observed[0] == "exit 2", (fields, observed)
    if adapter == "api":
        answer = site.api("shangtang.supervisor", "POST", f"/violations/{w.yellow}/frobnicate", json={"note": "已阅"})
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "action"
        answer = site.api("shangtang.supervisor", "POST", f"/violations/{w.yellow}/ack", json={"note": 5})
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "note"
        answer = site.api("shangtang.supervisor", "POST", f"/violations/{w.yellow}/ack", json={"note": "已阅", "x": 1})
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "x"
        assert (
            site.api("shangtang.supervisor", "POST", "/violations/999999/ack", json={"note": "已阅"}).status_code == 404
        )
    if adapter == "web":
        assert site.page("shangtang.supervisor").post(f"/supervise/violations/{w.yellow}/frobnicate").status_code == 400
    assert _history(site, w.yellow) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_installed_command_assigns_and_accepts(warnings, cli, db_url):
    """The real entry point: ``powerlist violation assign`` and ``accept`` (on the real clock)."""
    from datetime import timedelta

    from engine.calendar import CST

    w = warnings
    deadline = (datetime.now(CST).date() + timedelta(days=10)).isoformat()
    assigned = cli(
        "violation",
        "assign",
        str(w.yellow),
        "--as",
        "shangtang.supervisor",
        "--owner-role",
        "committee_chair",
        "--deadline",
        deadline,
        "--json",
        check=True,
    ).json()
    assert (assigned["owner_role"], assigned["status"]) == ("committee_chair", "open")
    refused = cli("violation", "accept", str(w.yellow), "--as", "shangtang.supervisor", "--note", "整改到位")
    assert refused.code == 1 and "现在是「open」" in refused.err
    cli("violation", "rectify", str(w.yellow), "--as", "shangtang.chair", "--note", "已整改", check=True)
    cli("violation", "accept", str(w.yellow), "--as", "shangtang.supervisor", "--note", "整改到位", check=True)
    bad = cli(
        "violation",
        "assign",
        str(w.blue),
        "--as",
        "shangtang.supervisor",
        "--owner-role",
        "x",
        "--deadline",
        "2026-11-30",
    )
    assert bad.code == 2 and "整改责任岗位" in bad.err


def test_an_open_complaint_is_in_the_worklist_of_whoever_holds_its_step(warnings):
    """A 码上举报 report about the village's cadres: the village committee triages it now; the town
    reads it among the others; the other town sees nothing of it."""
    from engine import api
    from tests.engine.supervision.conftest import shipped

    w = warnings.world
    w.deploy(shipped("complaint"))
    start = {
        "channel": "qr_code",
        "received_on": "2026-11-02",
        "about": "cadres",
        "content": "村道硬化工程用料偷工减料",
        "location": "村东头新修的村道",
        "anonymous": False,
        "has_contact": False,
    }
    with w.sessions() as session, session.begin():
        report = api.start(
            session, "complaint", "QX0101", "shangtang.supervisor", start, "电话反映村道质量"
        ).instance_id
    mine = _list(warnings, "shangtang.supervisor", kind="complaint").now
    assert [(i.kind, i.id, i.step, i.colour) for i in mine.items] == [("complaint", report, "triage", "yellow")]
    assert mine.items[0].task_id is not None
    town = _list(warnings, "dongxi.discipline", kind="complaint")
    assert (_ids(town.now), _ids(town.others)) == ([], [report])  # nothing for the town to do in it yet
    assert [item.may_act for item in town.others.items] == [False]
    assert _ids(_list(warnings, "county.auditor", kind="complaint").others) == [report]
    assert _list(warnings, "xiling.discipline", kind="complaint").others.total == 0
    assert _list(warnings, "shangtang.supervisor", kind="complaint", colour="blue").now.total == 0
