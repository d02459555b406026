"""Administrators move running matters to a newer version of their flow from the flow page: a trial
run first, then the real one, both through ``engine.workspace.migration``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter
from tests.engine.workspace.test_instance_migration import PROPOSE, deploy, flow_version
from tests.web.conftest import ADMIN, CHAIR, OTHER_VILLAGE, SECRETARY

FLOW = "mini_decision"
PAGE = f"/admin/flows/{FLOW}/2/migrate"
ON_V1 = f"/admin/flows/{FLOW}/1/migrate"  # the only version of the flow in the fixture


def propose_asks_less(text: str) -> str:
    """v2's BPMN: one word of the documentation changed (with the form below, a new version)."""
    return text.replace("写明事由和金额。", "写明事由。")


def deploy_v2(sessions, tmp_path: Path) -> None:
    """v2: the 提议 form no longer requires the amount, so a matter waiting at 提议 cannot move (its
    holder would find another form); a matter past it can."""
    path = flow_version(tmp_path, "v2", propose_asks_less)
    form = path.parent / "forms" / "propose.json"
    text = form.read_text(encoding="utf-8")
    assert '"required": ["subject", "amount_fen"]' in text
    form.write_text(text.replace('"required": ["subject", "amount_fen"]', '"required": ["subject"]'), encoding="utf-8")
    assert deploy(sessions, path) == 2


def start(sessions, village: str, actor: str, proposed: bool) -> int:
    from engine import api, queries

    with sessions() as session, session.begin():
        instance_id = api.start(session, FLOW, village, actor).instance_id
    if proposed:
        with sessions() as session:
            (task,) = [t for t in queries.open_tasks(session) if t.instance == instance_id]
        with sessions() as session, session.begin():
            api.complete(session, task.id, actor, PROPOSE)
    return instance_id


def states(sessions) -> dict[int, tuple[int, int]]:
    """Each matter's version and revision."""
    with sessions() as session:
        rows = session.execute(
            select(Matter.id, DefinitionVersion.version, Matter.revision).join(
                DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id
            )
        )
        return {row[0]: (row[1], row[2]) for row in rows}


def card(page: str, instance_id: int) -> str:
    """The report's entry of one matter."""
    found = re.search(rf'id="matter-{instance_id}">(.*?)</li>\s*(?:<li class="card|</ul>)', page, re.S)
    assert found, page[:3000]
    return found.group(1)


@pytest.fixture
def matters(demo_world, tmp_path):
    """On v1: one matter waiting at 提议 and two at 决议 (one in another village); then v2."""
    at_propose = start(demo_world, "QX0101", SECRETARY, proposed=False)
    at_resolve = start(demo_world, "QX0101", SECRETARY, proposed=True)
    elsewhere = start(demo_world, "QX0201", OTHER_VILLAGE, proposed=True)
    deploy_v2(demo_world, tmp_path)
    return at_propose, at_resolve, elsewhere


def test_trial_run_then_confirm_moves_the_movable_matters(demo_world, matters, client, auth):
    at_propose, at_resolve, elsewhere = matters
    auth.login(ADMIN)
    flow_page = client.get(f"/admin/flows/{FLOW}").data.decode()
    assert f'href="{PAGE}"' in flow_page and "更早版本上还有 3 件办理中的事项" in flow_page
    before = states(demo_world)

    trial = client.get(PAGE)
    assert trial.status_code == 200
    page = trial.data.decode()
    assert "共 3 件办理中的事项：2 件可以迁移，1 件不能迁移" in page
    refused = card(page, at_propose)
    assert "不能迁移" in refused and "上塘村（QX0101）" in refused and "当前步骤：提议" in refused
    assert "必填项变了" in refused and "amount_fen" in refused
    assert "可以迁移" in card(page, at_resolve) and "当前步骤：决议" in card(page, at_resolve)
    assert "岭头村（QX0201）" in card(page, elsewhere)
    assert "确认迁移 2 件事项" in page
    one_village = client.get(PAGE, query_string={"village": "QX0201", "from": "1"}).data.decode()
    assert f'id="matter-{elsewhere}"' in one_village and f'id="matter-{at_resolve}"' not in one_village
    client.get("/lang/en")
    english = card(client.get(PAGE).data.decode(), at_propose)
    assert "The required fields of the open step" in english and "cannot move" in english
    client.get("/lang/zh")
    assert states(demo_world) == before  # the trial run wrote nothing

    done = client.post(PAGE, data={"from": "", "village": ""})
    assert done.status_code == 200
    page = done.data.decode()
    assert "已迁移 2 件，1 件留在原版本" in page
    assert "已迁移" in card(page, at_resolve) and "v1 → v2" in card(page, at_resolve)
    assert "留在原版本" in card(page, at_propose) and "必填项变了" in card(page, at_propose)
    after = states(demo_world)
    assert after[at_propose] == before[at_propose]
    assert after[at_resolve][0] == after[elsewhere][0] == 2

    flow_page = client.get(f"/admin/flows/{FLOW}").data.decode()
    v2, v1 = (flow_page.split(f'id="v{n}"', 1)[1] for n in (2, 1))
    assert "办理中 2 件" in v2.split('id="v1"')[0] and "办理中 1 件" in v1
    assert "更早版本上还有 1 件办理中的事项" in flow_page
    with demo_world() as session:
        kinds = session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == at_resolve)).all()
    assert kinds[-1] == "instance_migrated"
    auth.logout()
    auth.login(CHAIR)
    assert "迁移到新版本" in client.get(f"/matters/{at_resolve}").data.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_only_administrators_who_may_retire_the_flow_may_migrate(demo_world, matters, client, auth):
    from engine.definitions.deploy import publish
    from tests.engine.workspace.test_tenancy import BX_ADMIN, add_second_county

    before = states(demo_world)
    auth.login(SECRETARY)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE).status_code == 403
    auth.logout()
    add_second_county(demo_world)
    with demo_world() as session, session.begin():
        publish(session, FLOW, ["BX"], None)
    auth.login(BX_ADMIN)  # sees the flow, but it is published to a county not theirs too
    refused = client.post(PAGE)
    assert refused.status_code == 403
    assert "只有这些县也归您管理时才能停用或恢复它的版本" in refused.data.decode()
    assert client.get(PAGE).status_code == 403
    assert states(demo_world) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("url", "params", "status", "words"),
    [
        (f"/admin/flows/{FLOW}/two/migrate", {}, 400, "目标版本（version）应当是正整数"),
        (f"/admin/flows/{FLOW}/0/migrate", {}, 400, "目标版本（version）"),
        (ON_V1, {"from": "v1"}, 400, "原版本（from）应当是正整数，而不是「v1」"),
        (ON_V1, {"village": "QX9999"}, 400, "村代码（village）：没有代码为 QX9999 的村"),
        (ON_V1, {"village": "QX01"}, 400, "村代码（village）"),  # a town
        (ON_V1, {"from": "1"}, 400, "只能迁移到更新的版本"),
        (f"/admin/flows/{FLOW}/7/migrate", {}, 404, "没有 mini_decision 的第 7 版"),
    ],
)
def test_bad_input_is_refused_naming_the_field(demo_world, client, auth, url, params, status, words):
    auth.login(ADMIN)
    answer = client.get(url, query_string=params)
    assert answer.status_code == status
    assert words in answer.data.decode()
