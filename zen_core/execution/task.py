"""Executing one step: load inputs, call the function, store outputs.

:func:`execute_step` needs only its :class:`StepTask` — no metadata store —
so any orchestrator can run it in another process or on another machine and
send the :class:`StepResult` back to the driver, which records it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.artifacts.data import StoredData, load_data, save_data
from zen_core.artifacts.unmaterialized_artifact import UnmaterializedArtifact, is_unmaterialized
from zen_core.errors import StepTypeError
from zen_core.execution.handoff import can_hand_off
from zen_core.materializers.registry import get_registry
from zen_core.metadata.metadata_types import NO_METADATA
from zen_core.records import ArtifactVersion, PipelineRun, StepRun, loaded_in_step
from zen_core.signatures import conform, type_name
from zen_core.steps.step_context import StepContext, StepLog

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore
    from zen_core.execution.compose import InputGroup
    from zen_core.steps import Step


@attrs.frozen
class OutputPlan:
    io_name: str  # the output's name (template) in the step's signature
    artifact_name: str  # resolved
    key: str  # how StepRun.outputs names it: the resolved name, or output/output_N
    annotation: Any
    materializer: str | None  # qualified name; None = by the value's type at run time
    version: str | None = None  # pinned by ArtifactConfig
    tags: tuple[str, ...] = ()
    run_metadata: Mapping[str, Any] = attrs.field(default=NO_METADATA, hash=False)  # ArtifactConfig's
    artifact_type: str | None = None  # ArtifactConfig's, instead of the materializer's


@attrs.frozen
class StepTask:
    step: Step
    invocation_id: str
    step_run_id: str
    params: Mapping[str, Any]
    inputs: Mapping[str, ArtifactVersion]
    outputs: tuple[OutputPlan, ...]
    unannotated_return: bool
    artifact_store: ArtifactStore
    allow_pickle: bool
    materializer_overrides: Mapping[str, str]
    trusted_modules: tuple[str, ...] = ()
    groups: Mapping[str, InputGroup] = attrs.field(factory=dict)  # inputs given as a collection
    pipeline_run: PipelineRun | None = None  # for the step context, as it was recorded
    step_run: StepRun | None = None
    # inputs the producing step handed over in memory (see execution.handoff): by input name
    values: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StepResult:
    outputs: tuple[tuple[OutputPlan, StoredData], ...]
    loaded: tuple[str, ...]  # ids of artifact versions the step loaded itself
    started: float
    finished: float
    log: StepLog | None = None  # metadata and tags the step logged, for the driver to record
    values: Mapping[str, Any] = attrs.field(factory=dict)  # io_name -> value (execution.handoff)


def execute_step(task: StepTask) -> StepResult:
    registry = get_registry(task.materializer_overrides, trusted_modules=task.trusted_modules)
    store = task.artifact_store
    step = task.step
    kwargs = dict(task.params)
    elements: dict[str, Any] = {}  # of inputs given as a list, tuple or dict of artifacts
    for name, av in task.inputs.items():
        expected = step.signature.annotations.get(name)
        if is_unmaterialized(expected):
            kwargs[name] = UnmaterializedArtifact.of(av)
            continue
        if name in task.values:
            value = task.values[name]
        else:
            value = load_data(store, registry, uri=av.uri, materializer=av.materializer,
                              type_path=av.type, files=av.files,
                              allow_pickle=task.allow_pickle, label=av.label,
                              content_hash=av.content_hash)
        if task.groups and name not in step.signature.parameters:
            elements[name] = value
            continue
        kwargs[name] = _conformed(task, name, value, f"artifact {av.label} loads as")
    for name, group in task.groups.items():
        kwargs[name] = _conformed(task, name, group.assemble(name, elements),
                                  "its artifacts load as a")
    del elements

    started = time.time()
    loaded: list[str] = []
    context = StepContext(task, registry)
    token = loaded_in_step.set(loaded)
    try:
        with context:
            returned = step.func(**kwargs)
        del kwargs  # let inputs be freed before outputs are written

        plans = task.outputs
        if task.unannotated_return and returned is None and len(plans) == 1:
            plans = ()
        values = _split(task, plans, returned)
        stored = []
        handed: dict[str, Any] = {}
        for plan, value in zip(plans, values):
            matches, value = conform(value, plan.annotation)
            if not matches:
                raise StepTypeError(
                    f"step {task.invocation_id!r}, output {plan.io_name!r}: expected "
                    f"{type_name(plan.annotation)}, got {type_name(type(value))}.",
                    step=task.invocation_id, output=plan.io_name,
                )
            mat = (registry.by_name(plan.materializer) if plan.materializer
                   else registry.for_type(type(value), allow_pickle=task.allow_pickle))
            label = (f"{plan.artifact_name!r} (step {task.invocation_id!r}, output "
                     f"{plan.io_name!r})")
            stored.append((plan, save_data(store, mat, value, allow_pickle=task.allow_pickle,
                                           label=label, staging=context._take_staging(plan))))
            if can_hand_off(value, mat):
                handed[plan.io_name] = value
    finally:
        loaded_in_step.reset(token)
        if context._staging:
            context._discard_staging()
    return StepResult(tuple(stored), tuple(dict.fromkeys(loaded)), started, time.time(),
                      context._logged, handed)


def _conformed(task: StepTask, name: str, value: Any, loads_as: str) -> Any:
    """The input as the step receives it: checked against its annotation (outer type)."""
    expected = task.step.signature.annotations.get(name)
    matches, value = conform(value, expected)
    if not matches:
        raise StepTypeError(
            f"step {task.invocation_id!r}, input {name!r}: expected {type_name(expected)}, "
            f"but {loads_as} {type_name(type(value))}.", step=task.invocation_id, argument=name)
    return value


def _split(task: StepTask, plans: tuple[OutputPlan, ...], returned: Any) -> tuple[Any, ...]:
    if len(plans) == 0:
        return ()
    if len(plans) == 1:
        return (returned,)
    if not isinstance(returned, tuple | list) or len(returned) != len(plans):
        got = (f"{len(returned)} values" if isinstance(returned, tuple | list)
               else f"one {type_name(type(returned))}")
        raise StepTypeError(
            f"step {task.invocation_id!r} declares {len(plans)} outputs "
            f"({', '.join(p.io_name for p in plans)}) but returned {got}. Fix: return a tuple "
            f"with one value per output, or annotate a single tuple output.",
            step=task.invocation_id,
        )
    return tuple(returned)
