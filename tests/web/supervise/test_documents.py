"""Documents (预警通知书, 整改通知书, 三色督查令) and talks (约谈, 提醒谈话): numbered per issuing unit,
kind and year; made from templates that are checked rule data; printed as PDF with the matter's
facts and QR code; issued, received and talked about in the violation's chain; and issued only by
the roles the rules name, with the same refusal on the page, the API and the command line.

Warnings come from tests/web/supervise/conftest.py: a red one on 上塘村's matter (QX0101, town QX01),
yellow ones in 下塘村 (QX0102, same town) and 岭头村 (QX0201, the other town).
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime

import pypdf
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.inputs import InputInvalid
from engine.supervision import notices, talks
from engine.supervision.models import SupervisionDocument, SupervisionNotice, Violation, ViolationEvent
from engine.supervision.violation_chain import verify
from tests.support.webapp import served
from tests.web.supervise.conftest import Warnings, warning

PASSWORD = "powerlist-demo"
TALK = {
    "held_on": "2026-11-02",
    "place": "东溪镇纪委谈话室",
    "present": [{"name": "王明", "office": "镇纪委书记"}, {"name": "李华", "office": "镇纪委委员"}],
    "subject_name": "张建国",
    "subject_office": "村委会主任",
    "summary": "指出未经表决即付款的问题",
    "outcome": "本人认识到问题，承诺十日内整改",
    "follow_up_on": "2026-11-16",
}


def _issue(world, actor: str, kind: str, **target):
    with world.sessions() as session, session.begin():
        return notices.issue(session, actor, kind, **target)


def _events(world, violation: int) -> list[tuple[str, str | None]]:
    with world.sessions() as session:
        rows = session.scalars(
            select(ViolationEvent).where(ViolationEvent.violation_id == violation).order_by(ViolationEvent.seq)
        )
        return [(e.kind, e.actor) for e in rows]


def _pdf_text(document: notices.Document) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(notices.render_pdf(document)))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", ""), reader


# --- numbers ---------------------------------------------------------------------------------


def test_numbers_count_per_issuing_unit_kind_and_year_and_concurrent_issues_never_share_one(warnings, now):
    w = warnings.world
    first = _issue(w, "dongxi.discipline", "rectification", violation_id=warnings.red)
    second = _issue(w, "dongxi.discipline", "rectification", violation_id=warnings.neighbour)
    other_kind = _issue(w, "dongxi.discipline", "warning", violation_id=warnings.red)
    other_town = _issue(w, "xiling.discipline", "rectification", violation_id=warnings.far)
    county = _issue(w, "county.discipline", "rectification", violation_id=warnings.far)
    assert [first.number, second.number, other_kind.number, other_town.number, county.number] == [
        "东溪镇纪整〔2026〕1号",
        "东溪镇纪整〔2026〕2号",
        "东溪镇纪预〔2026〕1号",
        "西岭镇纪整〔2026〕1号",
        "清溪县纪整〔2026〕1号",
    ]
    assert (first.issuer, county.issuer) == ("QX01", "QX")

    # Six issues at once by two people of the same town, on two villages' warnings: six numbers.
    def issue(actor_violation: tuple[str, int], out: list, errors: list) -> None:
        from engine.persistence.db import write_transaction

        try:
            found = write_transaction(
                w.sessions,
                lambda s: notices.issue(s, "dongxi.discipline", "rectification", violation_id=actor_violation[1]),
            )
            out.append(found.number)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    numbers: list[str] = []
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=issue, args=(("dongxi.discipline", v), numbers, errors))
        for v in (warnings.red, warnings.neighbour) * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == sorted(f"东溪镇纪整〔2026〕{n}号" for n in range(3, 9))

    now(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))  # a new year starts again at 1
    assert (
        _issue(w, "dongxi.discipline", "rectification", violation_id=warnings.red).number == "东溪镇纪整〔2027〕1号"
    )
    assert (
        _issue(w, "xiling.discipline", "rectification", violation_id=warnings.far).number == "西岭镇纪整〔2027〕1号"
    )
    with w.sessions() as session:
        seqs = session.execute(
            select(
                SupervisionDocument.issuer_unit_id,
                SupervisionDocument.kind,
                SupervisionDocument.year,
                SupervisionDocument.seq,
            )
        ).all()
    assert len(seqs) == len(set(seqs)) == 13


# --- templates -------------------------------------------------------------------------------


def _shipped() -> dict:
    return notices.parse_text(notices.DEFAULT_FILE.read_text(encoding="utf-8"))


def test_the_shipped_templates_are_valid_and_fill_only_plain_names():
    notices.check(_shipped())
    # A value is text: braces in it are not filled again, nothing is evaluated.
    assert notices.fill("{village}：{facts}", {"village": "上塘村", "facts": "{village.__class__}"}) == (
        "上塘村：{village.__class__}"
    )
    assert notices.chinese_date(date(2026, 12, 6)) == "二〇二六年十二月六日"
    assert notices.chinese_date(date(2027, 10, 21)) == "二〇二七年十月二十一日"


@pytest.mark.parametrize(
    ("path", "value", "key", "where"),
    [
        (
            ("kinds", "warning", "paragraphs", 1),
            "涉及金额：{amount_yuan}",
            "amount_yuan",
            "notices.kinds.warning.paragraphs[1]",
        ),
        (("kinds", "order", "number"), "{short}督〔{year}〕{sequence}号", "sequence", "notices.kinds.order.number"),
        (("kinds", "rectification", "title"), "{village.__class__}", "", "notices.kinds.rectification.title"),
        (("kinds", "warning", "number"), "{short}预〔{year}〕号", "seq", "notices.kinds.warning.number"),
        (("bodies", "town", "name"), "中共{town}{rule}纪委", "rule", "notices.bodies.town.name"),
        (("issuers", "order"), ["town_discipline", "mayor"], "", "notices.issuers.order"),
    ],
)
def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(path, value, key, where):
    data = _shipped()
    node = data["notices"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(notices.TemplatesInvalid) as refused:
        notices.check(data)
    assert refused.value.code == "notice.templates_invalid"
    assert (refused.value.params["key"], refused.value.field) == (key, where)
    assert where in str(refused.value) and (key in str(refused.value))


def test_a_county_override_with_a_bad_placeholder_is_refused_when_loaded(tmp_path, monkeypatch):
    override = {"notices": {"counties": {"QX": {"kinds": {"warning": {"addressee": "{villager}："}}}}}}
    (tmp_path / "notices.yaml").write_text(yaml.safe_dump(override, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    notices.reset()
    try:
        with pytest.raises(notices.TemplatesInvalid) as refused:
            notices.base_data()
        assert refused.value.params["key"] == "villager"
        assert refused.value.field == "counties.QX.notices.kinds.warning.addressee"
    finally:
        monkeypatch.delenv("POWERLIST_RULES_DIR")
        notices.reset()


# --- the document, its PDF, its receipt ------------------------------------------------------


def test_documents_print_the_facts_and_qr_code_are_chained_when_issued_and_received_and_grade_notices_once(warnings):
    w = warnings.world
    issued = _issue(w, "dongxi.discipline", "rectification", violation_id=warnings.red, facts="经镇纪委核实属实。")
    text, reader = _pdf_text(issued)
    with w.sessions() as session:
        basis = session.get(Violation, session.get(SupervisionDocument, issued.id).violation_id).legal_basis
    for expected in (issued.number, "整改通知书", "上塘村", "12,000.00 元", basis, "经镇纪委核实属实。", "决议"):
        assert expected.replace("\n", "") in text, expected
    assert "二〇二六年十一月二日" in text  # the day of issue, as documents write it
    # The QR code opens the matter's public progress page (its receipt code is in the text too).
    receipt = issued.content["facts"]["receipt"]
    assert issued.check_url.endswith(f"/public/matters/{receipt}") and receipt in text
    html = notices.render_html(issued)
    assert 'src="data:image/svg+xml;base64,' in html
    resources = reader.pages[0]["/Resources"]
    assert "/XObject" in resources or "/Pattern" in resources  # the QR code is drawn on the page
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4
    issued = _issue(w, "dongxi.discipline", "order", violation_id=warnings.red)
    assert (issued.title, issued.colour) == ("红色督查令", "red")
    with w.sessions() as session, session.begin(), pytest.raises(InputInvalid) as early:
        notices.receive(session, "dongxi.discipline", issued.id, "张建国", received_on="2026-10-01")
    assert early.value.field == "received_on"
    with w.sessions() as session, session.begin():
        received = notices.receive(
            session, "dongxi.discipline", issued.id, "张建国（村委会主任）", received_on="2026-11-02"
        )
    assert received.received_by == "张建国（村委会主任）" and received.receipt_recorded_by == "dongxi.discipline"
    assert _events(w, warnings.red)[-2:] == [
        ("document_issued", "dongxi.discipline"),
        ("document_received", "dongxi.discipline"),
    ]
    with w.sessions() as session, session.begin(), pytest.raises(InvalidState) as twice:
        notices.receive(session, "dongxi.discipline", issued.id, "张建国")
    assert twice.value.code == "notice.already_received"
    with w.sessions() as session:
        assert verify(session).ok
    from powerlist.cli import State, main

    state = State()
    state._engine = w.engine
    result = CliRunner().invoke(main, ["violation", "verify"], obj=state)
    assert result.exit_code == 0 and "every chain intact" in result.output

    # A village graded C gets a 预警通知书 for its grade: the SupervisionNotice put on paper, once.
    for n in range(3):  # 上塘村: 6 points of the fixture's warnings and three more red ones: 79, grade C
        warning(w, warnings.matter, "QX0101", "step_forced", key=str(n))
    target = {"village": "QX0101", "period": "2026Q4"}
    with w.sessions() as session, pytest.raises(InvalidState) as other:
        notices.issue(session, "dongxi.discipline", "rectification", **target)
    assert other.value.code == "notice.grade_calls_for_other"
    issued = _issue(w, "dongxi.discipline", "warning", **target)
    assert issued.number == "东溪镇纪预〔2026〕1号" and issued.notice is not None
    text, _reader = _pdf_text(issued)
    assert "2026年第四季度" in text and "得分79分（扣21分，预警6条），定档为C档" in text
    with w.sessions() as session:
        notice = session.scalar(select(SupervisionNotice))
        assert (notice.grade, notice.kind, notice.id) == ("C", "warning", issued.notice)
    with pytest.raises(InvalidState) as again:
        _issue(w, "county.discipline", "warning", **target)
    assert again.value.code == "notice.already_issued"
    with w.sessions() as session, session.begin():
        from engine.supervision.scores import issue_notices

        assert issue_notices(session, "2026Q4", "dongxi.discipline", "QX01") == []  # not a second time
    with pytest.raises(InputInvalid) as bad:
        _issue(w, "dongxi.discipline", "warning", village="QX0101", period="2026-Q4")
    assert bad.value.field == "period"


# --- who may issue what ----------------------------------------------------------------------

# (user, kind) -> None (issued), "denied" (403) or "hidden" (404), for the red warning in 上塘村.
WHO = {
    ("shangtang.supervisor", "warning"): None,
    ("shangtang.supervisor", "rectification"): "denied",
    ("shangtang.supervisor", "order"): "denied",
    ("xiatang.supervisor", "warning"): "hidden",  # another village's committee
    ("dongxi.discipline", "order"): None,
    ("xiling.discipline", "rectification"): "hidden",  # another town
    ("county.discipline", "rectification"): None,
    ("county.auditor", "warning"): "denied",  # reads, issues nothing
    ("shangtang.chair", "warning"): "hidden",  # the cadres a warning concerns do not see documents
}


class Site:
    """The app with a signed-in page client and an API token per user, and the CLI in process."""

    def __init__(self, warnings: Warnings, app):
        from powerlist.cli import State

        self.app, self.tokens, self.pages, self.world = app, {}, {}, warnings.world
        self.state = State()
        self.state._engine = warnings.world.engine

    def page(self, user: str):
        if user not in self.pages:
            client = self.app.test_client()
            assert client.post("/login", data={"username": user, "password": PASSWORD}).status_code == 302
            self.pages[user] = client
        return self.pages[user]

    def api(self, user: str, method: str, url: str, **kwargs):
        if user not in self.tokens:
            from engine.workspace import tokens

            with self.world.sessions() as session, session.begin():
                self.tokens[user] = tokens.create(session, user, "documents", None)
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.app.test_client().open("/api/v1" + url, method=method, headers=headers, **kwargs)

    def cli(self, *arguments: str):
        from powerlist.cli import main

        result = CliRunner().invoke(main, list(arguments), obj=self.state, env={"POWERLIST_LANG": "en"})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"powerlist {' '.join(arguments)} raised {result.exception!r}")
        return result


@pytest.fixture
def site(warnings, db_url, tmp_path):
    for app in served(db_url, tmp_path):
        yield Site(warnings, app)


def _count(warnings: Warnings) -> int:
    with warnings.world.sessions() as session:
        return len(session.scalars(select(SupervisionDocument.id)).all())


def test_who_may_issue_what_is_the_same_on_every_adapter_and_documents_and_talks_go_through_page_and_api(
    site, warnings, tmp_path
):
    red = warnings.red
    for (user, kind), verdict in WHO.items():
        with warnings.world.sessions() as session:
            expected = {"denied": PermissionDenied, "hidden": NotFound}[verdict] if verdict else None
            if expected:
                with pytest.raises(expected) as refused:
                    notices.issue(session, user, kind, violation_id=red, preview=True)
                if verdict == "denied":
                    assert refused.value.code == "notice.issue_denied"
        before = _count(warnings)
        page = site.page(user).post("/supervise/documents/new", data={"kind": kind, "violation": str(red)})
        api = site.api(user, "POST", "/documents", json={"kind": kind, "violation": red})
        cli = site.cli("notice", "issue", kind, "--violation", str(red), "--as", user, "--json")
        if verdict is None:
            assert (page.status_code, api.status_code, cli.exit_code) == (302, 201, 0), (user, kind, cli.output)
            assert _count(warnings) == before + 3
            continue
        status = {"denied": 403, "hidden": 404}[verdict]
        # The supervisors' pages are closed to cadres altogether (403 for the whole area).
        on_page = 403 if user == "shangtang.chair" else status
        assert (page.status_code, api.status_code, cli.exit_code) == (on_page, status, 1), (user, kind)
        code = api.get_json()["error"]["code"]
        assert code == ("notice.issue_denied" if verdict == "denied" else "not_found"), (user, kind, code)
        if verdict == "denied":
            assert "may not issue" in cli.output
        assert _count(warnings) == before  # nothing written

    # Pages: a violation's documents offer only the kinds the user may issue.
    answer = site.page("shangtang.supervisor").get(f"/supervise/violations/{red}/documents")
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert 'id="issue-warning"' in body and 'id="issue-order"' not in body
    assert site.page("xiling.discipline").get(f"/supervise/violations/{red}/documents").status_code == 404

    # The whole way on the page and the API: preview, issue, PDF, receipt; then talks.
    town = site.page("dongxi.discipline")
    preview = town.get("/supervise/documents/new", query_string={"kind": "rectification", "violation": red})
    assert preview.status_code == 200 and "〔…〕" in preview.get_data(as_text=True)
    assert _count(warnings) == 9  # the three issued above through each adapter; a preview writes nothing
    issued = town.post(
        "/supervise/documents/new",
        data={"kind": "rectification", "violation": str(red), "facts": "已核实", "rectify_by": "2026-11-20"},
    )
    assert issued.status_code == 302
    document_id = int(issued.headers["Location"].rstrip("/").split("/")[-1])
    pdf = town.get(f"/supervise/documents/{document_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages).replace("\n", "")
    assert "东溪镇纪整〔2026〕1号" in text and "二〇二六年十一月二十日" in text  # the deadline given
    bad = town.post(f"/supervise/documents/{document_id}/receipt", data={"received_by": "", "received_on": ""})
    assert bad.status_code == 400
    done = town.post(f"/supervise/documents/{document_id}/receipt", data={"received_by": "张建国"})
    assert done.status_code == 302
    via_api = site.api("county.discipline", "GET", f"/documents?violation={red}").get_json()
    assert [(d["number"], d["received_by"]) for d in via_api if d["id"] == document_id] == [
        ("东溪镇纪整〔2026〕1号", "张建国")
    ]
    assert len(via_api) == 10 and via_api[0]["id"] == document_id  # newest first
    assert site.api("xiling.discipline", "GET", f"/documents/{document_id}").status_code == 404
    assert site.api("county.auditor", "GET", f"/documents/{document_id}/pdf").status_code == 200
    printed = site.cli("notice", "pdf", str(document_id), "--as", "county.auditor", "--out", str(tmp_path / "d.pdf"))
    assert printed.exit_code == 0 and (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert site.cli("notice", "pdf", str(document_id), "--as", "xiling.discipline", "--out", "x.pdf").exit_code == 1
    wrong = site.api("dongxi.discipline", "POST", "/documents", json={"kind": "memo", "violation": red})
    assert (wrong.status_code, wrong.get_json()["error"]["field"]) == (400, "kind")
    grade = site.api(
        "dongxi.discipline", "POST", "/documents", json={"kind": "order", "village": "QX0101", "period": "2026Q4"}
    )
    assert grade.status_code == 400 and grade.get_json()["error"]["code"] == "notice.order_needs_violation"

    # A receipt is recorded only by those who issue the kind, within reach.
    for user, status in (("xiatang.supervisor", 404), ("shangtang.supervisor", 403)):
        answer = site.api(user, "POST", f"/documents/{document_id}/receipt", json={"received_by": "某人"})
        assert answer.status_code == status, user

    # Talks: 约谈 is the commissions', 提醒谈话 also the village committee's; in the violation's history.
    w = warnings.world
    with w.sessions() as session, session.begin():
        talk = talks.record(session, "dongxi.discipline", "interview", violation_id=warnings.red, **TALK)
    assert [p["name"] for p in talk.present] == ["王明", "李华"] and talk.unit == "QX01"
    assert _events(w, warnings.red)[-1] == ("talk_recorded", "dongxi.discipline")
    with w.sessions() as session, session.begin(), pytest.raises(PermissionDenied) as denied:
        talks.record(session, "shangtang.supervisor", "interview", violation_id=warnings.red, **TALK)
    assert denied.value.code == "talk.record_denied"
    with w.sessions() as session, session.begin():  # the committee reminds, in its own village
        talks.record(session, "shangtang.supervisor", "reminder", village="QX0101", **dict(TALK, place="村委会"))
    for field, value in (("present", []), ("held_on", "2026-12-01"), ("follow_up_on", "2026-10-01"), ("summary", " ")):
        with w.sessions() as session, session.begin(), pytest.raises(InputInvalid) as bad:
            talks.record(
                session, "dongxi.discipline", "interview", violation_id=warnings.red, **dict(TALK, **{field: value})
            )
        assert bad.value.field == field
    # The page's form takes the people one a line; the API a list; both answer as the engine does.
    page = site.page("dongxi.discipline").post(
        f"/supervise/violations/{warnings.red}/documents/talks",
        data=dict(TALK, kind="reminder", present="王明，镇纪委书记\n李华 镇纪委委员"),
    )
    assert page.status_code == 302
    api = site.api("shangtang.supervisor", "POST", "/talks", json=dict(TALK, kind="interview", violation=warnings.red))
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "talk.record_denied"
    listed = site.api("county.discipline", "GET", f"/talks?violation={warnings.red}").get_json()
    assert [t["kind"] for t in listed] == ["reminder", "interview"]
    assert listed[0]["present"] == [{"name": "王明", "office": "镇纪委书记"}, {"name": "李华", "office": "镇纪委委员"}]
    assert site.page("dongxi.discipline").get(f"/supervise/violations/{warnings.red}/documents").status_code == 200
    with w.sessions() as session:
        assert verify(session).ok
    assert site.cli("talk", "list", "--as", "xiling.discipline").output.strip() == "no talks"


def test_a_warning_page_leads_supervisors_to_its_documents_and_its_history_names_them(site, warnings):
    red = warnings.red
    document = _issue(warnings.world, "dongxi.discipline", "order", violation_id=red)
    page = site.page("dongxi.discipline").get(f"/supervise/violations/{red}").get_data(as_text=True)
    assert f'href="/supervise/violations/{red}/documents"' in page
    assert "签发文书" in page and document.number in site.page("dongxi.discipline").get(
        f"/supervise/violations/{red}/documents"
    ).get_data(as_text=True)
