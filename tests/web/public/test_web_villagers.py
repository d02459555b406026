"""The villagers' pages, with no login: 码上举报, 流程到哪了, 我们的钱包 and the door-plate QR code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import segno
from sqlalchemy import select

from tests.conftest import ROOT
from tests.support import files
from tests.web.conftest import ADMIN

PROCESSES = ROOT / "processes"
REPORT = "/public/villages/QX0101/report"
WHAT = "村道刚修好就裂了，怀疑偷工减料"
WHERE = "村东头新修的村道"
PHONE = "13800000000"
ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
VOUCHER = {
    "amount_fen": 80000,
    "payee": "某五金店 6222000011112222",
    "payee_account": "6222000011112222",
    "purpose": "村道路灯维修材料费",
    "expense_category": "non_productive",
    "voucher_kind": "invoice",
    "spent_on": "2025-03-01",
    "payment_method": "village_card",
    "handler_name": "赵干部",
    "witness_name": "钱干部",
    "resolution_ref": "",
}
APPROVAL = [
    ("finance_signoff", {"signoff_approved": True, "signer_name": "孙主任", "signed_on": "2025-03-02", "opinion": ""}),
    (
        "supervisory_review",
        {
            "supervisory_approved": True,
            "reviewers": ["王监委", "周监委", "吴监委"],
            "reviewed_on": "2025-03-03",
            "seal_applied": True,
            "opinion": "同意",
        },
    ),
    (
        "bookkeeper_submit",
        {"submitted_on": "2025-03-21", "bookkeeper_name": "冯报账员", "voucher_count": 3, "note": ""},
    ),
    ("town_audit", {"audit_result": "approved", "auditor_name": "陈会计", "audited_on": "2025-03-22", "opinion": ""}),
]


def deploy(demo_world, *keys: str) -> None:
    from engine import api

    with demo_world() as session, session.begin():
        for key in keys:
            api.deploy_file(session, PROCESSES / key / f"{key}.bpmn", ADMIN)


def holder(session, task) -> str:
    from engine.persistence.models import RoleAssignment, User

    return session.scalar(
        select(User.username)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == task.role, RoleAssignment.org_unit_id == task.org_unit_id)
        .order_by(User.username)
    )


def complete(demo_world, instance_id: int, step: str, data: dict) -> None:
    from engine.persistence.models import OpenTask

    with demo_world() as session, session.begin():
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == instance_id, OpenTask.step_id == step))
        assert task is not None, step
        files.complete(session, task.id, holder(session, task), data)


def start_payment(demo_world, voucher: dict, village: str = "QX0101") -> int:
    from engine import api

    with demo_world() as session, session.begin():
        instance_id = api.start(
            session, "fund_payment", village, f"{'shangtang' if village == 'QX0101' else 'xiatang'}.cadre"
        ).instance_id
    complete(demo_world, instance_id, "voucher", voucher)
    return instance_id


def send(client, address: str = "10.0.0.1", **fields: str):
    data = {"what": WHAT, "where": WHERE, "phone": PHONE, **fields}
    return client.post(REPORT, data=data, environ_base={"REMOTE_ADDR": address})


def complaints(demo_world) -> list:
    from engine.persistence.models import DefinitionVersion, Matter

    with demo_world() as session:
        return list(
            session.scalars(
                select(Matter)
                .join(DefinitionVersion)
                .where(DefinitionVersion.key == "complaint")
                .order_by(Matter.id)
            )
        )


def drawn_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules an SVG from segno draws (its path of relative moves and horizontal runs)."""
    path = re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)
    dark, x, y = set(), 0.0, 0.0
    for command, numbers in re.findall(r"([Mmh])([-\d. ]+)", path.replace("-", " -")):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            dark |= {(int(x) + i, int(y)) for i in range(int(values[0]))}
            x += values[0]
    return dark


def qr_modules(url: str, border: int = 4) -> set[tuple[int, int]]:
    matrix = segno.make(url, error="m", micro=False).matrix
    return {(col + border, row + border) for row, line in enumerate(matrix) for col, bit in enumerate(line) if bit}


@pytest.mark.parametrize("db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_report_starts_a_complaint_and_its_receipt_shows_the_progress(client, demo_world):
    deploy(demo_world, "complaint")
    form = client.get(REPORT)
    assert form.status_code == 200 and "码上举报" in form.get_data(as_text=True)

    answer = send(client)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    location = answer.headers["Location"]
    code = re.search(r"/public/matters/([A-Z0-9-]+)$", location).group(1)
    [matter] = complaints(demo_world)
    assert matter.started_by == "public" and matter.status == "running"

    page = client.get(location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert code in text and "举报已收到" in text
    assert "码上举报问题处理" in text and "上塘村" in text
    assert re.search(r'class="current">\s*<strong>登记分流', text)
    assert "还没到这一步" in text

    complete(
        demo_world,
        matter.id,
        "triage",
        {
            "reporter_name": "村民甲",
            "reporter_contact": PHONE,
            "subject": "村道硬化工程",
            "category": "project",
            "handling_level": "village",
            "triage_reason": "一般问题，由村务监督委员会核查",
        },
    )
    text = client.get(f"/public/matters/{code.lower().replace('-', ' ')}").get_data(as_text=True)
    assert re.search(r'class="done">\s*<strong>登记分流', text)
    assert re.search(r'class="current">\s*<strong>村级核查处理', text)
    for private in (PHONE, WHAT, WHERE, "村民甲", "村道硬化工程", "一般问题", "shangtang", "监委会成员"):
        assert private not in text, private


@ONLY_SQLITE
def test_unknown_forged_or_malformed_receipts_are_not_found(client, demo_world):
    from engine.public import receipts

    deploy(demo_world, "complaint")
    real = send(client).headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/public/matters/{real}").status_code == 200
    for forged in (receipts.display(receipts.new_code()), "1", "A" * 12, real[:-1] + "0", "%00", "x" * 500):
        assert client.get(f"/public/matters/{forged}").status_code == 404, forged

    assert client.get("/public/matters/?code=").status_code == 200
    assert client.get("/public/matters/?code=nonsense").status_code == 400
    lookup = client.get(f"/public/matters/?code={real.lower()}")
    assert lookup.status_code == 302 and lookup.headers["Location"].endswith(f"/public/matters/{real}")


@ONLY_SQLITE
def test_the_honeypot_and_the_rate_limit_refuse_reports(client, demo_world):
    from engine.public.reports import MAX_REPORTS

    deploy(demo_world, "complaint")
    trapped = send(client, website="http://spam.example")
    assert trapped.status_code == 400 and "没能收下" in trapped.get_data(as_text=True)
    assert complaints(demo_world) == []

    for _ in range(MAX_REPORTS - 1):
        assert send(client).status_code == 302
    limited = send(client)
    assert limited.status_code == 429 and "提交太频繁了" in limited.get_data(as_text=True)
    assert len(complaints(demo_world)) == MAX_REPORTS - 1
    assert send(client, address="10.0.0.2").status_code == 302


@ONLY_SQLITE
def test_bad_reports_are_refused_with_reasons_and_never_fail(client, demo_world):
    assert client.get(REPORT).status_code == 404  # no complaint flow deployed yet
    deploy(demo_world, "complaint")
    cases = [
        ({"what": "短"}, "请用 5 到 1000 个字说明发生了什么"),
        ({"what": "x" * 5000}, "请用 5 到 1000 个字说明发生了什么"),
        ({"what": "有人\x00乱花钱了啊"}, "有无法识别的字符"),
        ({"where": "村口\u202e反向"}, "有无法识别的字符"),
        ({"where": ""}, "请用 2 到 100 个字说明在哪里"),
        ({"phone": "call me maybe"}, "请填写正确的电话号码"),
    ]
    for fields, message in cases:
        answer = send(client, **fields)
        assert answer.status_code == 400, fields
        assert message in answer.get_data(as_text=True), fields
    refused = send(client, phone="not a phone", anonymous="1")  # 匿名 with a phone: refused, never dropped
    assert refused.status_code == 400 and "选了匿名就不能留电话" in refused.get_data(as_text=True)
    assert complaints(demo_world) == []
    assert send(client, phone="", identity="anonymous").status_code == 302
    [matter] = complaints(demo_world)
    with demo_world() as session:
        from engine.history.events import events_of

        started = json.loads(events_of(session, matter.id)[0].data)["data"]
    assert started["anonymous"] is True and not started.get("reporter_contact")
    assert started["content"] == WHAT and started["location"] == WHERE and started["channel"] == "qr_code"
    for path in ("/public/villages/NOPE/report", "/public/villages/QX01/report", "/public/villages/QX01"):
        assert client.get(path).status_code == 404


@ONLY_SQLITE
def test_the_village_page_links_everything_and_its_qr_code_opens_it(client, demo_world):
    page = client.get("/public/villages/QX0101")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "上塘村" in text
    for link in ("/public/villages/QX0101/wallet", "/public/villages/QX0101/report", "/public/matters/", "/public/"):
        assert f'href="{link}"' in text or f'action="{link}"' in text, link
    assert 'href="/public/villages/QX0101"' in client.get("/public/").get_data(as_text=True)

    svg = client.get("/public/villages/QX0101/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    drawn = drawn_modules(svg.get_data(as_text=True))
    assert drawn == qr_modules("http://localhost:5000/public/villages/QX0101")
    assert drawn != qr_modules("http://localhost:5000/public/villages/QX0102")
    assert client.get("/public/villages/QX01/qr.svg").status_code == 404


@ONLY_SQLITE
def test_qr_and_receipt_commands(client, demo_world, cli, tmp_path: Path):
    from engine import api

    out = tmp_path / "door.svg"
    done = cli("qr", "QX0102", "--out", str(out), "--base-url", "https://cun.example/", check=True)
    assert "https://cun.example/public/villages/QX0102" in done.out
    assert drawn_modules(out.read_text()) == qr_modules("https://cun.example/public/villages/QX0102")
    png = tmp_path / "door.png"
    cli("qr", "QX0102", "--out", str(png), check=True)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert cli("qr", "QX9999", "--out", str(out)).code == 1
    assert cli("qr", "QX0102", "--out", str(tmp_path / "door.txt")).code == 2

    with demo_world() as session, session.begin():
        matter = api.start(session, "mini_decision", "QX0101", "shangtang.secretary", {"title": "修缮村道"}).instance_id
    first = cli("receipt", str(matter), "--json", check=True).json()
    again = cli("receipt", str(matter), check=True).out.split()[0]
    assert first["receipt"] == again and first["path"] == f"/public/matters/{again}"
    text = client.get(first["path"]).get_data(as_text=True)
    assert "小额决策（测试）" in text and "修缮村道" not in text
    assert cli("receipt", "999999").code == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cadre_sees_the_receipt_code_to_hand_to_the_applicant(client, auth, demo_world):
    from engine import queries
    from engine.public import receipts
    from tests.web.conftest import start_mini, task_id_from

    auth.login("shangtang.secretary")
    task = task_id_from(start_mini(client))
    with demo_world() as session:
        matter = next(t.instance for t in queries.open_tasks(session) if t.id == task)
    text = client.get(f"/matters/{matter}").get_data(as_text=True)
    with demo_world() as session:
        code = receipts.display(receipts.receipt_for(session, matter))
    assert code in text
    assert client.get(f"/public/matters/{code}").status_code == 200


def photo_upload(name: str, content: bytes):
    import io

    return (io.BytesIO(content), name)


@ONLY_SQLITE
def test_the_report_form_takes_photos_and_asks_for_named_or_anonymous(client, auth, demo_world):
    from engine.workspace.models import Attachment
    from tests.engine.public.test_complaints import TRAILER, gps_png, zip_bytes

    deploy(demo_world, "complaint")
    form = client.get(REPORT).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    assert re.search(r'<input id="report-photos" name="photos" type="file" accept="image/\*" multiple>', form)
    assert "实名（留电话，方便回访）" in form and "匿名（不留任何联系方式）" in form
    assert "网络地址保存一天" in form and "回执码是查看办理进度和答复的唯一凭证" in form

    chosen = {"about": "other", "identity": "named"}
    for identity, phone, message in (
        ("anonymous", PHONE, "选了匿名就不能留电话"),
        ("named", "", "选了实名举报，请留下电话号码"),
        ("", PHONE, "请选择实名举报还是匿名举报"),
    ):
        answer = send(client, about="other", identity=identity, phone=phone)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True), identity

    bad = send(client, **chosen, photos=[photo_upload("门口.png", gps_png()), photo_upload("收据.jpg", zip_bytes())])
    assert bad.status_code == 400 and "「收据.jpg」不是 JPEG、PNG 或 WebP 格式的照片" in bad.get_data(as_text=True)
    assert complaints(demo_world) == []
    with demo_world() as session:
        assert session.scalar(select(Attachment.id)) is None

    sent = send(client, **chosen, photos=[photo_upload("门口.png", gps_png())])
    assert sent.status_code == 302, sent.get_data(as_text=True)[:400]
    [matter] = complaints(demo_world)
    with demo_world() as session:
        [photo] = session.scalars(select(Attachment).where(Attachment.instance_id == matter.id))
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert photo.sha256 not in page and "举报照片" not in page  # never on a public page

    url = f"/matters/{matter.id}/attachments/{photo.sha256}"
    assert auth.login("shangtang.supervisor").status_code == 302
    assert url in client.get(f"/matters/{matter.id}").get_data(as_text=True)
    shown = client.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/png" and TRAILER not in shown.data
    assert b"Exif" not in shown.data and b"PhoneMaker" not in shown.data
    auth.logout()
    assert auth.login("xiatang.supervisor").status_code == 302
    assert client.get(url).status_code == 404


@ONLY_SQLITE
def test_the_receipt_page_shows_the_answer_and_never_the_handling(client, demo_world):
    from tests.engine.public.test_complaints import NEVER_SHOWN, PLANTED_HANDLING, PLANTED_TRIAGE, REPLY

    deploy(demo_world, "complaint")
    location = send(client, about="other", identity="named").headers["Location"]
    [matter] = complaints(demo_world)
    complete(demo_world, matter.id, "triage", PLANTED_TRIAGE)
    text = client.get(location).get_data(as_text=True)
    assert "正在核查，由村务监督委员会办理，应于" in text and "前答复" in text
    assert "2 个工作日" in text and "3 个工作日" in text and "2 天" not in text
    assert "15 天" in text  # a calendar-day limit stays in days

    complete(demo_world, matter.id, "handle_village", PLANTED_HANDLING)
    complete(demo_world, matter.id, "reply_reporter", REPLY)
    text = client.get(location).get_data(as_text=True)
    answer = text.split('id="answer"', 1)[1].split("</section>", 1)[0]
    for shown in (
        "村务监督委员会",
        "部分属实",
        "责令施工方返工，监理电话 ***",
        "已责令施工方返工",
        "2025-03-12",
        "平台答复",
    ):
        assert shown in answer, shown
    for secret in (*NEVER_SHOWN, WHAT, WHERE):
        assert secret not in text, secret

    about_committee = send(client, about="supervisors", identity="anonymous", phone="").headers["Location"]
    text = client.get(about_committee).get_data(as_text=True)
    assert re.search(r'class="skipped">\s*<strong>登记分流</strong>.*?本事项不经过这一步', text, re.S)
    assert "正在核查，由镇纪委办理" in text
