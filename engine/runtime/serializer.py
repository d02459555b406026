"""Workflow state without its process definition.

SpiffWorkflow's serializer writes the whole spec into every instance (about half of its size).
Here the spec is serialized once per definition version and restored once per process; instance
state holds only tasks and data, compressed.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

STATE_FORMAT = 1  # bump with a migration note when the stored layout changes


class SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the specs out of ``to_dict`` and takes restored spec objects in ``from_dict``."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec = dct.pop("spec")
        subprocess_specs = dct.pop("subprocess_specs", {})
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_spec_registry = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)
_spec_serializer = BpmnWorkflowSerializer(_spec_registry)

_state_config = dict(DEFAULT_CONFIG)
_state_config[BpmnWorkflow] = SharedSpecWorkflowConverter
_state_registry = BpmnWorkflowSerializer.configure(_state_config)


def dump_specs(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "serializer_version": _spec_serializer.VERSION,
            "spec": _spec_registry.convert(spec),
            "subprocess_specs": {k: _spec_registry.convert(v) for k, v in subprocess_specs.items()},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def load_specs(text: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(text)
    spec = _spec_registry.restore(dct["spec"])
    subprocess_specs = {k: _spec_registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


def dump_state(workflow: BpmnWorkflow) -> bytes:
    dct = _state_registry.convert(workflow)
    dct["serializer_version"] = _spec_serializer.VERSION
    dct["state_format"] = STATE_FORMAT
    text = json.dumps(dct, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode(), 1)


def load_state(blob: bytes, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
    """Restore an instance; ``script_engine`` is required so no instance ever runs Spiff's eval-based default."""
    dct = json.loads(zlib.decompress(blob))
    dct.pop("state_format", None)
    version = dct.pop("serializer_version", None)
    if version in MIGRATIONS:
        MIGRATIONS[version](dct)
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow = _state_registry.restore(dct)
    workflow.script_engine = script_engine
    return workflow
