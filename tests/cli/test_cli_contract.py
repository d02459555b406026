"""The command-line contract, through the real ``powerlist`` entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import MINI


@pytest.fixture
def ready(cli, demo_org):
    """A database with the demo organisation and the test flow; ``init``/``demo`` have their own tests."""
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
    return cli


def _open(cli, **filters):
    args = ["tasks", "--json"]
    for key, value in filters.items():
        args += [f"--{key}", value]
    return cli(*args, check=True).json()


def test_init_is_idempotent(cli):
    first = cli("init")
    assert first.code == 0 and "applied 0001" in first.out
    again = cli("init")
    assert again.code == 0 and "up to date" in again.out


def test_commands_before_init_ask_for_init(cli):
    result = cli("tasks")
    assert result.code == 1
    assert "powerlist init" in result.err


def test_demo_is_idempotent_and_prints_logins(cli):
    cli("init", check=True)
    first = cli("demo", "--no-matters", "--json", check=True).json()
    second = cli("demo", "--no-matters", "--json", check=True).json()
    assert first["users"] == second["users"]
    usernames = {u["username"] for u in first["users"]}
    assert {"shangtang.secretary", "dongxi.agency", "county.discipline", "admin"} <= usernames
    text_out = cli("demo", "--no-matters", check=True).out
    assert "powerlist-demo" in text_out and "shangtang.chair" in text_out


def test_validate_reports_ok_and_problems(cli, tmp_path):
    ok = cli("validate", str(MINI))
    assert ok.code == 0, ok.err
    assert "mini_decision" in ok.out and "提议" in ok.out

    broken = tmp_path / "broken.bpmn"
    broken.write_text(
        MINI.read_text(encoding="utf-8")
        .replace('pl:role="committee_chair" pl:form="forms/disclose.json"', 'pl:form="forms/disclose.json"')
        .replace('targetRef="end"', 'targetRef="nowhere"')
        .replace(' pl:role="committee_chair">', ">"),
        encoding="utf-8",
    )
    shutil.copytree(MINI.parent / "forms", tmp_path / "forms")
    bad = cli("validate", str(broken))
    assert bad.code == 2
    assert "nowhere" in bad.out  # the dangling flow, by element id
    assert "disclose" in bad.out  # the task without a role
    assert len(bad.out.strip().splitlines()) >= 2  # every problem, not only the first

    garbage = tmp_path / "garbage.bpmn"
    garbage.write_bytes(b"<definitions><oops></definitions>")
    result = cli("validate", str(garbage))
    assert result.code == 2 and "line 1" in result.out

    assert cli("validate", str(tmp_path / "missing.bpmn")).code == 2


def test_deploy_versions(ready, tmp_path):
    again = ready("deploy", str(MINI), check=True)
    assert again.out.strip() == "deployed mini_decision v1 (unchanged)"

    changed_dir = tmp_path / "v2"
    shutil.copytree(MINI.parent, changed_dir)
    changed = changed_dir / MINI.name
    changed.write_text(MINI.read_text(encoding="utf-8").replace("写明事由和金额。", "写明事由、金额和依据。"), "utf-8")

    first = int(ready("start", "mini_decision", "--village", "QX0101", "--as", "shangtang.secretary", check=True).out)
    assert ready("deploy", str(changed), check=True).out.strip() == "deployed mini_decision v2"
    second = int(ready("start", "mini_decision", "--village", "QX0101", "--as", "shangtang.secretary", check=True).out)

    versions = {(d["key"], d["version"]): d for d in ready("definitions", "--json", check=True).json()}
    assert versions[("mini_decision", 1)]["running"] == 1
    assert versions[("mini_decision", 2)]["running"] == 1
    assert ready("history", str(first), "--json", check=True).json()["instance"]["version"] == 1
    assert ready("history", str(second), "--json", check=True).json()["instance"]["version"] == 2


def test_deploy_invalid_file_exits_2_and_writes_nothing(ready, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(MINI.read_text(encoding="utf-8").replace('<bpmn:endEvent id="end"', '<bpmn:endEvent id="f1"'))
    shutil.copytree(MINI.parent / "forms", tmp_path / "forms")
    result = ready("deploy", str(bad))
    assert result.code == 2 and "f1" in result.err
    rows = ready("definitions", "--json", check=True).json()
    assert [d["version"] for d in rows if d["key"] == "mini_decision"] == [1]


def test_a_matter_from_start_to_end(ready):
    instance = int(
        ready(
            "start",
            "mini_decision",
            "--village",
            "QX0101",
            "--as",
            "shangtang.secretary",
            "--title",
            "修缮村道",
            check=True,
        ).out
    )
    tasks = _open(ready, village="QX0101")
    assert [(t["step"], t["role"], t["instance"]) for t in tasks] == [("propose", "party_secretary", instance)]
    assert tasks[0]["due_at"]  # P3D time limit
    propose = tasks[0]["id"]

    # other villages and other roles see nothing to do
    assert _open(ready, village="QX0102") == []
    assert _open(ready, **{"as": "xiatang.secretary"}) == []
    assert [t["id"] for t in _open(ready, **{"as": "shangtang.secretary"})] == [propose]

    wrong_role = ready("complete", propose, "--as", "shangtang.chair", "--data", '{"subject": "修路", "amount_fen": 1}')
    assert wrong_role.code == 1 and "party_secretary" in wrong_role.err
    wrong_village = ready(
        "complete", propose, "--as", "xiatang.secretary", "--data", '{"subject": "修路", "amount_fen": 1}'
    )
    # Another village's secretary is not told the matter exists, nor whose it is.
    assert wrong_village.code == 1 and "没有这个事项" in wrong_village.err and "上塘村" not in wrong_village.err
    invalid = ready("complete", propose, "--as", "shangtang.secretary", "--data", '{"amount_fen": -5}')
    assert invalid.code == 1 and "subject" in invalid.err and "amount_fen" in invalid.err
    not_json = ready("complete", propose, "--as", "shangtang.secretary", "--data", "{subject: 1}")
    assert not_json.code == 2 and "JSON" in not_json.err
    assert [t["id"] for t in _open(ready, village="QX0101")] == [propose]  # nothing changed
    assert len(ready("history", str(instance), "--json", check=True).json()["events"]) == 1

    done = ready(
        "complete",
        propose,
        "--as",
        "shangtang.secretary",
        "--data",
        '{"subject": "修缮村道", "amount_fen": 1200000}',
        check=True,
    )
    assert "决议" in done.out
    twice = ready(
        "complete", propose, "--as", "shangtang.secretary", "--data", '{"subject": "修缮村道", "amount_fen": 1200000}'
    )
    assert twice.code == 1 and "已经办理过了" in twice.err

    resolve = _open(ready, village="QX0101")[0]
    assert resolve["step"] == "resolve" and resolve["role"] == "committee_chair"
    no_quorum = ready(
        "complete",
        resolve["id"],
        "--as",
        "shangtang.chair",
        "--data",
        json.dumps({"members": 30, "present": 15, "votes_for": 15, "votes_against": 0, "abstain": 0}),
    )
    assert no_quorum.code == 1 and "三分之二" in no_quorum.err
    ready(
        "complete",
        resolve["id"],
        "--as",
        "shangtang.chair",
        "--data",
        json.dumps({"members": 30, "present": 25, "votes_for": 20, "votes_against": 3, "abstain": 2}),
        check=True,
    )

    disclose = _open(ready, village="QX0101")[0]
    assert disclose["step"] == "disclose"
    bad_date = ready("complete", disclose["id"], "--as", "shangtang.chair", "--data", '{"posted_on": "yesterday"}')
    assert bad_date.code == 1 and "posted_on" in bad_date.err
    finished = ready(
        "complete", disclose["id"], "--as", "shangtang.chair", "--data", '{"posted_on": "2026-11-20"}', check=True
    )
    assert "completed" in finished.out
    assert _open(ready, village="QX0101") == []

    record = ready("history", str(instance), "--json", check=True).json()
    assert record["instance"]["status"] == "completed"
    kinds = [(e["kind"], e["step"]) for e in record["events"]]
    assert kinds == [
        ("instance_started", None),
        ("task_completed", "propose"),
        ("task_completed", "resolve"),
        ("gateway_taken", "passed"),
        ("task_completed", "disclose"),
        ("instance_ended", None),
    ]
    assert record["events"][1]["actor"] == "shangtang.secretary"
    assert record["events"][1]["data"]["form"] == {"subject": "修缮村道", "amount_fen": 1200000}
    assert record["events"][3]["data"] == {"to": ["disclose"]}
    plain = ready("history", str(instance), check=True).out
    assert "修缮村道" in plain  # Chinese stays readable

    assert ready("verify", check=True).out.startswith("ok: ")


def test_rejected_vote_takes_the_default_flow(ready):
    instance = ready("start", "mini_decision", "--village", "QX0201", "--as", "lingtou.cadre", check=True).out.strip()
    propose = _open(ready, village="QX0201")[0]
    ready(
        "complete",
        propose["id"],
        "--as",
        "lingtou.secretary",
        "--data",
        '{"subject": "买车", "amount_fen": 5}',
        check=True,
    )
    resolve = _open(ready, village="QX0201")[0]
    ready(
        "complete",
        resolve["id"],
        "--as",
        "lingtou.chair",
        "--data",
        json.dumps({"members": 9, "present": 9, "votes_for": 2, "votes_against": 7, "abstain": 0}),
        check=True,
    )
    record = ready("history", instance, "--json", check=True).json()
    assert record["instance"]["status"] == "completed"
    assert record["events"][-2]["data"] == {"to": ["rejected"]}
    assert record["events"][-1]["data"] == {"end": "rejected"}


def test_start_is_refused_outside_ones_village(ready):
    result = ready("start", "mini_decision", "--village", "QX0101", "--as", "xiatang.secretary")
    assert result.code == 1 and "QX0101" in result.err
    assert ready("start", "nope", "--village", "QX0101", "--as", "shangtang.secretary").code == 1
    assert ready("start", "mini_decision", "--village", "QX01", "--as", "shangtang.secretary").code == 1
    assert ready("start", "mini_decision", "--village", "QX0101", "--as", "ghost").code == 1


@pytest.mark.parametrize("tamper", ["edit", "delete_newest", "delete_middle", "reorder"])
def test_verify_detects_tampering(ready, db_url, tamper):
    instance = int(
        ready("start", "mini_decision", "--village", "QX0101", "--as", "shangtang.secretary", check=True).out
    )
    propose = _open(ready, village="QX0101")[0]
    ready(
        "complete",
        propose["id"],
        "--as",
        "shangtang.secretary",
        "--data",
        '{"subject": "修缮村道", "amount_fen": 1200000}',
        check=True,
    )
    resolve = _open(ready, village="QX0101")[0]
    ready(
        "complete",
        resolve["id"],
        "--as",
        "shangtang.chair",
        "--data",
        json.dumps({"members": 9, "present": 9, "votes_for": 9, "votes_against": 0, "abstain": 0}),
        check=True,
    )
    assert ready("verify").code == 0

    engine = create_engine(db_url)
    with engine.begin() as conn:
        if tamper == "edit":
            conn.execute(
                text(
                    "UPDATE history_event SET data = replace(data, '1200000', '120000') "
                    "WHERE instance_id = :i AND seq = 2"
                ),
                {"i": instance},
            )
        elif tamper == "delete_newest":
            conn.execute(
                text(
                    "DELETE FROM history_event WHERE instance_id = :i AND seq = "
                    "(SELECT max(seq) FROM history_event WHERE instance_id = :i)"
                ),
                {"i": instance},
            )
        elif tamper == "delete_middle":
            conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = 2"), {"i": instance})
        else:
            conn.execute(text("UPDATE history_event SET seq = 100 WHERE instance_id = :i AND seq = 2"), {"i": instance})
            conn.execute(text("UPDATE history_event SET seq = 2 WHERE instance_id = :i AND seq = 3"), {"i": instance})
            conn.execute(text("UPDATE history_event SET seq = 3 WHERE instance_id = :i AND seq = 100"), {"i": instance})
    engine.dispose()
    result = ready("verify")
    assert result.code == 1
    assert f"instance {instance}" in result.err
    expected = {"edit": "#2", "delete_newest": "deleted", "delete_middle": "#3", "reorder": "#2"}[tamper]
    assert expected in result.err
