"""Driving one pipeline run: cache checks, recording and lineage, in the submitting process.

The orchestrator decides where steps execute; the driver decides whether a
step needs to run (cache), what it receives, and records what it produced.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zen_core import leases
from zen_core.artifacts.data import StoredData, abandon, settle
from zen_core.errors import (
    ArtifactVersionExistsError,
    CompositionError,
    ConfigError,
    RunNameTakenError,
    ZenError,
)
from zen_core.execution.cache import StepCache, digest
from zen_core.execution.compose import Invocation, compose
from zen_core.execution.task import OutputPlan, StepResult, StepTask
from zen_core.logger import get_logger
from zen_core.materializers.base import qualified_name
from zen_core.materializers.registry import import_object
from zen_core.metadata_stores.base import NewArtifactVersion
from zen_core.naming import resolve_name, validate_name
from zen_core.plugins import notify
from zen_core.progress import track
from zen_core.records import ArtifactVersion, ExecutionStatus, PipelineRun, StepRun, new_id
from zen_core.run_context import RunContext
from zen_core.signatures import materializer_type

if TYPE_CHECKING:
    from zen_core.pipelines import Pipeline


def run_pipeline(pipeline: Pipeline, args: tuple, kwargs: Mapping[str, Any]) -> PipelineRun:
    context = RunContext.create()
    params = _json_params(pipeline, args, kwargs)  # refuses wrong arguments before composing
    composer = compose(pipeline, args, kwargs)
    return RunDriver(pipeline, composer.invocations, params, context).run()


def _json_params(pipeline: Pipeline, args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    import inspect

    try:
        bound = inspect.signature(pipeline.func).bind(*args, **kwargs)
    except TypeError as exc:
        raise CompositionError(f"pipeline {pipeline.name!r}: {exc}", pipeline=pipeline.name) from None
    bound.apply_defaults()
    params = {}
    for name, value in bound.arguments.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = repr(value)
        params[name] = value
    return params


_NAME_ATTEMPTS = 20  # names tried for one run before the store's refusal is final


SETTLE_BYTES = 256 << 20  # staging copies of reused outputs kept at most this long in a run


class RunDriver:
    """Prepares, records and finishes the steps of one run (see orchestrators.base)."""

    def __init__(self, pipeline: Pipeline, invocations: Mapping[str, Invocation],
                 params: dict[str, Any], context: RunContext) -> None:
        self.pipeline = pipeline
        self.invocations = invocations
        self.nodes: list[Invocation] = list(invocations.values())  # already topological
        self.context = context
        self.stack = context.stack
        self.config = context.config
        self.registry = context.registry
        self.store = self.stack.metadata_store
        self.cache = StepCache(self.store, self.stack.artifact_store, self.registry)
        self.plugins = context.plugin_manager
        self.log = get_logger()
        now = time.time()
        stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y_%m_%d-%H_%M_%S_%f")
        self.run_record = PipelineRun(
            id=new_id(), name=f"{pipeline.name}-{stamp}", pipeline_name=pipeline.name,
            status=ExecutionStatus.RUNNING, created=now, finished=None, params=params, error=None)
        self._outputs: dict[tuple[str, str], ArtifactVersion] = {}
        self._step_runs: dict[str, StepRun] = {}
        self._staged: dict[str, tuple[StepResult, list[tuple[OutputPlan, NewArtifactVersion]]]] = {}
        self.failures: list[tuple[str, BaseException]] = []
        self._unsettled: list[StoredData] = []  # recorded outputs that kept a staging copy
        self.progress = track(self)  # a live line on a terminal (zen_core.progress), else no-op

    # -- the run -----------------------------------------------------------------

    def run(self) -> PipelineRun:
        self._check_stack()
        leases.reap(self.store, self.config)  # runs whose process died are failed first
        self._create_run()
        leases.keeper.hold(self.store, self.run_record.id, self.config)
        self.log.info("run.started", pipeline=self.pipeline.name, run=self.run_record.name,
                      steps=len(self.nodes))
        orchestrator = self.stack.orchestrator
        try:
            with self.progress:
                orchestrator.run(self)
            unfinished = self._unfinished()
            if unfinished:
                raise ZenError(
                    f"orchestrator {orchestrator.FLAVOR!r} returned before step(s) "
                    f"{', '.join(repr(s.name) for s in unfinished)} finished: it must hand "
                    f"each prepared step to driver.complete or driver.fail. Fix the "
                    f"orchestrator, or use another one.", orchestrator=orchestrator.FLAVOR)
        except BaseException as exc:
            leases.keeper.release(self.run_record.id)
            self._fail_unfinished(exc)
            self.store.finish_run(self.run_record.id, ExecutionStatus.FAILED, time.time(),
                                  error=f"{type(exc).__name__}: {exc}")
            try:
                self._settle()  # the outputs recorded before the failure stay visible
            except Exception as settle_exc:  # the run's own error is the one to raise
                self.log.error("run.settle_failed", error=str(settle_exc))
            if self.failures:  # the step's own line already gave the error: name it only
                self.log.error("run.failed", run=self.run_record.name,
                               failed_step=self.failures[0][0])
            else:
                self.log.error("run.failed", run=self.run_record.name,
                               error=f"{type(exc).__name__}: {exc}")
            raise
        leases.keeper.release(self.run_record.id)
        finished = time.time()
        self.store.finish_run(self.run_record.id, ExecutionStatus.COMPLETED, finished)
        self._settle()
        self.log.info("run.finished", run=self.run_record.name,
                      duration=f"{finished - self.run_record.created:.3f}s")
        from zen_core.client import Client

        client = Client._for_context(self.context)
        return client.get_pipeline_run(self.run_record.id)

    def _check_stack(self) -> None:
        """Refuse, before anything is recorded, a stack whose parts cannot work together."""
        store, orchestrator = self.stack.artifact_store, self.stack.orchestrator
        if store.PROCESS_LOCAL and orchestrator.RUNS_OUT_OF_PROCESS:
            raise ConfigError(
                f"stack {self.stack.name!r}: artifact store {store.FLAVOR!r} ({store.path!r}) "
                f"keeps its data in this process only, but orchestrator "
                f"{orchestrator.FLAVOR!r} runs steps in other processes, which would not see "
                f"it. Fix: give the stack an artifact store other processes reach (e.g. "
                f"'local', 's3', 'gcs'), or an orchestrator that runs steps in this process "
                f"(e.g. 'local').", stack=self.stack.name, artifact_store=store.FLAVOR,
                orchestrator=orchestrator.FLAVOR)

    def _unfinished(self) -> list[StepRun]:
        return [s for s in self._step_runs.values() if s.status == ExecutionStatus.RUNNING]

    def _fail_unfinished(self, exc: BaseException) -> None:
        """Steps recorded as running that the orchestrator never finished (a ``prepare``
        that raised, an interruption) become failed: none stays ``running`` forever."""
        for step_run in self._unfinished():
            text = f"the run ended before this step finished: {type(exc).__name__}: {exc}"
            self.store.fail_step_run(step_run.id, text, time.time())
            step_run.status = ExecutionStatus.FAILED
            step_run.error = text

    def _create_run(self) -> None:
        """Record the run under a name no other run has: processes that start runs of one
        pipeline in the same microsecond get ``-2``, ``-3``... after the time stamp."""
        base = self.run_record.name
        for name in [base, *(f"{base}-{n}" for n in range(2, _NAME_ATTEMPTS + 1))]:
            self.run_record.name = name
            try:
                self.store.create_run(self.run_record, leases.new_lease(self.config))
                return
            except RunNameTakenError as exc:
                taken = exc
        raise taken

    # -- per step --------------------------------------------------------------------

    def prepare(self, node: Invocation) -> StepTask | None:
        """Record the step as cached (returns ``None``) or as running (returns its task)."""
        inputs = self._inputs(node)
        now = dt.datetime.now(dt.UTC)
        plans, used_subs = [], {}
        for spec in node.outputs:
            where = f"pipeline {self.pipeline.name!r}, step {node.id!r}"
            if spec.named:
                name, used = resolve_name(spec.name, node.substitutions, now, where)
            else:
                name, used = validate_name(f"{self.pipeline.name}::{node.id}::{spec.name}"), {}
            used_subs.update(used)
            config = spec.config
            plans.append(OutputPlan(
                spec.name, name, name if spec.named else spec.name, spec.annotation,
                self._static_materializer(node, spec), config.version if config else None,
                tuple(config.tags) if config else ()))
        parts = self.cache.key_parts(node, inputs, plans, used_subs)
        cache_key = digest(parts)
        step_run = StepRun(
            id=new_id(), run_id=self.run_record.id, name=node.id, step_name=node.step.name,
            pipeline_name=self.pipeline.name, status=ExecutionStatus.RUNNING, params=node.params,
            cache_key=cache_key, cache_miss=None, started=time.time(), finished=None, error=None,
            original_step_run_id=None)
        input_ids = {name: av.id for name, av in inputs.items()}

        if node.enable_cache:
            hit = self.cache.hit(cache_key, plans)
            if hit is not None:
                original, outputs = hit
                step_run.status = ExecutionStatus.CACHED
                step_run.finished = step_run.started
                step_run.original_step_run_id = original.id
                with self.store.transaction(group=True):
                    self.store.create_step_run(step_run, input_ids, parts,
                                               {key: av.id for key, av in outputs.items()})
                for plan in plans:
                    self._outputs[(node.id, plan.io_name)] = outputs[plan.key]
                self._step_runs[node.id] = step_run
                self.log.info("step.cached", step=node.id, original_run=original.run_id)
                notify(self.plugins, "zen_after_step_run", step_run=step_run)
                return None
            step_run.cache_miss = self.cache.miss_reason(self.pipeline.name, node.id, parts,
                                                         cache_key)
        else:
            step_run.cache_miss = "caching disabled"

        for plan in plans:
            if plan.version is not None and self.store.version_taken(plan.artifact_name,
                                                                     plan.version):
                raise ArtifactVersionExistsError.taken(plan.artifact_name, plan.version,
                                                       where=f"step {node.id!r}: ")
        with self.store.transaction(group=True):
            self.store.create_step_run(step_run, input_ids, parts)
        self._step_runs[node.id] = step_run
        notify(self.plugins, "zen_before_step_run", step_run=step_run)
        self.log.debug("step.started", step=node.id, reason=step_run.cache_miss)
        return StepTask(
            step=node.step, invocation_id=node.id, step_run_id=step_run.id, params=node.params,
            inputs={name: _detached(av) for name, av in inputs.items()}, outputs=tuple(plans),
            unannotated_return=node.step.signature.unannotated_return,
            artifact_store=self.progress.store(self.stack.artifact_store),
            allow_pickle=self.config.allow_pickle,
            materializer_overrides=dict(self.config.materializers),
            trusted_modules=self.config.trusted_modules,
        )

    def complete(self, node: Invocation, result: StepResult) -> None:
        """Record a finished step: ``stage`` then ``record``."""
        self.stage(node, result)
        self.record(node)

    def stage(self, node: Invocation, result: StepResult) -> None:
        """Hand a finished step's outputs to the steps after it, before they are recorded.

        An orchestrator may submit those steps first and ``record`` this one while they
        run; the outputs keep the ids they are recorded with, so lineage links hold.
        """
        step_run = self._step_runs[node.id]
        news = [(plan, NewArtifactVersion(
            name=plan.artifact_name, data=stored, version=plan.version, tags=plan.tags,
            origin="step", producer_step_run_id=step_run.id, run_id=self.run_record.id))
            for plan, stored in result.outputs]
        for plan, new in news:
            self._outputs[(node.id, plan.io_name)] = new.preview()
        self._staged[node.id] = (result, news)

    def record(self, node: Invocation) -> None:
        """Write a staged step's outputs and completion (one grouped transaction)."""
        result, news = self._staged.pop(node.id)
        step_run = self._step_runs[node.id]
        loaded = {f"loaded:{av_id}": av_id for av_id in result.loaded}
        try:
            with self.store.transaction(group=True):
                created = self.store.complete_step_run(
                    step_run.id, outputs=[(plan.key, new) for plan, new in news],
                    extra_inputs=loaded, finished=result.finished)
        except BaseException:
            for _, stored in result.outputs:
                abandon(self.stack.artifact_store, stored)
            raise
        # Outputs that reused stored objects are confirmed once others can count them:
        # at the end of the run (a flush per step would undo group commit), or sooner
        # when their staging copies grow large.
        self._unsettled += [stored for _, stored in result.outputs if stored.staging is not None]
        if sum(stored.size for stored in self._unsettled) > SETTLE_BYTES:
            self._settle()
        for (plan, _), av in zip(news, created):
            self._outputs[(node.id, plan.io_name)] = av
            notify(self.plugins, "zen_after_artifact_saved", artifact_version=av)
        step_run.status = ExecutionStatus.COMPLETED
        step_run.finished = result.finished
        notify(self.plugins, "zen_after_step_run", step_run=step_run)
        self.log.info("step.completed", step=node.id,
                      duration=f"{(result.finished - result.started) * 1000:.1f}ms",
                      outputs=len(created))

    def _settle(self) -> None:
        """Commit, then confirm each recorded output that reused a stored object (see
        ``zen_core.artifacts.data.settle``)."""
        pending, self._unsettled = self._unsettled, []
        if pending:
            self.store.flush()
            for stored in pending:
                settle(self.stack.artifact_store, stored)

    def fail(self, node: Invocation, exc: BaseException) -> None:
        step_run = self._step_runs.get(node.id)
        self.failures.append((node.id, exc))
        if step_run is None:
            return
        text = "".join(traceback.format_exception(exc))
        self.store.fail_step_run(step_run.id, text, time.time())
        step_run.status = ExecutionStatus.FAILED
        step_run.error = text
        notify(self.plugins, "zen_on_step_error", step_run=step_run, exception=exc)
        self.log.error("step.failed", step=node.id, error=f"{type(exc).__name__}: {exc}")

    # -- helpers -------------------------------------------------------------------

    def _inputs(self, node: Invocation) -> dict[str, ArtifactVersion]:
        inputs = dict(node.external_inputs)
        for name, handle in node.artifact_inputs.items():
            av = self._outputs.get((handle.invocation_id, handle.output))
            if av is None:
                raise ZenError(
                    f"step {node.id!r}, input {name!r}: step {handle.invocation_id!r} produced no "
                    f"output {handle.output!r} (it returned None). Fix: annotate its return type "
                    f"and return a value.", step=node.id, argument=name)
            inputs[name] = av
        return inputs

    def _static_materializer(self, node: Invocation, spec: Any) -> str | None:
        override = node.step.output_materializers
        if override is not None:
            chosen = override.get(spec.name) if isinstance(override, Mapping) else override
            if isinstance(chosen, str):  # named in the program's own code: importing it is fine
                chosen = import_object(chosen, what="materializer")
            if chosen is not None:
                return qualified_name(chosen)
        target = materializer_type(spec.annotation)
        if target is None:
            return None
        mat = self.registry.for_type(target, allow_pickle=self.config.allow_pickle)
        return qualified_name(mat)

def _detached(av: ArtifactVersion) -> ArtifactVersion:
    """A copy without its Client (and so its database connection), for the task."""
    if av._client is None:
        return av
    import attrs

    return attrs.evolve(av, _client=None)
