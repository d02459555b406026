"""The scale and fault benchmarks run at toy size and hold their invariants (their timings are not checked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from bench import faults, load
from bench.database import fresh_database

pytestmark = pytest.mark.slow


def test_a_loaded_county_verifies_and_answers_web_clients(capsys):
    result = load.main(
        ["--db", "sqlite", "--villages", "6", "--matters", "300", "--paths-per-flow", "1"]
        + ["--clients", "2", "--seconds", "2", "--json"]
    )
    (loaded,) = result["databases"]
    assert loaded["chains_ok"] is True
    assert loaded["villages"] == 6 and loaded["matters"] >= 300 and loaded["events"] > loaded["matters"]
    (run,) = loaded["runs"]
    assert run["web_processes"] == 1 and run["errors"] == 0, run["first_errors"]
    assert run["steps"] > 0 and run["steps_per_s"] > 0
    assert run["inbox_ms_p95"] > 0 and run["complete_ms_p95"] > 0 and run["worklist_ms_p95"] > 0
    assert '"chains_ok": true' in capsys.readouterr().out


def test_killed_workers_lose_and_double_nothing_and_the_check_sees_a_lost_step(tmp_path: Path):
    from engine.persistence.db import make_engine
    from engine.persistence.models import HistoryEvent

    with fresh_database(None) as url:
        result = faults.run(url, 200, 3, 15, tmp_path)
        assert result["kills"] >= 3
        assert result["steps"] >= 200
        assert result["worker_errors"] == 0, result.get("first_worker_errors")
        assert result["steps_lost"] == result["steps_doubled"] == 0
        assert result["chains_failing"] == result["open_tasks_inconsistent"] == 0

        # An acknowledged step whose completion is gone is lost, and its chain fails.
        logs = sorted(tmp_path.glob("worker-*.log"))
        acknowledged = next(line.split() for log in logs for line in log.read_text().splitlines() if line[:4] == "step")
        db = make_engine(url)
        with db.begin() as conn:
            conn.execute(
                delete(HistoryEvent).where(
                    HistoryEvent.instance_id == int(acknowledged[1]),
                    HistoryEvent.step_id == acknowledged[2],
                    HistoryEvent.kind == "task_completed",
                )
            )
        db.dispose()
        tampered = faults.check(url, logs)
        assert tampered["steps_lost"] == 1
        assert tampered["chains_failing"] == 1
