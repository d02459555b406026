"""Conformance checking speed and accuracy on 100,000 generated 四议两公开 cases.

    python -m bench.conformance [--cases N] [--deviating 0.1] [--seed S] [--json]

Generates cases of the four_deliberations flow (full path, 一肩挑 path, a failed review that goes
back to 商议, rejections, matters still running), seeds deviations into about 10% of them (a skipped,
swapped, repeated or overdue step; some cases get two), checks them all and prints one JSON object:
``seconds`` (the check and its per-case diagnostics), ``events_per_s``, ``seeded`` and ``found`` (counts per kind),
``exact`` (found equals seeded case by case), and ``pm4py_seconds`` when PM4Py happens to be
importable (it is never a dependency). Target: at most 3 s for 100,000 cases on two cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from engine.audit.conformance import KINDS, check_log

SEEDED = ("skip", "swap", "repeat", "overdue")  # the kinds seeded into the generated log
from engine.audit.eventlog import EventLog
from engine.audit.model import ProcessModel, compile_model
from engine.definitions.validate import load_definition_file

FLOW = Path(__file__).resolve().parent.parent / "processes" / "four_deliberations" / "four_deliberations.bpmn"

FULL = [
    "propose",
    "discuss",
    "review",
    "resolve",
    "disclose_resolution",
    "supervise_resolution",
    "implement",
    "disclose_result",
    "supervise_result",
]
VARIANTS = [  # (weight, steps, end event or None while running)
    (70, FULL, "end_done"),
    (12, ["propose", "review", *FULL[3:]], "end_done"),
    (8, ["propose", "discuss", "review", "discuss", "review", *FULL[3:]], "end_done"),
    (3, FULL[:4], "end_rejected"),
    (2, FULL[:2], "end_not_agreed"),
    (5, None, None),  # a running matter: a prefix of the full path
]
SKIPPABLE = [s for s in FULL if s != "discuss"]
# FULL[i] and FULL[i + 1] change places; not within a loop (商议 ⇄ 审议, a disclosure ⇄ its 村监会 review),
# where the swapped order is itself a lawful path
SWAPPABLE = [0, 2, 3, 5, 6]
ROLE_OF = {
    **{step: "chair" for step in FULL},
    **{step: "secretary" for step in ("propose", "discuss", "review")},
    **{step: "supervisor" for step in ("supervise_resolution", "supervise_result")},
}
BASE = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HOUR = 3600.0


def generate(model: ProcessModel, cases: int, deviating: float, seed: int) -> tuple[EventLog, list[Counter]]:
    """A log and, per case, the deviations seeded into it as a Counter of (kind, step)."""
    rng = random.Random(seed)
    weights = [w for w, _, _ in VARIANTS]
    log = EventLog(activity_names=list(model.steps))
    act = {s: i for i, s in enumerate(log.activity_names)}
    limit = {s: model.limit_seconds[model.index[s]] for s in model.steps}
    villages = [f"v{n:03d}" for n in range(200)]
    roles = ("secretary", "chair", "supervisor")
    resources = {(v, r): i + 1 for i, (v, r) in enumerate((v, r) for v in villages for r in roles)}
    log.resource_names.extend(f"{v}.{r}" for v, r in resources)
    seeded: list[Counter] = []
    for n in range(cases):
        _, steps, end = rng.choices(VARIANTS, weights)[0]
        if steps is None:
            steps = FULL[: rng.randint(1, len(FULL) - 1)]
        steps = list(steps)
        expected: Counter = Counter()
        overdue_at = -1
        if rng.random() < deviating:
            kinds = [rng.choice(SEEDED)]
            if kinds[0] != "overdue" and rng.random() < 0.2:
                kinds.append("overdue")
            for kind in kinds:
                if kind in ("skip", "swap") and steps != FULL:
                    kind = "repeat"  # skips and swaps are seeded on the full path only
                if kind == "skip":
                    gone = rng.choice(SKIPPABLE)
                    steps.remove(gone)
                    expected["skip", gone] += 1
                elif kind == "swap":
                    i = rng.choice(SWAPPABLE)
                    steps[i], steps[i + 1] = steps[i + 1], steps[i]
                    expected["swap", steps[i]] += 1
                elif kind == "repeat":
                    i = rng.randrange(len(steps))
                    steps.insert(i + 1, steps[i])
                    expected["repeat", steps[i]] += 1
                else:
                    overdue_at = rng.randrange(len(steps))
                    expected["overdue", steps[overdue_at]] += 1
        village = villages[n % len(villages)]
        at = BASE + rng.random() * 300 * 24 * HOUR
        log.case_ids.append(f"{village}-{n:06d}")
        log.case_start.append(at)
        log.case_end.append(end)
        for i, step in enumerate(steps):
            if i == overdue_at:
                at += limit[step] + rng.uniform(1, 240) * HOUR
            else:
                at += limit[step] * rng.uniform(0.05, 0.5)
            log.acts.append(act[step])
            log.times.append(at)
            log.resources.append(resources[village, ROLE_OF[step]])
        log.offsets.append(len(log.acts))
        seeded.append(expected)
    return log, seeded


def pm4py_seconds(log: EventLog) -> float | None:
    """Token-based replay of the same log in PM4Py, if it is installed (never required)."""
    try:
        import pandas as pd
        import pm4py
    except ImportError:
        return None
    rows = {"case:concept:name": [], "concept:name": [], "time:timestamp": []}
    for c, case in enumerate(log.case_ids):
        for e in log.events(c):
            rows["case:concept:name"].append(case)
            rows["concept:name"].append(log.activity(e))
            rows["time:timestamp"].append(pd.Timestamp(log.times[e], unit="s", tz="UTC"))
    frame = pd.DataFrame(rows)
    try:
        net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(FLOW)))
        started = time.perf_counter()
        pm4py.conformance_diagnostics_token_based_replay(frame, net, initial, final)
    except Exception as exc:  # an optional comparison must not fail the benchmark
        print(f"PM4Py comparison skipped: {exc}", file=sys.stderr)
        return None
    return round(time.perf_counter() - started, 3)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--deviating", type=float, default=0.1, help="share of cases with seeded deviations")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    report = load_definition_file(FLOW)
    if not report.ok:
        raise SystemExit("four_deliberations does not validate: " + "; ".join(map(str, report.problems)))
    parsed = report.definition
    model = compile_model(parsed.spec, parsed.subprocess_specs, parsed.steps, parsed.key)
    log, seeded = generate(model, args.cases, args.deviating, args.seed)

    started = time.perf_counter()
    findings = check_log(log, model)
    diagnostics = findings.by_case()
    seconds = time.perf_counter() - started

    found: list[Counter] = [Counter() for _ in range(log.case_count)]
    for case, code, _event, step, _extra in findings.raw:
        found[case][KINDS[code], model.steps[step]] += 1
    mismatched = [c for c in range(log.case_count) if found[c] != seeded[c]]
    result = {
        "seconds": round(seconds, 3),
        "events_per_s": round(log.event_count / seconds),
        "cases": log.case_count,
        "events": log.event_count,
        "seeded": {kind: sum(c[k] for c in seeded for k in c if k[0] == kind) for kind in KINDS},
        "found": findings.counts(),
        "seeded_cases": sum(1 for c in seeded if c),
        "deviating_cases": len(diagnostics),
        "exact": not mismatched,
    }
    if mismatched:
        first = mismatched[0]
        result["first_mismatch"] = {
            "case": log.case_ids[first],
            "events": [log.activity(e) for e in log.events(first)],
            "seeded": sorted(f"{k}:{s}" for (k, s), n in seeded[first].items() for _ in range(n)),
            "found": sorted(f"{k}:{s}" for (k, s), n in found[first].items() for _ in range(n)),
        }
    pm4py = pm4py_seconds(log)
    if pm4py is not None:
        result["pm4py_seconds"] = pm4py
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
