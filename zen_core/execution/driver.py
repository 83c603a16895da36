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
    MetadataError,
    RunNameTakenError,
    ZenError,
)
from zen_core.execution.cache import StepCache, digest
from zen_core.execution.compose import Invocation, bind_with_parameters, compose
from zen_core.execution.task import OutputPlan, StepResult, StepTask
from zen_core.logger import get_logger
from zen_core.materializers.base import qualified_name
from zen_core.materializers.registry import import_object
from zen_core.metadata.metadata_types import NO_METADATA, merge_entries
from zen_core.metadata_stores.base import NewArtifactVersion, ResourceType
from zen_core.naming import resolve_name, validate_name
from zen_core.plugins import notify
from zen_core.progress import track
from zen_core.records import (
    CACHING_DISABLED,
    ArtifactVersion,
    ExecutionStatus,
    PipelineRun,
    StepRun,
    new_id,
    utc_datetime,
)
from zen_core.run_context import RunContext
from zen_core.signatures import materializer_type
from zen_core.steps.step_context import StepLog

if TYPE_CHECKING:
    from zen_core.pipelines import Pipeline


def run_pipeline(pipeline: Pipeline, args: tuple, kwargs: Mapping[str, Any]) -> PipelineRun:
    context = RunContext.create()
    # Wrong arguments and run names are refused before composing.
    args, kwargs, params = _arguments(pipeline, args, kwargs)
    run_name = _run_name(pipeline)
    composer = compose(pipeline, args, kwargs)
    return RunDriver(pipeline, composer.invocations, params, context, run_name=run_name).run()


def _arguments(pipeline: Pipeline, args: tuple, kwargs: Mapping[str, Any]
               ) -> tuple[tuple, dict[str, Any], dict[str, Any]]:
    """The call's arguments with the pipeline's configured ``parameters`` filling the ones
    it leaves out (a different value in both places is refused, as in ZenML), and the
    parameters to record (JSON, else their repr)."""
    import inspect

    signature = inspect.signature(pipeline.func)
    where = f"pipeline {pipeline.name!r}"
    try:
        bound = bind_with_parameters(signature, args, kwargs, pipeline.parameters, where,
                                     f"{pipeline.name}{signature}", "pipeline")
    except TypeError as exc:
        raise CompositionError(f"{where}: {exc}", pipeline=pipeline.name) from None
    args, kwargs = bound.args, bound.kwargs
    bound.apply_defaults()
    params = {}
    for name, value in bound.arguments.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = repr(value)
        params[name] = value
    return args, kwargs, params


def _run_name(pipeline: Pipeline) -> str | None:
    """The configured run name with its placeholders filled (``None``: the default name)."""
    if pipeline.run_name is None:
        return None
    where = f"pipeline {pipeline.name!r}"
    name, _ = resolve_name(pipeline.run_name, pipeline.substitutions, dt.datetime.now(dt.UTC),
                           where, what="run name")
    return name


_NAME_ATTEMPTS = 20  # names tried for one run before the store's refusal is final


SETTLE_BYTES = 256 << 20  # staging copies of reused outputs kept at most this long in a run


class RunDriver:
    """Prepares, records and finishes the steps of one run (see orchestrators.base)."""

    def __init__(self, pipeline: Pipeline, invocations: Mapping[str, Invocation],
                 params: dict[str, Any], context: RunContext, *,
                 run_name: str | None = None) -> None:
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
        self.started = time.time()
        stamp = dt.datetime.fromtimestamp(self.started, dt.UTC).strftime("%Y_%m_%d-%H_%M_%S_%f")
        self._named = run_name is not None  # chosen by the user: never changed
        self.run_record = PipelineRun(
            id=new_id(), name=run_name or f"{pipeline.name}-{stamp}", pipeline_name=pipeline.name,
            status=ExecutionStatus.RUNNING, created=self.started, finished=None, params=params,
            error=None, options=_options(pipeline.enable_cache, pipeline.substitutions))
        self._outputs: dict[tuple[str, str], ArtifactVersion] = {}
        self._step_runs: dict[str, StepRun] = {}
        self._staged: dict[str, tuple[StepResult, list[tuple[OutputPlan, NewArtifactVersion]]]] = {}
        self.failures: list[tuple[str, BaseException]] = []
        self._unsettled: list[StoredData] = []  # recorded outputs that kept a staging copy
        self._unsettled_bytes = 0
        # outputs handed to later steps in memory (execution.handoff): (step id, io_name)
        self._values: dict[tuple[str, str], Any] = {}
        self.progress = track(self)  # a live line on a terminal (zen_core.progress), else no-op

    # -- the run -----------------------------------------------------------------

    def run(self) -> PipelineRun:
        self._check_stack()
        leases.reap(self.store, self.config)  # runs whose process died are failed first
        self._store_external_artifacts()
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
                      duration=f"{finished - self.started:.3f}s")
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

    def _store_external_artifacts(self) -> None:
        """Store each ``ExternalArtifact`` value, before the run is recorded (a value that
        cannot be stored fails the call with nothing recorded)."""
        for node in self.nodes:
            for name, external in node.external_artifacts.items():
                artifact_name = validate_name(f"external::{self.pipeline.name}::{node.id}::{name}")
                node.external_inputs[name] = external.store(self.context, artifact_name)

    def _create_run(self) -> None:
        """Record the run under a name no other run has: processes that start runs of one
        pipeline in the same microsecond get ``-2``, ``-3``... after the time stamp. A run
        name the user chose is kept, and refused when taken (as in ZenML)."""
        base = self.run_record.name
        if self._named:
            try:
                self.store.create_run(self.run_record, leases.new_lease(self.config))
            except RunNameTakenError:
                raise RunNameTakenError(
                    f"pipeline {self.pipeline.name!r}: a pipeline run named {base!r} exists "
                    f"already, and run names are unique. Fix: choose another run_name, put "
                    f"{{date}} and {{time}} in it (e.g. run_name=\"{self.pipeline.name}_{{date}}"
                    f"_{{time}}\"), or delete the old run (`zen run delete`).", name=base,
                ) from None
            return
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
                tuple(config.tags) if config else (),
                config.run_metadata if config else NO_METADATA,
                config.artifact_type if config else None))
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
                with self.store.transaction(group=True):  # (the original has the parts)
                    self.store.create_step_run(step_run, input_ids, None,
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
            step_run.cache_miss = CACHING_DISABLED

        for plan in plans:
            if plan.version is not None and self.store.version_taken(plan.artifact_name,
                                                                     plan.version):
                raise ArtifactVersionExistsError.taken(plan.artifact_name, plan.version,
                                                       where=f"step {node.id!r}: ")
        with self.store.transaction(group=True):
            self.store.create_step_run(step_run, input_ids, parts)
        # Commit what the run wrote since the last step (the previous step's outputs, this
        # one's start) before the step's code runs: no transaction is held across a step,
        # so other processes never wait on it, and the step's code sees it all. Outputs
        # that reused stored objects are committed now, so their staging copies can go.
        self.store.flush()
        self._settle()
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
            trusted_modules=self.config.trusted_modules, groups=node.groups,
            pipeline_run=self.run_record, step_run=step_run, values=self._handed(node),
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
        log = result.log
        news = [(plan, NewArtifactVersion(
            name=plan.artifact_name, data=stored, version=plan.version,
            tags=log.tags_of(plan) if log else plan.tags, origin="step",
            producer_step_run_id=step_run.id, run_id=self.run_record.id,
            run_metadata=log.metadata_of(plan) if log else plan.run_metadata,
            artifact_type=plan.artifact_type))
            for plan, stored in result.outputs]
        for plan, new in news:
            self._outputs[(node.id, plan.io_name)] = new.preview()
            if plan.io_name in result.values:
                self._values[(node.id, plan.io_name)] = result.values[plan.io_name]
        self._staged[node.id] = (result, news)

    def record(self, node: Invocation) -> None:
        """Write a staged step's outputs and completion (one grouped transaction)."""
        result, news = self._staged.pop(node.id)
        step_run = self._step_runs[node.id]
        loaded = {f"loaded:{av_id}": av_id for av_id in result.loaded}
        logged = self._logged_elsewhere(node, result.log)
        try:
            with self.store.transaction(group=True):
                created = self.store.complete_step_run(
                    step_run.id, outputs=[(plan.key, new) for plan, new in news],
                    extra_inputs=loaded, finished=result.finished)
                if result.log:
                    self._record_log(step_run, result.log, logged)
        except BaseException:
            for _, stored in result.outputs:
                abandon(self.stack.artifact_store, stored)
            raise
        # Outputs that reused stored objects are confirmed once others can count them:
        # when the next step starts (its commit covers them), at the end of the run, or
        # sooner when their staging copies grow large.
        for _, stored in result.outputs:
            if stored.staging is not None:
                self._unsettled.append(stored)
                self._unsettled_bytes += stored.size
        if self._unsettled_bytes > SETTLE_BYTES:
            self._settle()
        for (plan, _), av in zip(news, created):
            self._outputs[(node.id, plan.io_name)] = av
            notify(self.plugins, "zen_after_artifact_saved", artifact_version=av)
        step_run.status = ExecutionStatus.COMPLETED
        step_run.finished = utc_datetime(result.finished)
        notify(self.plugins, "zen_after_step_run", step_run=step_run)
        self.log.info("step.completed", step=node.id,
                      duration=f"{(result.finished - result.started) * 1000:.1f}ms",
                      outputs=len(created))

    def _settle(self) -> None:
        """Commit, then confirm each recorded output that reused a stored object (see
        ``zen_core.artifacts.data.settle``)."""
        pending, self._unsettled, self._unsettled_bytes = self._unsettled, [], 0
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

    def outputs_of(self, node: Invocation) -> list[ArtifactVersion]:
        """The outputs a finished step produced (or reused), in the order it declares them."""
        found = (self._outputs.get((node.id, spec.name)) for spec in node.outputs)
        return [av for av in found if av is not None]

    # -- helpers -------------------------------------------------------------------

    def _logged_elsewhere(self, node: Invocation, log: StepLog | None
                          ) -> list[tuple[str, str, str, Any]]:
        """``(action, resource type, id, payload)`` of what the step logged for other
        resources, looked up before anything of the step is recorded."""
        if not log or not log.elsewhere:
            return []
        from zen_core.client import Client
        from zen_core.metadata.log import resolve

        client = Client._for_context(self.context)
        found = []
        for action, target, payload in log.elsewhere:
            try:
                found.append((action, target.resource_type, resolve(client, target), payload))
            except ZenError as exc:
                raise MetadataError(
                    f"step {node.id!r} logged {'metadata' if action == 'metadata' else 'tags'} "
                    f"for {target.describe()}, which cannot be found: {exc}",
                    step=node.id) from exc
        return found

    def _record_log(self, step_run: StepRun, log: StepLog,
                    elsewhere: list[tuple[str, str, str, Any]]) -> None:
        """Record what a step logged besides its outputs' metadata and tags."""
        from zen_core.metadata.log import record

        if log.step_metadata:
            self.store.add_run_metadata(ResourceType.STEP_RUN, step_run.id,
                                        merge_entries(log.step_metadata))
        for action, resource_type, resource_id, payload in elsewhere:
            record(self.store, action, resource_type, resource_id, payload)

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

    def _handed(self, node: Invocation) -> dict[str, Any]:
        """The inputs of ``node`` its producers handed over in memory, by input name."""
        if not self._values:
            return {}
        found = {}
        for name, handle in node.artifact_inputs.items():
            key = (handle.invocation_id, handle.output)
            if key in self._values:
                found[name] = self._values[key]
        return found

    def _static_materializer(self, node: Invocation, spec: Any) -> str | None:
        override = node.step.output_materializers
        if override is not None:
            chosen = override.get(spec.name) if isinstance(override, Mapping) else override
            if isinstance(chosen, str):  # named in the program's own code: importing it is fine
                chosen = import_object(chosen, what="materializer")
            if chosen is not None:
                return qualified_name(chosen)
        target = materializer_type(spec.annotation)
        mat = None if target is None else self.registry.claimed(target)
        # unclaimed (``-> ClassifierMixin``): the returned value's type chooses at run time,
        # so an SVC goes to zen-sklearn; pickle only when that type is unclaimed too
        return None if mat is None else qualified_name(mat)


def _options(enable_cache: bool | None, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """What a run records of its configuration (``PipelineRun.config``)."""
    options: dict[str, Any] = {"enable_cache": enable_cache}
    if substitutions:
        options["substitutions"] = dict(substitutions)
    return options


def _detached(av: ArtifactVersion) -> ArtifactVersion:
    """A copy without its Client (and so its database connection), for the task."""
    if av._client is None:
        return av
    import attrs

    return attrs.evolve(av, _client=None)
