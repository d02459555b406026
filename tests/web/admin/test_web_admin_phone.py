"""An administrator's day: role grants worded in the reader's language, validation problems in Chinese
with the conventions guide, elements nothing can trigger, the diff before deploying, a version's ZIP and
wall chart, usage labels, and showing a flow to villagers only after reviewing it."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.web.conftest import ADMIN, MINI, SECRETARY

FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def upload(client, path, name=None):
    files = [(io.BytesIO(path.read_bytes()), name or path.name)]
    return client.post("/admin/flows/upload", data={"files": files}, content_type="multipart/form-data")


def staged_id(page) -> str:
    text = page.get_data(as_text=True)
    return text.split('name="staged" value="', 1)[1].split('"', 1)[0]


def deploy(client, path) -> None:
    preview = upload(client, path)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert client.post("/admin/flows/deploy", data={"staged": staged_id(preview)}).status_code == 302


def test_untriggerable_elements_are_refused_or_warned_with_element_and_line():
    from engine.definitions.validate import load_definition_file

    stuck = load_definition_file(FIXTURES / "stuck_messages.bpmn")
    assert not stuck.ok
    [refusal] = [p for p in stuck.problems if p.code == "untriggerable"]
    lines = (FIXTURES / "stuck_messages.bpmn").read_text().splitlines()
    assert refusal.element_id == "wait_reply" and "receiveTask" in lines[refusal.line - 1]
    assert [(w.code, w.element_id) for w in stuck.warnings] == [("idle-element", "notify")]

    boundary = load_definition_file(FIXTURES / "notice_v1.bpmn")
    assert boundary.ok  # the work goes on: a warning only
    assert [(w.code, w.element_id) for w in boundary.warnings] == [("idle-element", "recalled")]


@SQLITE
def test_a_role_at_the_wrong_level_is_refused_in_the_readers_language(client, auth):
    auth.login(ADMIN)
    page = client.get(f"/admin/users/{SECRETARY}").get_data(as_text=True)
    assert 'data-level="town"' in page and 'data-filters="grant-unit"' in page  # units grouped by level
    answer = client.post(
        f"/admin/users/{SECRETARY}/roles", data={"role": "town_agency", "unit": "QX0101"}, follow_redirects=True
    )
    assert "镇三资中心是镇一级的岗位，上塘村是村：请选择一个镇" in answer.get_data(as_text=True)
    client.get("/lang/en")
    answer = client.post(
        f"/admin/users/{SECRETARY}/roles", data={"role": "town_agency", "unit": "QX0101"}, follow_redirects=True
    )
    assert "Town agency is held in a town, and 上塘村 is a village: choose a town" in answer.get_data(as_text=True)


@SQLITE
def test_validation_problems_are_worded_in_chinese_or_english_and_link_the_guide(client, auth):
    auth.login(ADMIN)
    report = upload(client, FIXTURES / "stuck_messages.bpmn")
    assert report.status_code == 400
    text = report.get_data(as_text=True)
    assert "平台里没有任何东西能触发这个元素" in text and "wait_reply" in text and "stuck_messages.bpmn:15" in text
    assert 'href="/admin/conventions#untriggerable"' in text
    client.get("/lang/en")
    text = upload(client, FIXTURES / "stuck_messages.bpmn").get_data(as_text=True)
    assert "Nothing in the product can trigger this element" in text

    guide = client.get("/admin/conventions").get_data(as_text=True)  # English interface: the English guide
    assert 'id="untriggerable"' in guide and "Elements nothing can trigger" in guide
    guide = client.get("/admin/conventions?lang=zh").get_data(as_text=True)
    assert (
        'id="untriggerable"' in guide and "平台无法触发的元素" in guide and "<script" not in guide.split("<main", 1)[-1]
    )
    client.get("/lang/zh")
    assert "/admin/conventions" in client.get("/admin/flows/upload").get_data(as_text=True)


@SQLITE
def test_the_preview_shows_the_diff_against_the_version_in_service_and_the_warnings(client, auth):
    auth.login(ADMIN)
    first = upload(client, FIXTURES / "notice_v1.bpmn").get_data(as_text=True)
    assert "这是一个新事项" in first and "recalled" in first and "这个元素不会做任何事" in first
    deploy(client, FIXTURES / "notice_v1.bpmn")
    second = upload(client, FIXTURES / "notice_v2.bpmn", "notice.bpmn").get_data(as_text=True)
    assert "与正在使用的第 1 版相比" in second
    assert "新增「监委会审核」" in second and "修改「起草通知」：时限" in second
    assert "分类：未分类 → 小职责" in second and "编号：— → Z09" in second
    assert second.index('id="changes"') < second.index("部署为新版本")


@SQLITE
def test_a_version_downloads_as_a_zip_and_prints_as_a_wall_chart(client, auth):
    auth.login(ADMIN)
    answer = client.get("/admin/flows/mini_decision/1/download")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    names = set(archive.namelist())
    assert "mini_decision/mini_decision.bpmn" in names
    assert archive.read("mini_decision/mini_decision.bpmn").decode() == MINI.read_text(encoding="utf-8")
    for form in (MINI.parent / "forms").glob("*.json"):
        assert json.loads(archive.read(f"mini_decision/forms/{form.name}")) == json.loads(form.read_text())
    page = client.get("/admin/flows/mini_decision").get_data(as_text=True)
    assert "/admin/flows/mini_decision/1/download" in page and "/admin/flows/mini_decision/1/flowchart.pdf" in page
    chart = client.get("/admin/flows/mini_decision/1/flowchart.pdf")
    assert chart.status_code == 200 and chart.data.startswith(b"%PDF")
    assert client.get("/admin/flows/nothing/1/download").status_code == 404
    auth.logout()
    auth.login(SECRETARY)
    assert client.get("/admin/flows/mini_decision/1/download").status_code in (302, 403, 404)


@SQLITE
def test_a_superseded_version_with_matters_is_never_called_unused(client, auth, demo_world):
    from engine import api

    with demo_world() as session, session.begin():
        api.start(session, "mini_decision", "QX0101", SECRETARY, title="路灯")
    auth.login(ADMIN)
    changed = MINI.read_text(encoding="utf-8").replace('pl:timeLimit="P3D"', 'pl:timeLimit="P4D"')
    files = [(io.BytesIO(changed.encode()), "mini_decision.bpmn")]
    files += [(io.BytesIO(f.read_bytes()), f.name) for f in sorted((MINI.parent / "forms").glob("*.json"))]
    preview = client.post("/admin/flows/upload", data={"files": files}, content_type="multipart/form-data")
    client.post("/admin/flows/deploy", data={"staged": staged_id(preview)})
    page = client.get("/admin/flows/mini_decision").get_data(as_text=True)
    v1 = page.split('id="v1"', 1)[1].split("</section>", 1)[0]
    assert "办理中 1 件" in v1 and "未使用" not in v1 and "已有新版" in v1


def test_villagers_see_a_flow_only_after_an_administrator_reviewed_it(client, auth, demo_world):
    from engine.persistence.models import AuditLog

    auth.login(ADMIN)
    deploy(client, FIXTURES / "notice_v1.bpmn")  # uploaded on the web: in service, not shown
    assert "村务通知发布" not in client.get("/public/").get_data(as_text=True)
    page = client.get("/admin/flows/village_notice").get_data(as_text=True)
    assert "还没有向村民公示" in page and "未分类" in page

    refused = client.post(
        "/admin/flows/village_notice/publish", data={"version": "1", "reviewed": "1"}, follow_redirects=True
    )
    assert "还没有分类（pl:category），不能向村民公示" in refused.get_data(as_text=True)
    deploy(client, FIXTURES / "notice_v2.bpmn")
    stale = client.post(
        "/admin/flows/village_notice/publish", data={"version": "1", "reviewed": "1"}, follow_redirects=True
    )
    assert "请重新核对后再公示" in stale.get_data(as_text=True)  # v2 came after the review of v1
    assert "村务通知发布" not in client.get("/public/").get_data(as_text=True)
    unchecked = client.post("/admin/flows/village_notice/publish", data={"version": "2"}, follow_redirects=True)
    assert "勾选“已核对”" in unchecked.get_data(as_text=True)
    assert client.post("/admin/flows/village_notice/publish", data={"version": "x", "reviewed": "1"}).status_code == 400

    shown = client.post(
        "/admin/flows/village_notice/publish", data={"version": "2", "reviewed": "1"}, follow_redirects=True
    )
    assert "已向村民公示" in shown.get_data(as_text=True)
    board = client.get("/public/").get_data(as_text=True)
    assert "村务通知发布" in board and "Z09" in board
    with demo_world() as session:
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "villager_list")).all()
        assert [(a.actor, a.subject) for a in logged if a.subject.startswith("village_notice")] == [
            (ADMIN, "village_notice v2")
        ]

    for version in (1, 2):  # retiring every version takes it off the villagers' list
        client.post(f"/admin/flows/village_notice/{version}/retire")
    assert "村务通知发布" not in client.get("/public/").get_data(as_text=True)
    client.post("/admin/flows/village_notice/2/reinstate")
    assert "村务通知发布" not in client.get("/public/").get_data(as_text=True)  # a new review is needed

    auth.logout()
    auth.login(SECRETARY)
    assert client.post("/admin/flows/mini_decision/withdraw").status_code in (302, 403, 404)
    assert "小额决策（测试）" in client.get("/public/").get_data(as_text=True)


@SQLITE
def test_the_validate_command_prints_warnings_too(cli):
    ok = cli("validate", str(FIXTURES / "notice_v1.bpmn"))
    assert ok.code == 0 and "warning:" in ok.err and "recalled" in ok.err
    as_json = cli("validate", str(FIXTURES / "notice_v1.bpmn"), "--json").json()
    assert as_json["ok"] and [w["element_id"] for w in as_json["warnings"]] == ["recalled"]
