"""Audit: conformance checking, event-log import and export, history anchors, replay data.

- ``reference_model``: a flow's BPMN spec compiled into conformance tables;
- ``eventlog``: event logs in columns; ``histories``: our own histories as such a log;
- ``conformance``: skipped, swapped, repeated and overdue steps per case and event;
- ``logs`` and ``mapping``: importing XES and CSV logs, activity names → steps;
- ``export``: XES, CSV and Excel; ``anchor`` and ``merkle``: daily digests over every history chain;
- ``replay``: data for the replay view, matter lists and heatmaps;
- ``views``: what the auditors' pages show, as typed results kept to the auditor's scope;
- ``violation_source``: the supervision's violations, as the views count them (the wiring installs it).
"""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "anchor",
    "conformance",
    "descriptive",
    "export",
    "histories",
    "logs",
    "mapping",
    "reference_model",
    "views",
    "eventlog",
]
