"""Supervision: the rules that watch every step.

| module | job |
|---|---|
| ``models`` | tables: due timers, violations and their event chains, evidence, rule-set versions, notices |
| ``rules``, ``semantics`` | the rule set (rules/defaults/supervision.yaml): merge per county, validate, activate |
| ``hook`` | the after-step hook: deadlines and BPMN timers, step violations, rectification progress |
| ``deadlines`` | where a step's limit comes from; blue, yellow and red warnings of open steps |
| ``timers`` | timer rows; firing a matter's due BPMN timer events as one step |
| ``sweep`` | claim and fire due timers exactly once (:mod:`engine.scheduler` says "sweep now") |
| ``detect``, ``facts`` | violations seen in a step's events; what rule conditions see |
| ``evidence``, ``statements`` | payments from outside the flows (村务卡), approve-before-pay, split payments |
| ``violations``, ``violation_chain`` | raising and handling violations; their tamper-evident event chain |
| ``rectification`` | the rectification flow a violation starts, and what its steps do to the violation |
| ``scores``, ``queries``, ``calendar_files`` | grades and notices; read-only views; checking holiday files |
"""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "backfill",
    "calendar_files",
    "deadlines",
    "decisions",
    "evidence",
    "handling",
    "models",
    "notices",
    "overview",
    "queries",
    "rules",
    "scores",
    "search",
    "semantics",
    "statements",
    "sweep",
    "talks",
    "violation_chain",
    "worklist",
]
