"""A matter driven step by step through the engine by the demo holders of each step, for the tests
of one flow's rules (meetings, 小型工程, 四议两公开)."""

from __future__ import annotations

from typing import Any, Self

import pytest

from engine import api, queries
from engine.errors import FormInvalid, PermissionDenied
from tests.processes.test_flow_paths import Library, actor, complete_with_every_file, open_tasks
from tests.support import files


class StepDriver:
    """One matter of flow ``key`` in ``village``, started by the holder of ``starter``. A subclass
    may give ``lawful(step)``: the data a step is done with when none is given."""

    def __init__(self, lib: Library, key: str, starter: str, title: str, village: str = "QX0101"):
        self.lib, self.key, self.village = lib, key, village
        with lib.sessions() as session, session.begin():
            self.id = api.start(session, key, village, actor(starter, village), {}, title).instance_id

    def lawful(self, step: str) -> dict[str, Any]:
        raise NotImplementedError(f"no lawful data for {step}: give it")

    def task(self):
        (task,) = open_tasks(self.lib.sessions, self.id)
        return task

    def steps(self) -> list[str]:
        return [t.step_id for t in open_tasks(self.lib.sessions, self.id)]

    def done(self, step: str, data: dict | None = None, by: str | None = None) -> Self:
        """Do the open ``step`` with ``data`` (and a sample file in every slot)."""
        task = self.task()
        assert task.step_id == step
        with self.lib.sessions() as session, session.begin():
            doer = by or actor(task.role, self.village)
            complete_with_every_file(session, task.id, doer, self.lawful(step) if data is None else data)
        return self

    def refused(self, step: str, data: dict, by: str | None = None) -> list[tuple[str, str]]:
        """The (field, message) pairs a submission of ``data`` is refused with; the step stays open."""
        task = self.task()
        assert task.step_id == step
        with pytest.raises(FormInvalid) as refusal:
            with self.lib.sessions() as session, session.begin():
                files.complete(session, task.id, by or actor(task.role, self.village), data)
        assert self.task().id == task.id
        return [(e.field, e.message) for e in refusal.value.errors]

    def denied(self, step: str, by: str, data: dict | None = None) -> PermissionDenied:
        task = self.task()
        assert task.step_id == step
        with pytest.raises(PermissionDenied) as refusal:
            with self.lib.sessions() as session, session.begin():
                files.complete(session, task.id, by, self.lawful(step) if data is None else data)
        assert self.task().id == task.id
        return refusal.value

    def status(self) -> str:
        with self.lib.sessions() as session:
            return queries.instance(session, self.id).status

    def ended_at(self) -> list[str]:
        with self.lib.sessions() as session:
            events = queries.history(session, self.id)
        return [e.data["end"] for e in events if e.kind == "instance_ended"]


def refused_on(errors: list[tuple[str, str]], field: str, *words: str) -> bool:
    """Whether one of the refusal's errors names ``field`` with all of ``words``."""
    return any(f == field and all(w in m for w in words) for f, m in errors)
