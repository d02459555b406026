"""低保 posting follows the town's review opinion (《社会救助暂行办法》第十一条第（二）项).

The town investigates (入户调查、民主评议) and gives its opinion; that opinion is posted in the
applicant's village, and only after the posting does the county approve. The order holds on every
path of the diagram and of the examples, and a posting dated before the opinion is refused; its
lawful twin goes through. Driven through engine.api by the demo users, like the example paths.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from engine import api
from engine.errors import FormInvalid
from tests.processes.test_flow_paths import (
    Library,
    actor,
    complete_with_every_file,
    examples,
    graph,
    library,  # noqa: F401  (the module's database fixture)
    open_tasks,
)
from tests.support import files

KEY = "subsistence_aid"
VILLAGE = "QX0101"

# (step, the step that must come before it on every path that reaches it)
ORDER = [
    ("town_opinion", "democratic_review"),  # the town's opinion weighs the democratic review
    ("posting", "town_opinion"),  # the village posts the town's opinion
    ("county_approval", "posting"),  # the county approves after the posting
    ("publish_result", "county_approval"),  # the village publishes the county's approval
]


def reachable_without(skip: str) -> set[str]:
    """The nodes reachable from the start event when ``skip`` is taken out of the diagram."""
    flow = graph(KEY)
    (start,) = flow.of_kind("startEvent")
    seen, todo = {start.id}, [start.id]
    while todo:
        for edge in flow.outgoing(todo.pop()):
            if edge.target != skip and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


@pytest.mark.parametrize(("step", "before"), ORDER, ids=[f"{b}-before-{s}" for s, b in ORDER])
def test_every_path_of_the_diagram_passes_the_earlier_step_first(step: str, before: str) -> None:
    assert step in reachable_without(""), f"{step} is not reachable at all"
    assert step not in reachable_without(before), f"a path reaches {step} without passing {before}"


def positions(steps: Iterable[str], name: str) -> list[int]:
    return [i for i, s in enumerate(steps) if s == name]


@pytest.mark.parametrize("name", list(examples(KEY)))
def test_every_example_posts_the_opinion_after_the_town_gave_it(name: str) -> None:
    steps = [s.step for s in examples(KEY)[name].steps]
    for step, before in ORDER:
        for at in positions(steps, step):
            assert positions(steps, before) and min(positions(steps, before)) < at, (
                f"{name}: {step} (at {at}) before {before} in {steps}"
            )


def lawful(step: str) -> dict:
    return dict(next(s.data for s in examples(KEY)["approved"].steps if s.step == step))


def run_to_posting(lib: Library, title: str) -> int:
    with lib.sessions() as session, session.begin():
        instance = api.start(session, KEY, VILLAGE, actor("cadre", VILLAGE), {}, title).instance_id
    for step in ("accept_application", "town_survey", "democratic_review"):
        (task,) = open_tasks(lib.sessions, instance)
        assert task.step_id == step
        with lib.sessions() as session, session.begin():
            complete_with_every_file(session, task.id, actor(task.role, VILLAGE), lawful(step))
    (task,) = open_tasks(lib.sessions, instance)
    assert task.step_id == "town_opinion", "the village posted before the town gave its opinion"
    with lib.sessions() as session, session.begin():
        complete_with_every_file(session, task.id, actor(task.role, VILLAGE), lawful("town_opinion"))
    return instance


def test_a_posting_dated_before_the_town_opinion_is_refused(library: Library) -> None:  # noqa: F811
    instance = run_to_posting(library, "周某低保：审核意见提出前就公示")
    (task,) = open_tasks(library.sessions, instance)
    assert task.step_id == "posting"
    early = {**lawful("posting"), "posting_start": "2025-03-10", "posting_end": "2025-03-17"}  # opinion of 03-11
    with pytest.raises(FormInvalid) as refused:
        with library.sessions() as session, session.begin():
            files.complete(session, task.id, actor(task.role, VILLAGE), early)
    errors = [(e.field, e.message) for e in refused.value.errors]
    assert any(f == "posting_start" and "《社会救助暂行办法》第十一条" in m for f, m in errors), errors
    assert [t.id for t in open_tasks(library.sessions, instance)] == [task.id]


def test_the_county_cannot_approve_before_the_posting_ends(library: Library) -> None:  # noqa: F811
    instance = run_to_posting(library, "周某低保：公示期未满就审批")
    (posting,) = open_tasks(library.sessions, instance)
    with library.sessions() as session, session.begin():
        complete_with_every_file(session, posting.id, actor(posting.role, VILLAGE), lawful("posting"))
    (task,) = open_tasks(library.sessions, instance)
    assert task.step_id == "county_approval"
    with pytest.raises(FormInvalid) as refused:
        with library.sessions() as session, session.begin():
            files.complete(
                session, task.id, actor(task.role, VILLAGE), {**lawful("county_approval"), "decided_on": "2025-03-18"}
            )
    assert any(e.field == "decided_on" for e in refused.value.errors), refused.value.errors
    # the lawful twin: the posting (3-12 to 3-19) is over, the county approves, the result is published
    with library.sessions() as session, session.begin():
        complete_with_every_file(session, task.id, actor(task.role, VILLAGE), lawful("county_approval"))
    assert [t.step_id for t in open_tasks(library.sessions, instance)] == ["publish_result"]


def test_the_posting_opinion_in_order_goes_through(library: Library) -> None:  # noqa: F811
    instance = run_to_posting(library, "周某低保：审核意见公示")
    (task,) = open_tasks(library.sessions, instance)
    with library.sessions() as session, session.begin():
        complete_with_every_file(session, task.id, actor(task.role, VILLAGE), lawful("posting"))
    assert [t.step_id for t in open_tasks(library.sessions, instance)] == ["county_approval"]
