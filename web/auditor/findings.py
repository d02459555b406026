"""A conformance check as the findings' summary and case list show it (``auditor/_findings.html``),
JSON-ready so a background check can keep it with its job."""

from __future__ import annotations

from typing import Any

from engine.audit.conformance import KINDS, Findings, kind_names
from engine.audit.eventlog import EventLog

SHOWN_CASES = 200


def findings_view(findings: Findings, names: dict[str, str] | None = None, limit: int = SHOWN_CASES) -> dict[str, Any]:
    """Summary and per-case diagnostics of a check (at most ``limit`` cases listed); ``names`` gives
    the people's names by username."""
    names = names or {}
    kind_name = kind_names()
    log = findings.log
    cases: list[dict[str, Any]] = []
    per_case: dict[int, list[Any]] = {}
    for record in findings.raw:
        per_case.setdefault(record[0], []).append(record)
    for case in sorted(per_case, key=_case_order(log))[:limit]:
        attrs = log.case_attrs[case] if case < len(log.case_attrs) else {}
        deviations = [findings.deviation(r) for r in sorted(per_case[case], key=lambda r: (r[2], r[1]))]
        cases.append(
            {
                "case": log.case_ids[case],
                "instance": attrs.get("instance"),
                "title": attrs.get("title"),
                "village": attrs.get("village_name"),
                "deviations": [
                    {
                        **d.as_dict(),
                        "kind_name": kind_name[d.kind],
                        "resource_name": names.get(d.resource or "", d.resource),
                        "description": d.describe(),
                    }
                    for d in deviations
                ],
            }
        )
    summary = findings.summary()
    return {
        **summary.as_dict(),
        "kinds": [{"kind": k, "name": kind_name[k], "count": summary.deviations[k]} for k in KINDS],
        "cases_listed": cases,
        "more_cases": max(len(per_case) - limit, 0),
    }


def _case_order(log: EventLog):
    def order(case: int) -> tuple[int, str]:
        text = log.case_ids[case]
        return (0, text.rjust(20)) if text.isdigit() else (1, text)

    return order
