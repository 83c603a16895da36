"""``get_step_context()``: what a running step knows about itself, and what it logs.

A step runs anywhere (this process, a Dask worker) from its task alone, with no
metadata-store connection. So the context answers from the task (the run, the
step run, the inputs, the outputs' plans) and collects what the step logs
(metadata, tags) in a :class:`StepLog`, which travels back in the step's
result; the driver records it with the step's outputs.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.errors import StepContextError
from zen_core.metadata.metadata_types import check_metadata, check_tags, merge_entries

if TYPE_CHECKING:
    from zen_core.execution.task import OutputPlan, StepTask
    from zen_core.materializers.base import Materializer
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.metadata.log import Target
    from zen_core.records import ArtifactVersion, PipelineRun, StepRun

__all__ = ["StepContext", "StepLog", "get_step_context"]

_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "zen_step_context", default=None)


def get_step_context() -> StepContext:
    """The context of the step running now; a ``StepContextError`` (a ``RuntimeError``)
    outside a running step."""
    context = _current.get()
    if context is None:
        raise StepContextError(
            "get_step_context() was called outside a running step: the step context exists "
            "only while a @step function runs inside a pipeline. Fix: call it in the body of "
            "a step; after a run, read the run with Client().get_pipeline_run(...).")
    return context


def current_step_context() -> StepContext | None:
    """The running step's context, or ``None`` outside a step."""
    return _current.get()


@attrs.define
class StepLog:
    """What a step logged through its context: carried back in its ``StepResult``.

    ``step_metadata`` and ``output_metadata`` keep the ``(key, value)`` entries in the
    order logged; ``output_tags`` holds the whole tag list of each output whose tags the
    step changed; ``elsewhere`` the ``(action, target, payload)`` writes aimed at other
    runs, steps or artifact versions, which the driver resolves and records.
    """

    step_metadata: list[tuple[str, Any]] = attrs.field(factory=list)
    output_metadata: dict[str, list[tuple[str, Any]]] = attrs.field(factory=dict)
    output_tags: dict[str, list[str]] = attrs.field(factory=dict)
    elsewhere: list[tuple[str, Target, Any]] = attrs.field(factory=list)

    def __bool__(self) -> bool:
        return bool(self.step_metadata or self.output_metadata or self.output_tags
                    or self.elsewhere)

    def tags_of(self, plan: OutputPlan) -> Sequence[str]:
        return self.output_tags.get(plan.io_name, plan.tags)

    def metadata_of(self, plan: OutputPlan) -> dict[str, Any]:
        """The output's run metadata: what the step logged, then its ``ArtifactConfig``'s
        (which wins a clash, as in ZenML)."""
        return merge_entries([*self.output_metadata.get(plan.io_name, ()),
                              *plan.run_metadata.items()])


class StepContext:
    """The running step: ``pipeline_run``, ``step_run``, ``step_name``, ``inputs``, and its
    outputs' metadata, tags, staging folders and materializers."""

    # one per step run, cheap to make: no __dict__, and nothing more until the step asks
    __slots__ = ("_task", "_registry", "_logged", "_staging", "_token")

    def __init__(self, task: StepTask, registry: MaterializerRegistry) -> None:
        self._task = task
        self._registry = registry
        self._logged: StepLog | None = None
        self._staging: dict[str, str] | None = None  # io_name -> staging folder handed out

    @property
    def pipeline_run(self) -> PipelineRun:
        """The run this step belongs to (as recorded when the step started)."""
        return self._task.pipeline_run

    @property
    def step_run(self) -> StepRun:
        """This step's run record (status ``running``)."""
        return self._task.step_run

    @property
    def step_name(self) -> str:
        """The step's invocation id in the pipeline (``trainer``, ``trainer_2`` ...)."""
        return self._task.invocation_id

    @property
    def inputs(self) -> dict[str, ArtifactVersion]:
        """``{input name: ArtifactVersion}`` of the artifacts this step received."""
        return dict(self._task.inputs)

    # -- outputs ----------------------------------------------------------------------

    def _output(self, output_name: str | None) -> OutputPlan:
        plans = self._task.outputs
        names = ", ".join(repr(p.key) for p in plans)
        if not plans:
            raise StepContextError(
                f"step {self.step_name!r} has no outputs, so there is no output "
                f"{output_name or ''!r} to use. Fix: annotate the step's return type.",
                step=self.step_name, output=output_name)
        if output_name is None:
            if len(plans) > 1:
                raise StepContextError(
                    f"step {self.step_name!r} has several outputs ({names}): say which one "
                    f"with output_name=.", step=self.step_name)
            return plans[0]
        for plan in plans:
            if output_name in (plan.key, plan.io_name, plan.artifact_name):
                return plan
        raise StepContextError(
            f"step {self.step_name!r} has no output {output_name!r}; its outputs are {names}. "
            f"Fix: pass one of these as output_name=.", step=self.step_name, output=output_name)

    def output_names(self) -> list[str]:
        """The names of this step's outputs (as ``StepRun.outputs`` will key them)."""
        return [p.key for p in self._task.outputs]

    def add_output_metadata(self, metadata: dict[str, Any], output_name: str | None = None
                            ) -> None:
        """Record ``metadata`` with an output's artifact version (the only output when
        ``output_name`` is not given)."""
        plan = self._output(output_name)
        values = check_metadata(metadata, f"step {self.step_name!r}: ")
        self._log().output_metadata.setdefault(plan.io_name, []).extend(values.items())

    def get_output_metadata(self, output_name: str | None = None) -> dict[str, Any]:
        """The metadata the output will be recorded with so far."""
        return self._log().metadata_of(self._output(output_name))

    def add_output_tags(self, tags: Sequence[str], output_name: str | None = None) -> None:
        """Attach ``tags`` to an output's artifact version."""
        plan = self._output(output_name)
        current = self._log().output_tags.setdefault(plan.io_name, list(plan.tags))
        current.extend(t for t in check_tags(tags) if t not in current)

    def remove_output_tags(self, tags: Sequence[str], output_name: str | None = None) -> None:
        """Take ``tags`` off an output (those of its ``ArtifactConfig`` included)."""
        plan = self._output(output_name)
        removed = set(check_tags(tags))
        log = self._log()
        current = log.output_tags.get(plan.io_name, list(plan.tags))
        log.output_tags[plan.io_name] = [t for t in current if t not in removed]

    def get_output_tags(self, output_name: str | None = None) -> list[str]:
        """The tags the output will be recorded with so far."""
        return list(self._log().tags_of(self._output(output_name)))

    def get_output_artifact_uri(self, output_name: str | None = None) -> str:
        """A folder for the output's files: what the step writes there is hashed and
        published with the output's data under its content address, so the final
        ``ArtifactVersion.uri`` differs from this staging folder (unlike ZenML)."""
        return self._staging_for(self._output(output_name))

    def get_output_materializer(self, output_name: str | None = None,
                                custom_materializer_class: type[Materializer] | None = None,
                                data_type: type | None = None) -> Materializer:
        """A materializer for an output, writing into its staging folder."""
        plan = self._output(output_name)
        task = self._task
        if custom_materializer_class is not None:
            mat_cls = custom_materializer_class
        elif plan.materializer is not None:
            mat_cls = self._registry.by_name(plan.materializer)
        elif data_type is not None:
            mat_cls = self._registry.for_type(data_type, allow_pickle=task.allow_pickle)
        else:
            raise StepContextError(
                f"step {self.step_name!r}, output {plan.key!r}: its materializer is chosen by "
                f"the type of the value the step returns, which is not known yet. Fix: "
                f"annotate the output's type, or pass data_type= or "
                f"custom_materializer_class=.", step=self.step_name, output=plan.key)
        return mat_cls(self._staging_for(plan), task.artifact_store,
                       allow_pickle=task.allow_pickle, label=repr(plan.artifact_name))

    # -- for the step's executor ------------------------------------------------------------

    def _staging_for(self, plan: OutputPlan) -> str:
        if self._staging is None:
            self._staging = {}
        uri = self._staging.get(plan.io_name)
        if uri is None:
            store = self._task.artifact_store
            uri = store.new_staging_uri()
            store.makedirs(uri)
            self._staging[plan.io_name] = uri
        return uri

    def _take_staging(self, plan: OutputPlan) -> str | None:
        """The staging folder handed out for ``plan``'s output, if any (now the output's)."""
        return None if self._staging is None else self._staging.pop(plan.io_name, None)

    def _discard_staging(self) -> None:
        """Remove the staging folders no output took (the step failed, or returned none)."""
        staging, self._staging = self._staging or {}, None
        for uri in staging.values():
            try:
                self._task.artifact_store.discard_staging(uri)
            except Exception:  # leftover staging is removed by `zen artifact prune`
                pass

    def _log(self) -> StepLog:
        if self._logged is None:
            self._logged = StepLog()
        return self._logged

    def _defer(self, action: str, target: Target, payload: Any) -> None:
        self._log().elsewhere.append((action, target, payload))

    def _log_step_metadata(self, values: dict[str, Any]) -> None:
        self._log().step_metadata.extend(values.items())

    def __enter__(self) -> StepContext:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(self._token)
