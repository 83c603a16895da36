"""Calling a step outside a pipeline: a one-step pipeline run, recorded like any other.

As in ZenML: the run's pipeline is named after the step and caching is off unless
the step turns it on; JSON-able arguments are parameters, other values are stored
as input artifacts (``<step>::<argument>``, deduplicated by content); the call
returns the step's outputs, loaded (one value, a tuple for several, ``None`` for
none). Inside a running step, calling another step just calls its function.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

from zen_core.errors import CompositionError
from zen_core.records import ArtifactOrigin, ArtifactVersion, loaded_in_step

if TYPE_CHECKING:
    from zen_core.run_context import RunContext
    from zen_core.steps import Step


def run_step(step: Step, args: tuple, kwargs: dict[str, Any], *,
             invocation_id: str | None = None, after: Any = None) -> Any:
    if loaded_in_step.get() is not None:  # in a step's body: no run within a run
        return step.func(*args, **kwargs)
    from zen_core.client import Client
    from zen_core.execution.compose import artifact_elements, compose
    from zen_core.execution.driver import RunDriver
    from zen_core.pipelines import Pipeline
    from zen_core.run_context import RunContext

    signature = inspect.Signature(list(step.signature.parameters.values()))
    try:  # partial: the step's configured parameters may give the rest; composing checks
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError as exc:
        raise CompositionError(f"step {step.name!r}: {exc}. The step's signature is "
                               f"{step.name}{signature}.", step=step.name) from None
    context = RunContext.create()
    for name, value in bound.arguments.items():
        if not (_is_json(value) or isinstance(value, ArtifactVersion)
                or artifact_elements(value) is not None):
            bound.arguments[name] = _stored_input(context, step, name, value)
    call_args, call_kwargs = bound.args, bound.kwargs

    def one_step() -> None:
        step(*call_args, id=invocation_id, after=after, **call_kwargs)

    single = Pipeline(one_step, name=step.name, enable_cache=False)
    driver = RunDriver(single, compose(single, (), {}).invocations, {}, context)
    driver.run()
    client = Client._for_context(context)
    values = tuple(client._bind(av).load() for av in driver.outputs_of(driver.nodes[0]))
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _stored_input(context: RunContext, step: Step, argument: str, value: Any) -> ArtifactVersion:
    """``value`` as an artifact version of ``<step>::<argument>``: the version that already
    holds this content, else a new one (origin ``external``: pruned once no run uses it)."""
    from zen_core.artifacts.data import save_data
    from zen_core.metadata_stores.base import NewArtifactVersion
    from zen_core.naming import validate_name
    from zen_core.plugins import notify

    name = validate_name(f"{step.name}::{argument}")
    allow_pickle = context.config.allow_pickle
    mat = context.registry.for_type(type(value), allow_pickle=allow_pickle)
    stored = save_data(context.stack.artifact_store, mat, value, allow_pickle=allow_pickle,
                       label=f"{name!r} (argument {argument!r} of step {step.name!r})")
    store = context.stack.metadata_store
    found = store.find_artifact_version(name, stored.content_hash)
    if found is not None and (found.materializer, found.type) == (stored.materializer,
                                                                 stored.type):
        return found
    av = store.create_artifact_version(NewArtifactVersion(name=name, data=stored,
                                                          origin=ArtifactOrigin.EXTERNAL))
    notify(context.plugin_manager, "zen_after_artifact_saved", artifact_version=av)
    return av
