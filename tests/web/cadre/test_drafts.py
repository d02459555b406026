"""Drafts of a step's form and of a start form, on both databases: kept, read, replaced by later
typing only, discarded; only for who may act on the step; gone when the step is done or handed on;
never in the matter's history. And a form the page's script sends gets its redirect as JSON."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.persistence.models import HistoryEvent
from engine.workspace.draft_models import TaskDraft
from tests.web.conftest import CHAIR, OTHER_VILLAGE, SECRETARY, start_mini, task_id_from

DEPUTY = "shangtang.deputy"
TYPED = {"subject": "修缮村道", "amount_fen": "12,000.50", "keep_minutes": []}


def put(client, url: str, data, revision, **headers):
    return client.put(url, json={"data": data, "revision": revision}, headers=headers)


def drafts_of(demo_world, task_id: str) -> list[str]:
    with demo_world() as session:
        return list(session.scalars(select(TaskDraft.username).where(TaskDraft.task_id == task_id)))


def history_count(demo_world) -> int:
    with demo_world() as session:
        return session.scalar(select(func.count()).select_from(HistoryEvent))


def test_a_draft_is_kept_read_replaced_by_later_typing_discarded_and_bounded(client, auth, demo_world):
    auth.login(SECRETARY)
    task_id = task_id_from(start_mini(client))
    url = f"/tasks/{task_id}/draft"
    assert client.get(url).get_json() == {"draft": None}
    events = history_count(demo_world)

    saved = put(client, url, TYPED, 1_000)
    assert saved.status_code == 200, saved.get_json()
    draft = client.get(url).get_json()["draft"]
    assert draft["data"] == TYPED and draft["revision"] == 1_000 and draft["saved_at_local"]

    assert put(client, url, dict(TYPED, subject="硬化村道"), 2_000).status_code == 200
    late = put(client, url, dict(TYPED, subject="旧的内容"), 1_500)  # an older typing arriving late
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "draft.outdated"
    assert client.get(url).get_json()["draft"]["data"]["subject"] == "硬化村道"

    huge = {f"f{i}": "村" * 30_000 for i in range(2)}  # 180 kB of text
    too_big = put(client, url, huge, 3_000)
    assert too_big.status_code == 400 and too_big.get_json()["error"]["code"] == "draft.too_large"
    bad_revision = put(client, url, TYPED, -5)
    assert bad_revision.status_code == 400 and bad_revision.get_json()["error"]["field"] == "revision"
    not_object = put(client, url, ["x"], 3_000)
    assert not_object.status_code == 400 and not_object.get_json()["error"]["field"] == "data"
    not_json = client.put(url, data=b"{", content_type="application/json")
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "input.not_json"
    assert client.get(url).get_json()["draft"]["revision"] == 2_000  # nothing half written
    assert history_count(demo_world) == events, "a draft is never part of the record"

    assert client.delete(url).get_json() == {"discarded": True}
    assert client.get(url).get_json() == {"draft": None}
    assert client.delete(url).get_json() == {"discarded": False}

    start = "/start/mini_decision/draft"  # a start form's draft goes when the matter is started
    assert put(client, start, {"title": "修缮村道", "village": "QX0101"}, 7).get_json()["draft"]["revision"] == 7
    assert client.get(start).get_json()["draft"]["data"]["title"] == "修缮村道"
    start_mini(client)
    assert client.get(start).get_json() == {"draft": None}
    auth.logout()
    auth.login("admin")
    assert client.get(start).status_code == 403  # keeps no draft of what they may not start


def sign_in(app, username: str):
    other = app.test_client()
    other.post("/login", data={"username": username, "password": "powerlist-demo"})
    return other


def test_only_the_holder_keeps_a_draft_and_it_ends_with_the_step(app, auth, demo_world):
    from engine.workspace import operations, people
    from engine.workspace import tokens as api_tokens

    with demo_world() as session, session.begin():
        people.add_user(session, None, DEPUTY, "上塘村副书记", "deputy-password")
        people.grant_role(session, None, DEPUTY, "party_secretary", "QX0101")
        token = {u: api_tokens.create(session, u, "test", None) for u in (SECRETARY, CHAIR, OTHER_VILLAGE)}
    holder = sign_in(app, SECRETARY)
    task_id = task_id_from(start_mini(holder))
    url = f"/tasks/{task_id}/draft"
    assert put(holder, url, TYPED, 1).status_code == 200

    for username, status in ((CHAIR, 403), (OTHER_VILLAGE, 404)):  # as the task page answers them
        other = sign_in(app, username)
        assert other.get(f"/tasks/{task_id}").status_code == status
        assert other.get(url).status_code == status
        assert put(other, url, TYPED, 5).status_code == status
        assert other.delete(url).status_code == status
        them = {"Authorization": f"Bearer {token[username]}"}
        assert other.get(f"/api/v1{url}", headers=them).status_code == status
        assert other.put(f"/api/v1{url}", json={"data": TYPED, "revision": 9}, headers=them).status_code == status
        assert other.post(f"/api/v1{url}", json={"data": TYPED, "revision": 9}, headers=them).status_code == status
        assert other.delete(f"/api/v1{url}", headers=them).status_code == status
    assert drafts_of(demo_world, task_id) == [SECRETARY]
    assert holder.get(url).get_json()["draft"]["data"] == TYPED
    assert app.test_client().get(url).status_code == 302  # to the sign-in page

    me = {"Authorization": f"Bearer {token[SECRETARY]}"}
    assert holder.put(f"/api/v1{url}", json={"data": TYPED, "revision": 3}, headers=me).status_code == 200
    assert holder.post(f"/api/v1{url}", json={"data": TYPED, "revision": 4}, headers=me).status_code == 200
    assert holder.get(f"/api/v1{url}", headers=me).get_json()["draft"]["revision"] == 4

    with demo_world() as session, session.begin():  # handed on: the former holder's draft is dropped
        operations.transfer(session, task_id, SECRETARY, DEPUTY, "我出差，请副书记办理")
    assert drafts_of(demo_world, task_id) == []
    assert holder.get(url).status_code == 403
    with demo_world() as session, session.begin():  # handed back: the old typing does not come back with it
        operations.transfer(session, task_id, DEPUTY, SECRETARY, "出差回来了，还给书记")
    assert holder.get(url).get_json() == {"draft": None}

    # Sent by the page's script: the redirect as JSON, acting once when sent again.
    assert put(holder, url, TYPED, 10).status_code == 200
    form = {"idempotency_key": "draft-fetch-0001", "subject": "修缮村道", "amount_fen": "100"}
    before = history_count(demo_world)
    answers, counts = [], []
    for _ in range(2):  # the second: sent again when the connection came back
        answers.append(
            holder.post(
                f"/tasks/{task_id}",
                data=form,
                content_type="multipart/form-data",
                headers={"X-Powerlist-Submit": "fetch"},
            )
        )
        counts.append(history_count(demo_world))
    assert [a.status_code for a in answers] == [200, 200]
    first, again = (a.get_json()["redirect"] for a in answers)
    assert first == again and "/matters/" in first
    assert before < counts[0] == counts[1]  # acted once
    assert "这份表单已经提交过了" in holder.get(first).data.decode()  # the flash waited for the page

    assert drafts_of(demo_world, task_id) == []  # the completed step took its drafts with it
    gone = holder.get(url)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "task.not_open"
    assert put(holder, url, TYPED, 20).get_json()["error"]["code"] == "task.not_open"
