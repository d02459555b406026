"""Every step of every shipped flow cites its legal basis (每个规范有依据).

A step's basis (the form's ``x-legal-basis``, else the task's ``pl:legalBasis``) names a law or
regulation in 《…》, with its article where the law has one, or a rule of the county or town
(本县…/本镇…) that the county keeps in its own copy of the flow. A bare description such as
"村级财务管理制度" is not a basis a villager can look up.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from engine.definitions.descriptions import ParsedDefinition
from engine.definitions.document import BpmnDocument
from engine.definitions.safe_xml import parse_xml
from engine.definitions.validate import load_definition_file

PL = "{urn:powerlist:bpmn:1}"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FLOWS = sorted(PROCESSES.glob("*/*.bpmn"))
NAMED_LAW = re.compile(r"《[^《》]{2,}》")
COUNTY_RULE = re.compile(r"本[县镇]")
ARTICLE = re.compile(r"第[一二三四五六七八九十百零]+条")


@cache
def definition(path: Path) -> ParsedDefinition:
    report = load_definition_file(path)
    assert report.ok, [str(p) for p in report.problems]
    return report.definition


def cites_a_rule(basis: str) -> bool:
    return bool(NAMED_LAW.search(basis) or COUNTY_RULE.search(basis))


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_every_step_cites_a_law_or_a_county_rule(path: Path) -> None:
    flow = definition(path)
    assert flow.legal_basis and cites_a_rule(flow.legal_basis), f"{flow.key}: {flow.legal_basis!r}"
    bare = {step.id: step.legal_basis for step in flow.steps if not cites_a_rule((step.legal_basis or "").strip())}
    assert bare == {}, f"{flow.key}: steps whose legal basis names no 《law》 and no 本县/本镇 rule: {bare}"


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_a_step_and_its_form_cite_the_same_basis(path: Path) -> None:
    """The page shows the form's basis, the wall chart the task's: they must not tell two stories."""
    flow = definition(path)
    root, problems = parse_xml(path.read_bytes(), str(path))
    assert root is not None, problems
    on_task = {task.get("id"): task.get(f"{PL}legalBasis") for task in BpmnDocument(root, str(path)).find("userTask")}
    differ = {}
    for step in flow.steps:
        on_form = flow.forms[step.form].get("x-legal-basis")
        if on_form and on_task[step.id] and on_form != on_task[step.id]:
            differ[step.id] = (on_task[step.id], on_form)
    assert differ == {}, f"{flow.key}: {differ}"


def test_the_statutory_steps_cite_their_article() -> None:
    """Where a national rule has articles, the step names the article, not just the law."""
    cited = {
        (path.stem, step.id): step.legal_basis or ""
        for path in FLOWS
        for step in definition(path).steps
        if path.stem in STATUTORY
    }
    missing = {
        key: basis
        for key, basis in cited.items()
        if key[1] in STATUTORY[key[0]] and not any(ARTICLE.search(part) for part in basis.split("；"))
    }
    assert missing == {}, missing


# Steps whose basis is a national law with numbered articles (社会救助暂行办法, 土地管理法,
# 村民委员会组织法, 民法典…); the others rest on documents without articles or on county rules.
STATUTORY = {
    "four_deliberations": {
        "review",
        "resolve",
        "disclose_resolution",
        "supervise_resolution",
        "implement",
        "disclose_result",
        "supervise_result",
    },
    "subsistence_aid": {
        "accept_application",
        "town_survey",
        "democratic_review",
        "town_opinion",
        "posting",
        "county_approval",
        "publish_result",
        "issue_refusal",
    },
    "homestead": {
        "accept_application",
        "group_meeting",
        "village_review",
        "site_survey",
        "town_review",
        "completion_inspection",
        "publish_result",
    },
    "asset_lease": {"draft_plan", "approve_plan", "draft_contract", "sign_contract", "publish_contract"},
    "lost_work_allowance": {"propose", "resolve", "disclose_resolution"},
    "seal_use": {"request_seal", "head_approval"},
    "complaint": {"triage", "handle_village"},
    "rectification": {"check"},
}
