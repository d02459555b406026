"""A cadre's work through the pages: start a matter, fill the guided forms, attachments, retries."""

from __future__ import annotations

import io
import re

import pytest

from tests.web.conftest import CHAIR, OTHER_VILLAGE, SECRETARY, matter_id_from, png_bytes, start_mini, task_id_from


def submit(client, task_id: str, data: dict, files: dict | None = None, key: str = "key-0001-abcdef"):
    form = {"idempotency_key": key, **data}
    for name, items in (files or {}).items():
        form[name] = items
    return client.post(f"/tasks/{task_id}", data=form, content_type="multipart/form-data")


def test_a_matter_from_start_to_end(client, auth):
    auth.login(SECRETARY)
    location = start_mini(client)
    task_id = task_id_from(location)

    page = client.get(location)
    assert page.status_code == 200
    text = page.data.decode()
    assert (
        "提议" in text and "《村民委员会组织法》第二十四条" in text and "3 天" in text
    )  # step, legal basis, time limit
    assert 'inputmode="decimal"' in text  # money is typed in yuan

    bad = submit(client, task_id, {"subject": "x", "amount_fen": "十二元"})
    assert bad.status_code == 400
    text = bad.data.decode()
    assert "「金额」金额请填写数字" in text and "「事由」至少要写 2 个字" in text

    done = submit(client, task_id, {"subject": "修缮村道", "amount_fen": "12,000.50"})
    assert done.status_code == 302
    matter_id = matter_id_from(done.headers["Location"])

    # A retry of the same submission (double tap, flaky network) shows the result instead of acting twice.
    again = submit(client, task_id, {"subject": "修缮村道", "amount_fen": "12,000.50"})
    assert again.status_code == 302 and matter_id_from(again.headers["Location"]) == matter_id
    page = client.get(f"/matters/{matter_id}").data.decode()
    assert "已经提交过了" in page
    assert page.count("办理「提议」") == 1
    assert "1,200,050" not in page and "12,000.50 元" in page

    # The next step belongs to the committee chair.
    auth.logout()
    auth.login(CHAIR)
    desk = client.get("/desk").data.decode()
    resolve_id = re.search(r"/tasks/([0-9a-f-]{36})", desk).group(1)
    checks = client.post(f"/tasks/{resolve_id}/check", data={"members": "9", "present": "5", "votes_for": "5"})
    assert checks.status_code == 200
    results = checks.get_json()["checks"]
    assert results[0] == {
        "id": "present",
        "message": "实到人数不足应到人数的三分之二",
        "fields": ["present"],
        "ok": False,
    }

    refused = submit(
        client,
        resolve_id,
        {"members": "9", "present": "5", "votes_for": "5", "votes_against": "0", "abstain": "0"},
        key="key-0002-abcdef",
    )
    assert refused.status_code == 400 and "实到人数不足应到人数的三分之二" in refused.data.decode()
    ok = submit(
        client,
        resolve_id,
        {"members": "9", "present": "8", "votes_for": "6", "votes_against": "1", "abstain": "1"},
        key="key-0003-abcdef",
    )
    assert ok.status_code == 302
    page = client.get(f"/matters/{matter_id}")
    assert page.status_code == 200
    svg = client.get(f"/matters/{matter_id}/diagram.svg")
    assert svg.mimetype == "image/svg+xml"
    body = svg.data.decode()
    assert re.search(r'class="pl-shape pl-task done" data-element-id="propose"', body)
    assert re.search(r'class="pl-shape pl-task current" data-element-id="disclose"', body)


def test_attachments_are_sniffed_stored_by_hash_and_shown_only_to_the_village(client, auth, app, tmp_path):
    from engine.workspace.attachments import blob_path

    auth.login(SECRETARY)
    task_id = task_id_from(start_mini(client, "村务公开栏"))
    fake = (io.BytesIO(b"<script>alert(1)</script>"), "minutes.png")
    refused = client.post(
        f"/tasks/{task_id}",
        data={"idempotency_key": "key-att-00001", "subject": "修缮村道", "amount_fen": "100", "file_x": fake},
        content_type="multipart/form-data",
    )
    # The mini flow's propose step has no attachment slots: the extra file is ignored, the form goes through.
    assert refused.status_code == 302

    from engine.workspace import attachments

    with app.app_context():
        from web import db

        with db.writing() as session:
            with pytest.raises(attachments.UploadRefused) as not_image:
                attachments.store_upload(session, tmp_path, b"<script>alert(1)</script>", "x.png", SECRETARY)
            assert "不是照片" in str(not_image.value)
            row = attachments.store_upload(session, tmp_path, png_bytes(), "会议记录.png", SECRETARY)
            assert row.content_type == "image/png"
            assert blob_path(tmp_path, row.sha256).read_bytes() == png_bytes()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_another_village_sees_nothing(client, auth):
    auth.login(SECRETARY)
    location = start_mini(client)
    task_id = task_id_from(location)
    done = submit(client, task_id, {"subject": "修缮村道", "amount_fen": "100"})
    matter_id = matter_id_from(done.headers["Location"])
    auth.logout()
    auth.login(OTHER_VILLAGE)
    assert client.get(f"/matters/{matter_id}").status_code == 404
    assert client.get(f"/matters/{matter_id}/diagram.svg").status_code == 404
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert "修缮村道" not in client.get("/desk").data.decode()
    assert "修缮村道" not in client.get("/started").data.decode()
    assert "修缮村道" not in client.get("/done").data.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "data",
    [
        {"subject": "修" * 30000, "amount_fen": "1"},
        {"subject": "修缮村道", "amount_fen": "1e400"},
        {"subject": "修缮村道", "amount_fen": "-0.001"},
        {"subject": "修缮村道", "amount_fen": "99999999999999999999999"},
        {"subject": ["修缮村道", "两个值"], "amount_fen": "1"},
        {"__class__": "x", "subject": "\x00\x01", "amount_fen": " "},
        {"subject": "修缮村道", "amount_fen": "1", "waive": "1", "waive_reason": ""},
        {"idempotency_key": "有空格 的键", "subject": "修缮村道", "amount_fen": "1"},
    ],
)
def test_bad_form_input_gets_a_message_never_an_error_page(client, auth, data):
    auth.login(SECRETARY)
    task_id = task_id_from(start_mini(client))
    answer = client.post(f"/tasks/{task_id}", data=data)
    assert answer.status_code in (302, 400), answer.data.decode()[:1000]
    if answer.status_code == 400:
        assert "error" in answer.data.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_required_attachments_and_oversized_requests(client, auth, app, demo_world):
    from engine import api

    auth.login(CHAIR)
    with demo_world() as session, session.begin():
        started = api.start(session, "four_deliberations", "QX0101", SECRETARY, {}, "村道硬化")
    instance_id = started.instance_id
    page = client.get(f"/matters/{instance_id}").data.decode()
    assert "去办理" not in page  # the chair does not hold the first step
    auth.logout()
    auth.login(SECRETARY)
    task_id = started.opened[0]["id"]
    fake_photo = (io.BytesIO(b"MZ\x90\x00 not an image"), "photo.jpg")
    answer = client.post(
        f"/tasks/{task_id}",
        data={"idempotency_key": "key-photo-0001", "file_proposal": fake_photo},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert "「photo.jpg」不是照片" in answer.data.decode()
    app.config["MAX_CONTENT_LENGTH"] = 1000
    too_big = client.post(
        f"/tasks/{task_id}",
        data={"file_proposal": (io.BytesIO(png_bytes(200, 200) * 3), "a.png")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 413 and "太大" in too_big.data.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_waived_legal_check_is_recorded_and_its_warning_shown(client, auth, monkeypatch):
    from engine.workspace import waivers

    monkeypatch.setattr(waivers, "rules", lambda: {"default": True, "flows": {}})  # a county that admits it
    auth.login(SECRETARY)
    done = submit(client, task_id_from(start_mini(client)), {"subject": "修缮村道", "amount_fen": "100"})
    matter_id = matter_id_from(done.headers["Location"])
    auth.logout()
    auth.login(CHAIR)
    resolve_id = re.search(r"/tasks/([0-9a-f-]{36})", client.get("/desk").data.decode()).group(1)
    quorum = {"members": "9", "present": "3", "votes_for": "3", "votes_against": "0", "abstain": "0"}
    refused = submit(client, resolve_id, quorum, key="key-waive-0001")
    assert refused.status_code == 400 and 'name="waive"' in refused.data.decode()
    waived = submit(
        client, resolve_id, dict(quorum, waive="1", waive_reason="会议临时改期，补开"), key="key-waive-0001"
    )
    assert waived.status_code == 302
    page = client.get(f"/matters/{matter_id}").data.decode()
    assert "违规预警" in page and "实到人数不足应到人数的三分之二" in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_operations_from_the_task_page(client, auth):
    auth.login(SECRETARY)
    task_id = task_id_from(start_mini(client))
    short = client.post(
        f"/tasks/{task_id}/approvers",
        data={"approver": CHAIR, "position": "before", "reason": "短"},
        follow_redirects=True,
    )
    assert "请写明加签理由" in short.data.decode()
    added = client.post(
        f"/tasks/{task_id}/approvers", data={"approver": CHAIR, "position": "before", "reason": "请主任先看方案"}
    )
    assert added.status_code == 302
    waiting = submit(client, task_id, {"subject": "修缮村道", "amount_fen": "100"})
    assert waiting.status_code == 409 and "请等待加签人" in waiting.data.decode()
    rejected = client.post(f"/tasks/{task_id}/reject", data={"reason": "不需要修了"})
    matter_id = matter_id_from(rejected.headers["Location"])
    page = client.get(f"/matters/{matter_id}").data.decode()
    assert "已终止" in page and "不需要修了" in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_overdue_steps_come_first_in_red(client, auth):
    from datetime import timedelta

    from engine import clock

    auth.login(SECRETARY)
    late = start_mini(client, "迟了的事项")
    try:
        clock.clock.set(clock.now() + timedelta(days=4))  # propose has 3 days
        start_mini(client, "新的事项")
        desk = client.get("/desk").data.decode()
        assert desk.index("迟了的事项") < desk.index("新的事项")
        assert desk.count("task-card overdue") == 1 and "已超期 1 天" in desk
        page = client.get(late).data.decode()
        assert 'class="due overdue"' in page
        done = submit(client, task_id_from(late), {"subject": "修缮村道", "amount_fen": "1"})
        svg = client.get(f"/matters/{matter_id_from(done.headers['Location'])}/diagram.svg").data.decode()
        assert 'class="pl-shape pl-task done" data-element-id="propose"' in svg
        clock.clock.set(clock.now() + timedelta(days=30))
        svg = client.get(f"/matters/{matter_id_from(done.headers['Location'])}/diagram.svg").data.decode()
        assert 'class="pl-shape pl-task overdue" data-element-id="resolve"' in svg
    finally:
        clock.clock.set(None)
