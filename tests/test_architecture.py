"""The import contracts (``.importlinter``) hold, and each engine package's public surface is the one
checked in here: a change to an ``__all__`` is a change to what the web app and the command line may
use, made on purpose in both places."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))"
)


def test_the_import_contracts_hold():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["COLUMNS"] = "200"
    done = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


# Each engine package's __all__, its names in alphabetical order.
PUBLIC = {
    "engine": (
        "api audit bootstrap caches calendar catalog clock definitions diagram errors expressions history inputs "
        "messages org persistence policy public queries runtime scheduler supervision workspace"
    ),
    "engine.audit": "anchor conformance descriptive eventlog export histories logs mapping reference_model views",
    "engine.catalog": "catalog examples flowchart",
    "engine.definitions": "deploy guide listing models safe_xml scope validate",
    "engine.diagram": "Bounds Diagram DiagramUnavailable Edge STATES Shape diagram_of flow_svg render_svg",
    "engine.expressions": (
        "BUILTIN_FUNCTIONS Expression ExpressionError ISO_TIMER_RE MAX_SEQUENCE_LENGTH SafeEnvironment "
        "SafeScriptEngine Script add_duration compile_expression compile_script duration_parts "
        "is_iso8601_cycle is_iso8601_datetime is_iso8601_duration is_iso8601_timer parse_duration"
    ),
    "engine.history": "chain seal",
    "engine.org": "passwords roles service",
    "engine.persistence": "backup db enums ids migrate models",
    "engine.policy": "ACTIONS Start audit may register_concern require rules starters",
    "engine.public": (
        "decisions disclosure_models disclosures items ledger ledger_models photos qr receipts reports "
        "spreadsheets subsidies subsidy_models villages wallet"
    ),
    "engine.runtime": "forms loaded",
    "engine.supervision": (
        "backfill calendar_files deadlines decisions evidence handling models notices overview queries rules "
        "scores search semantics statements sweep talks violation_chain worklist"
    ),
    "engine.texts": "LANGUAGES data error_text error_wording text texts",
    "engine.workspace": (
        "access accounts admin attachments drafts idempotency inbox labels logins matter_detail migration "
        "operations people tokens waivers"
    ),
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_the_public_surface_of_each_engine_package_is_pinned(package):
    declared = getattr(importlib.import_module(package), "__all__", None)
    assert declared is not None, f"{package}/__init__.py declares no __all__"
    assert sorted(declared) == PUBLIC[package].split()


def test_every_engine_package_is_pinned():
    packages = {"engine"} | {"engine." + path.parent.name for path in (ROOT / "engine").glob("*/__init__.py")}
    assert packages == set(PUBLIC)


def test_bootstrap_installs_the_built_in_hooks_once_in_order():
    from engine import bootstrap, hooks, policy
    from engine.audit import replay

    bootstrap()
    bootstrap()
    names = [f"{hook.__module__}.{hook.__name__}" for hook in hooks.installed()]
    assert names == [
        "engine.supervision.hook.watch_step",
        "engine.public.complaints._triage_routing",
        "engine.public.complaints._start_contact",
        "engine.public.subsidies.from_flows._from_flow",
        "engine.workspace.closing.cancel_approvals_of_closed_steps",
        "engine.workspace.drafts.drop_closed",
    ]
    assert "complaint" in policy._concern_checks
    assert replay.violation_source() is not None


def test_importing_the_engine_installs_nothing():
    code = (
        "import engine.api, engine.queries, engine.workspace.operations; from engine import hooks; "
        "assert hooks.installed() == (), hooks.installed()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
