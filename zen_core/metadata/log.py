"""``log_metadata``, ``log_artifact_metadata``, ``add_tags``, ``remove_tags``: ZenML's
targeting rules, and where the writes go.

Outside a step the target is looked up through a Client and written at once,
visible to every process. Inside a running step nothing is written: the step
has no metadata-store connection (on a Dask worker it has none at all), so the
write joins the step's :class:`~zen_core.steps.step_context.StepLog`, and the
driver looks the target up and records it together with the step's outputs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.errors import MetadataError
from zen_core.metadata.metadata_types import check_metadata, check_tags
from zen_core.metadata_stores.base import ResourceType
from zen_core.steps.step_context import StepContext, current_step_context

if TYPE_CHECKING:
    from zen_core.client import Client
    from zen_core.metadata_stores.base import MetadataStore

__all__ = ["Target", "add_tags", "log_artifact_metadata", "log_metadata", "record",
           "remove_tags", "resolve", "write"]


@attrs.frozen
class Target:
    """What a write is aimed at: a resource by its ``id``, or by the names to look it up by."""

    resource_type: str
    id: str | None = None
    run: str | None = None  # a run's id, name or unique id prefix
    step_name: str | None = None
    artifact_name: str | None = None
    artifact_version: str | None = None  # None: the latest version of artifact_name
    pipeline: str | None = None

    def describe(self) -> str:
        if self.id is not None:
            return f"{self.resource_type.replace('_', ' ')} {self.id}"
        if self.resource_type == ResourceType.STEP_RUN:
            return f"step {self.step_name!r} of run {self.run!r}"
        if self.resource_type == ResourceType.PIPELINE_RUN:
            return f"run {self.run!r}"
        if self.resource_type == ResourceType.PIPELINE:
            return f"pipeline {self.pipeline!r}"
        version = "latest" if self.artifact_version is None else repr(self.artifact_version)
        return f"artifact {self.artifact_name!r} version {version}"


def resolve(client: Client, target: Target) -> str:
    """The id of the resource ``target`` names; a clear error when there is none."""
    store = client._store
    kind = target.resource_type
    if target.id is not None:
        found = {ResourceType.STEP_RUN: store.get_step_run,
                 ResourceType.PIPELINE_RUN: store.get_run,
                 ResourceType.ARTIFACT_VERSION: store.get_artifact_version_by_id}[kind](target.id)
        if found is None:
            raise MetadataError(
                f"there is no {target.describe()} in the metadata store. Fix: check the id "
                f"(e.g. with `zen run show` or `zen artifact show`).", target=target.id)
        return target.id
    if kind == ResourceType.PIPELINE_RUN:
        return client.get_pipeline_run(target.run).id
    if kind == ResourceType.STEP_RUN:
        run = client.get_pipeline_run(target.run)
        step_run = run.steps.get(target.step_name)
        if step_run is None:
            raise MetadataError(
                f"run {run.name!r} has no step {target.step_name!r} (its steps: "
                f"{', '.join(map(repr, run.steps)) or 'none'}). Fix: pass one of these as "
                f"step_name=.", step_name=target.step_name, run=run.name)
        return step_run.id
    if kind == ResourceType.PIPELINE:
        if not store.count_runs(pipeline_name=target.pipeline):
            raise MetadataError(
                f"there is no pipeline {target.pipeline!r}: no run of it is recorded. Fix: "
                f"check the name (`zen run list` shows pipelines with their runs).",
                pipeline=target.pipeline)
        return target.pipeline
    return client.get_artifact_version(target.artifact_name, target.artifact_version).id


def record(store: MetadataStore, action: str, resource_type: str, resource_id: str,
           payload: Any) -> None:
    """Write ``payload`` for a resource: metadata values (``action="metadata"``), or tags
    (``"add_tags"``, ``"remove_tags"``)."""
    method = {"metadata": store.add_run_metadata, "add_tags": store.add_tags,
              "remove_tags": store.remove_tags}[action]
    method(resource_type, resource_id, payload)


def write(client: Client, action: str, target: Target, payload: Any) -> None:
    """Record ``payload`` for ``target`` now."""
    record(client._store, action, target.resource_type, resolve(client, target), payload)


def _submit(action: str, target: Target, payload: Any) -> None:
    context = current_step_context()
    if context is not None:
        context._defer(action, target, payload)
        return
    from zen_core.client import Client

    write(Client(), action, target, payload)


def _id(value: Any) -> str | None:
    """An id as recorded: a UUID or its dashed form become 32 hex digits."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value.hex
    text = str(value)
    return text.replace("-", "") if len(text) == 36 and text.count("-") == 4 else text


def _in_step(function: str, why: str) -> StepContext:
    context = current_step_context()
    if context is None:
        raise MetadataError(
            f"{function} was called outside a running step {why}. Fix: call it inside a "
            f"@step function, or name the target (see docs/metadata.md).", function=function)
    return context


def _inferred_output(context: StepContext, function: str, artifact_name: str | None) -> str:
    names = context.output_names()
    if not names:
        raise MetadataError(
            f"{function} with infer_artifact=True in step {context.step_name!r}: the step has "
            f"no outputs to attach to. Fix: annotate its return type, or leave out "
            f"infer_artifact=True to attach to the step run (or its pipeline run, for tags).",
            step=context.step_name)
    if artifact_name is None and len(names) != 1:
        raise MetadataError(
            f"{function} with infer_artifact=True in step {context.step_name!r}: the step has "
            f"{len(names)} outputs ({', '.join(map(repr, names))}), so which one is meant is "
            f"unclear. Fix: pass artifact_name= (one of the outputs).",
            step=context.step_name)
    return names[0] if artifact_name is None else artifact_name


# -- metadata ------------------------------------------------------------------------------


def log_metadata(metadata: Mapping[str, Any], step_id: Any = None, step_name: str | None = None,
                 run_id_name_or_prefix: Any = None, artifact_version_id: Any = None,
                 artifact_name: str | None = None, artifact_version: str | int | None = None,
                 infer_artifact: bool = False) -> None:
    """Record run metadata for a step run, a pipeline run or an artifact version.

    Targets, in ZenML's order: ``step_id``; ``step_name`` with ``run_id_name_or_prefix``;
    ``run_id_name_or_prefix``; ``artifact_name`` with ``artifact_version``;
    ``artifact_version_id``; ``infer_artifact=True`` (inside a step: its only output, or
    the output named ``artifact_name``); none at all (inside a step: the step run).
    """
    values = check_metadata(metadata, "log_metadata(): ")
    if step_id is not None:
        target = Target(ResourceType.STEP_RUN, id=_id(step_id))
    elif step_name is not None and run_id_name_or_prefix is not None:
        target = Target(ResourceType.STEP_RUN, run=_id(run_id_name_or_prefix),
                        step_name=step_name)
    elif run_id_name_or_prefix is not None:
        target = Target(ResourceType.PIPELINE_RUN, run=_id(run_id_name_or_prefix))
    elif artifact_name is not None and artifact_version is not None:
        target = Target(ResourceType.ARTIFACT_VERSION, artifact_name=artifact_name,
                        artifact_version=str(artifact_version))
    elif artifact_version_id is not None:
        target = Target(ResourceType.ARTIFACT_VERSION, id=_id(artifact_version_id))
    elif infer_artifact:
        context = _in_step("log_metadata(infer_artifact=True)",
                           "(it attaches to the step's output)")
        context.add_output_metadata(
            values, _inferred_output(context, "log_metadata()", artifact_name))
        return
    elif step_name is None and artifact_name is None and artifact_version is None:
        _in_step("log_metadata() without a target",
                 "(it then attaches to the running step)")._log_step_metadata(values)
        return
    else:
        raise MetadataError(
            "log_metadata() got an incomplete target: step_name needs run_id_name_or_prefix, "
            "artifact_name needs artifact_version (or infer_artifact=True inside a step), "
            "artifact_version needs artifact_name. Fix: pass one of step_id, "
            "step_name + run_id_name_or_prefix, run_id_name_or_prefix, artifact_version_id, "
            "artifact_name + artifact_version, infer_artifact=True, or nothing inside a step.",
            step_name=step_name, artifact_name=artifact_name, artifact_version=artifact_version)
    _submit("metadata", target, values)


def log_artifact_metadata(metadata: Mapping[str, Any], artifact_name: str | None = None,
                          artifact_version: str | int | None = None) -> None:
    """ZenML's older form: an artifact version by name and version; inside a step, the output
    named ``artifact_name`` (or the only output); else the latest version of the name."""
    if artifact_name is not None and artifact_version is not None:
        log_metadata(metadata, artifact_name=artifact_name, artifact_version=artifact_version)
        return
    context = current_step_context()
    if context is not None and (artifact_name in context.output_names() or (
            artifact_name is None and len(context.output_names()) == 1)):
        context.add_output_metadata(metadata, artifact_name)
        return
    if artifact_name is None:
        raise MetadataError(
            "log_artifact_metadata() needs artifact_name outside a step, or inside a step "
            "with several outputs. Fix: pass artifact_name= (and artifact_version= for a "
            "version other than the latest).")
    _submit("metadata", Target(ResourceType.ARTIFACT_VERSION, artifact_name=artifact_name),
            check_metadata(metadata, "log_artifact_metadata(): "))


# -- tags ------------------------------------------------------------------------------------


def add_tags(tags: str | Sequence[str], *, pipeline: str | None = None, run: Any = None,
             artifact_version_id: Any = None, artifact_name: str | None = None,
             artifact_version: str | int | None = None, infer_artifact: bool = False) -> None:
    """Tag a pipeline, a run or an artifact version; inside a step without a target, its run
    (with ``infer_artifact=True``, its only output or the output ``artifact_name``)."""
    _tag("add_tags", check_tags(tags), pipeline, run, artifact_version_id, artifact_name,
         artifact_version, infer_artifact)


def remove_tags(tags: str | Sequence[str], *, pipeline: str | None = None, run: Any = None,
                artifact_version_id: Any = None, artifact_name: str | None = None,
                artifact_version: str | int | None = None, infer_artifact: bool = False) -> None:
    """Take tags off what :func:`add_tags` would tag with the same arguments."""
    _tag("remove_tags", check_tags(tags), pipeline, run, artifact_version_id, artifact_name,
         artifact_version, infer_artifact)


def _tag(action: str, tags: list[str], pipeline: str | None, run: Any,
         artifact_version_id: Any, artifact_name: str | None,
         artifact_version: str | int | None, infer_artifact: bool) -> None:
    function = f"{action}()"
    by_name = artifact_name is not None and artifact_version is not None
    given = [what for what, value in (
        ("pipeline=", pipeline), ("run=", run), ("artifact_version_id=", artifact_version_id),
        ("artifact_name= + artifact_version=", True if by_name else None),
        ("infer_artifact=True", True if infer_artifact else None)) if value is not None]
    if len(given) > 1 or (not by_name and artifact_version is not None) or (
            artifact_name is not None and not by_name and not infer_artifact):
        raise MetadataError(
            f"{function} takes exactly one target, got "
            f"{', '.join(given) or 'an incomplete one'}. Fix: pass one of pipeline=, run=, "
            f"artifact_version_id=, artifact_name= with artifact_version=, "
            f"infer_artifact=True (inside a step, optionally with artifact_name=), or none "
            f"inside a step (the step's run).", targets=given)
    if pipeline is not None:
        target = Target(ResourceType.PIPELINE, pipeline=pipeline)
    elif run is not None:
        target = Target(ResourceType.PIPELINE_RUN, run=_id(run))
    elif artifact_version_id is not None:
        target = Target(ResourceType.ARTIFACT_VERSION, id=_id(artifact_version_id))
    elif by_name:
        target = Target(ResourceType.ARTIFACT_VERSION, artifact_name=artifact_name,
                        artifact_version=str(artifact_version))
    elif infer_artifact:
        context = _in_step(f"{function} with infer_artifact=True",
                           "(it tags the step's output)")
        output = _inferred_output(context, function, artifact_name)
        if action == "add_tags":
            context.add_output_tags(tags, output)
        else:
            context.remove_output_tags(tags, output)
        return
    else:
        context = _in_step(f"{function} without a target", "(it then tags the step's run)")
        target = Target(ResourceType.PIPELINE_RUN, id=context.pipeline_run.id)
    _submit(action, target, tags)
