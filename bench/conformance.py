"""Conformance checking speed and accuracy on 100,000 generated 四议两公开 cases, and exact checking
of a generated descriptive model with parallel branches and loops.

    python -m bench.conformance [--cases N] [--deviating 0.1] [--seed S] [--json]
                                [--model-cases N] [--model-seed S] [--model-out FILE.bpmn]

Generates cases of the four_deliberations flow (full path, 一肩挑 path, a failed review that goes
back to 商议, rejections, matters still running), seeds deviations into about 10% of them (a skipped,
swapped, repeated or overdue step; some cases get two), checks them all and prints one JSON object:
``seconds`` (the check and its per-case diagnostics), ``events_per_s``, ``seeded`` and ``found`` (counts per kind),
``exact`` (found equals seeded case by case), and ``pm4py_seconds`` when PM4Py happens to be
importable (it is never a dependency). Target: at most 3 s for 100,000 cases on two cores.

The second run (``generated``) writes a descriptive model (``isExecutable="false"``, no roles, no
conditions, no diagram) of about 27 tasks in nested exclusive and parallel blocks and loops, reads it
with :mod:`engine.audit.descriptive`, simulates ``--model-cases`` runs of its Petri net with noise
(a step dropped, two swapped, one repeated) and aligns them: ``seconds``, the time per case, the
total cost. With PM4Py installed (``pip install .[bench]``; AGPL, never imported by the product) it
reads the same file and log and prints its alignment and token-replay times, the ratios to ours, and
on how many cases each disagrees with ours (alignment cost, fitness 1 or not).
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
from engine.audit.eventlog import EventLog
from engine.audit.reference_model import ProcessModel, compile_model
from engine.catalog.examples import example_path
from engine.definitions.validate import load_definition_file

SEEDED = ("skip", "swap", "repeat", "overdue")  # the kinds seeded into the generated log
FLOW = Path(__file__).resolve().parent.parent / "processes" / "four_deliberations" / "four_deliberations.bpmn"

# the 四议两公开 happy path, step by step, as processes/four_deliberations/examples.yaml holds it
FULL = [step.step for step in example_path(FLOW, "happy").steps]
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


class _ModelWriter:
    """A random block-structured descriptive model: sequences, exclusive choices (some with an
    empty branch), parallel blocks and loops."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.elements: list[str] = []
        self.flows: list[tuple[str, str]] = []
        self.counts: Counter = Counter()
        self.tasks = 0

    def node(self, tag: str, name: str | None = None) -> str:
        self.counts[tag] += 1
        ident = f"{tag}_{self.counts[tag]}"
        label = f' name="{name}"' if name else ""
        extension = (
            '<extensionElements><signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffcc"/></extensionElements>'
            if tag == "task"
            else ""
        )
        self.elements.append(f'<{tag} id="{ident}"{label}>{extension}</{tag}>')
        return ident

    def flow(self, a: str, b: str) -> None:
        self.flows.append((a, b))

    def block(self, tasks: int, depth: int = 0) -> tuple[str, str]:
        rng = self.rng
        if tasks == 1 or depth > 4:
            if tasks > 1:
                return self.sequence([1] * tasks, depth)
            self.tasks += 1
            task = self.node("task", f"环节{self.tasks:02d}")
            if rng.random() < 0.12:
                return self.loop(task, task)
            return task, task
        kind = rng.choices(["seq", "xor", "and", "loop"], [3, 4, 2, 1])[0]
        if kind == "seq" or (kind == "and" and tasks < 2):
            cut = rng.randint(1, tasks - 1)
            return self.sequence([cut, tasks - cut], depth)
        if kind == "loop":
            first, last = self.block(tasks, depth + 1)
            return self.loop(first, last)
        branches = 2 if tasks < 3 or kind == "and" else rng.choice([2, 3])
        sizes = self._split(tasks, branches)
        tag = "exclusiveGateway" if kind == "xor" else "parallelGateway"
        split, join = self.node(tag), self.node(tag)
        for size in sizes:
            first, last = self.block(size, depth + 1)
            self.flow(split, first)
            self.flow(last, join)
        if kind == "xor" and rng.random() < 0.3:
            self.flow(split, join)  # an optional part: the choice may skip it
        return split, join

    def sequence(self, sizes: list[int], depth: int) -> tuple[str, str]:
        parts = [self.block(size, depth + 1) for size in sizes]
        for (_, last), (first, _) in zip(parts, parts[1:], strict=False):
            self.flow(last, first)
        return parts[0][0], parts[-1][1]

    def loop(self, first: str, last: str) -> tuple[str, str]:
        merge, split = self.node("exclusiveGateway"), self.node("exclusiveGateway")
        self.flow(merge, first)
        self.flow(last, split)
        self.flow(split, merge)
        return merge, split

    def _split(self, tasks: int, parts: int) -> list[int]:
        cuts = sorted(self.rng.sample(range(1, tasks), parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, tasks], strict=True)]


def generated_model(seed: int = 20261206, tasks: int = 27) -> str:
    """The XML of a descriptive model with ``tasks`` tasks (see :class:`_ModelWriter`)."""
    writer = _ModelWriter(random.Random(seed))
    first, last = writer.block(tasks)
    start, end = writer.node("startEvent", "开始"), writer.node("endEvent", "结束")
    writer.flow(start, first)
    writer.flow(last, end)
    flows = "".join(
        f'<sequenceFlow id="flow_{n}" sourceRef="{a}" targetRef="{b}"/>' for n, (a, b) in enumerate(writer.flows, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:signavio="http://www.signavio.com" id="generated" targetNamespace="http://www.signavio.com">\n'
        f'<process id="generated" name="生成的描述性流程" isExecutable="false">{"".join(writer.elements)}{flows}'
        "</process>\n</definitions>\n"
    )


def generated_log(model: ProcessModel, cases: int, deviating: float, seed: int) -> EventLog:
    """Runs of the model's net with noise in a share of them, one step a day, every case ended."""
    from engine.audit.alignment import random_run

    rng = random.Random(seed)
    log = EventLog(activity_names=list(model.steps))
    made = 0
    while made < cases:
        run = random_run(model.net, rng, max_steps=120)
        if run is None:
            continue
        if run and rng.random() < deviating:
            i = rng.randrange(len(run))
            noise = rng.choice(["drop", "swap", "repeat"])
            if noise == "drop":
                del run[i]
            elif noise == "swap" and i + 1 < len(run):
                run[i], run[i + 1] = run[i + 1], run[i]
            else:
                run.insert(i, run[i])
        at = BASE + made * HOUR
        log.case_ids.append(f"g{made:06d}")
        log.case_start.append(at)
        log.case_end.append("")
        for step in run:
            at += 24 * HOUR
            log.acts.append(step)
            log.times.append(at)
            log.resources.append(0)
        log.offsets.append(len(log.acts))
        made += 1
    return log


def run_generated(cases: int, seed: int, out: Path | None = None) -> dict:
    """Exact checking of a generated descriptive model, and PM4Py on the same file and log."""
    import tempfile

    from engine.audit.descriptive import read_model

    xml = generated_model(seed)
    read = read_model(xml.encode(), "generated.bpmn")
    model = read.model
    log = generated_log(model, cases, 0.3, seed)
    started = time.perf_counter()
    findings = check_log(log, model)
    seconds = time.perf_counter() - started
    costs = _costs(findings, log)
    timing = findings.timing()
    result = {
        "tasks": read.tasks,
        "gateways": {
            "exclusive": xml.count("<exclusiveGateway "),
            "parallel": xml.count("<parallelGateway "),
        },
        "places": model.net.places,
        "transitions": len(model.net.transitions),
        "cases": log.case_count,
        "events": log.event_count,
        "variants": len({tuple(log.acts[log.offsets[c] : log.offsets[c + 1]]) for c in range(log.case_count)}),
        "seconds": round(seconds, 3),
        "per_case_ms": {"mean": timing.mean_ms, "max": timing.max_ms},
        "deviating_cases": findings.deviating_cases(),
        "unchecked": len(findings.unchecked),
        "total_cost": sum(costs),
    }
    if out is not None:
        out.write_text(xml, encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.bpmn"
        path.write_text(xml, encoding="utf-8")
        compared = pm4py_compare(path, log, costs, seconds, dict(zip(model.steps, model.names, strict=True)))
    if compared:
        result["pm4py"] = compared
    return result


def _costs(findings, log: EventLog) -> list[int]:
    """The optimal alignment cost of each case: a swap is two moves, every other finding one."""
    costs = [0] * log.case_count
    for case, code, _event, _step, _extra in findings.raw:
        kind = KINDS[code]
        if kind != "overdue":
            costs[case] += 2 if kind == "swap" else 1
    return costs


def pm4py_compare(path: Path, log: EventLog, costs: list[int], ours: float, names: dict[str, str]) -> dict | None:
    """PM4Py's alignments and token replay on the same model file and log, if PM4Py is installed."""
    try:
        import pandas as pd
        import pm4py
    except ImportError:
        return None
    try:
        frame = _frame(pd, log, names)
        net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
        started = time.perf_counter()
        aligned = pm4py.conformance_diagnostics_alignments(frame, net, initial, final)
        align_seconds = time.perf_counter() - started
        started = time.perf_counter()
        replayed = pm4py.conformance_diagnostics_token_based_replay(frame, net, initial, final)
        replay_seconds = time.perf_counter() - started
    except Exception as exc:  # an optional comparison must not fail the benchmark
        print(f"PM4Py comparison skipped: {exc}", file=sys.stderr)
        return None
    order = sorted(range(log.case_count), key=lambda c: log.case_ids[c])  # PM4Py answers in case-id order
    align_cost = [int(round(a["cost"] / 10000)) if a else -1 for a in aligned]
    align_disagree = sum(1 for i, c in enumerate(order) if align_cost[i] != costs[c])
    replay_disagree = sum(1 for i, c in enumerate(order) if (replayed[i]["trace_fitness"] >= 1.0) != (costs[c] == 0))
    return {
        "alignment_seconds": round(align_seconds, 3),
        "token_replay_seconds": round(replay_seconds, 3),
        "ours_seconds": round(ours, 3),
        "alignment_over_ours": round(align_seconds / ours, 1) if ours else None,
        "token_replay_over_ours": round(replay_seconds / ours, 2) if ours else None,
        "alignment_disagreements": align_disagree,
        "token_replay_disagreements": replay_disagree,
    }


def _frame(pd, log: EventLog, names: dict[str, str] | None = None):
    rows: dict[str, list] = {"case:concept:name": [], "concept:name": [], "time:timestamp": []}
    for c, case in enumerate(log.case_ids):
        for e in log.events(c):
            rows["case:concept:name"].append(case)
            activity = log.activity(e)
            rows["concept:name"].append(names.get(activity, activity) if names else activity)
            rows["time:timestamp"].append(pd.Timestamp(log.times[e], unit="s", tz="UTC"))
    return pd.DataFrame(rows)


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
    parser.add_argument("--model-cases", type=int, default=10_000, help="cases of the generated model (0: skip)")
    parser.add_argument("--model-out", type=Path, default=None, help="also write the generated model here")
    parser.add_argument(
        "--model-seed", type=int, default=3, help="seed of the generated model (3: 24 exclusive, 8 parallel gateways)"
    )
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
    if args.model_cases:
        result["generated"] = run_generated(args.model_cases, args.model_seed, args.model_out)
    print(json.dumps(result, ensure_ascii=False) if args.json else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
