"""The benchmarks still run and measure what they claim, at toy sizes (their figures are not checked)."""

from __future__ import annotations

from bench import step, timers


def test_step_benchmark_runs_lawful_matters_to_the_end(capsys):
    result = step.main(["--instances", "4", "--json"])
    assert result["steps_per_instance"] == 9  # 四议两公开 with the 村监会 signing both disclosures
    assert result["violations_raised"] == 0
    assert 0 < result["bytes_per_finished_instance"]
    assert '"durable_steps_per_s"' in capsys.readouterr().out


def test_timer_benchmark_fires_exactly_the_due_timers():
    result = timers.main(["--tasks", "2000", "--timers", "200", "--due", "20", "--json"])
    assert result["fired"] == 20
    assert result["idle_sweep_ms"] >= 0


def test_conformance_benchmark_finds_exactly_what_it_seeded():
    from bench import conformance

    result = conformance.main(["--cases", "2000", "--json"])
    assert result["exact"] is True
    assert result["found"] == result["seeded"]
