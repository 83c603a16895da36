"""Composing a pipeline: running its body to record step invocations and their wiring.

Every user mistake that can be seen before anything runs is refused here:
missing or unknown arguments, non-JSON parameters, parameters of the wrong
type, static artifact names that break the rules, unknown placeholders.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from zen_core import _context
from zen_core.artifacts.external_artifact import ExternalArtifact
from zen_core.artifacts.unmaterialized_artifact import is_unmaterialized
from zen_core.errors import CompositionError, ParameterError
from zen_core.naming import check_placeholders, validate_name
from zen_core.records import ArtifactVersion
from zen_core.signatures import OutputSpec, conform, type_name

if TYPE_CHECKING:
    from zen_core.pipelines import Pipeline
    from zen_core.steps import Step


@attrs.frozen
class OutputHandle:
    """What calling a step inside a pipeline returns: a reference to one future output."""

    invocation_id: str
    output: str  # the output's name template within its step
    index: int

    def __repr__(self) -> str:
        return f"<output {self.output!r} of step {self.invocation_id!r}>"


@attrs.define
class Invocation:
    id: str
    step: Step
    params: dict[str, Any]
    artifact_inputs: dict[str, OutputHandle]
    external_inputs: dict[str, ArtifactVersion]
    outputs: tuple[OutputSpec, ...]
    substitutions: dict[str, str]
    enable_cache: bool
    upstream: tuple[str, ...]
    # stored when the run starts, then among external_inputs
    external_artifacts: dict[str, ExternalArtifact] = attrs.field(factory=dict)


class Composer:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.invocations: dict[str, Invocation] = {}

    def add(self, step: Step, args: tuple, kwargs: dict[str, Any],
            invocation_id: str | None) -> Any:
        sig = step.signature
        inv_id = invocation_id or self._next_id(step.name)
        if inv_id in self.invocations:
            raise CompositionError(
                f"pipeline {self.pipeline.name!r}: two step invocations share the id {inv_id!r}. "
                f"Fix: pass a different id= when calling the step.", invocation_id=inv_id)
        try:
            bound = inspect.Signature(list(sig.parameters.values())).bind(*args, **kwargs)
        except TypeError as exc:
            raise CompositionError(
                f"pipeline {self.pipeline.name!r}, step {inv_id!r}: {exc}. The step's "
                f"signature is {step.name}{inspect.Signature(list(sig.parameters.values()))}.",
                step=inv_id,
            ) from None

        params: dict[str, Any] = {}
        artifacts: dict[str, OutputHandle] = {}
        external: dict[str, ArtifactVersion] = {}
        values: dict[str, ExternalArtifact] = {}
        for name, value in bound.arguments.items():
            kind = sig.parameters[name].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise CompositionError(
                    f"step {inv_id!r}: *args/**kwargs parameters cannot receive pipeline inputs; "
                    f"declare each input as a named parameter.", step=inv_id)
            if isinstance(value, OutputHandle):
                artifacts[name] = value
            elif isinstance(value, ArtifactVersion):
                external[name] = value
            elif isinstance(value, ExternalArtifact):
                values[name] = self._check_external(inv_id, name, value,
                                                    sig.annotations.get(name))
            elif isinstance(value, tuple) and value and all(
                    isinstance(v, OutputHandle) for v in value):
                raise CompositionError(
                    f"step {inv_id!r}, argument {name!r}: got all outputs of step "
                    f"{value[0].invocation_id!r} as one tuple. Fix: unpack them "
                    f"(a, b = step()) and pass one output.", step=inv_id, argument=name)
            else:
                params[name] = self._check_parameter(inv_id, name, value,
                                                     sig.annotations.get(name))

        substitutions = {**self.pipeline.substitutions, **step.substitutions}
        for spec in sig.outputs:
            where = f"pipeline {self.pipeline.name!r}, step {inv_id!r}"
            if not check_placeholders(spec.name, substitutions, where):
                validate_name(spec.name)
        enable_cache = next((v for v in (step.enable_cache, self.pipeline.enable_cache)
                             if v is not None), True)
        upstream = tuple(dict.fromkeys(h.invocation_id for h in artifacts.values()))
        self.invocations[inv_id] = Invocation(inv_id, step, params, artifacts, external,
                                              sig.outputs, substitutions, enable_cache, upstream,
                                              values)
        handles = tuple(OutputHandle(inv_id, spec.name, i) for i, spec in enumerate(sig.outputs))
        if len(handles) == 1:
            return handles[0]
        return handles or None

    def _next_id(self, name: str) -> str:
        if name not in self.invocations:
            return name
        n = 2
        while f"{name}_{n}" in self.invocations:
            n += 1
        return f"{name}_{n}"

    def _check_external(self, inv_id: str, name: str, external: ExternalArtifact,
                        annotation: Any) -> ExternalArtifact:
        """Refuse now a value the step would refuse when it loads it."""
        if not is_unmaterialized(annotation) and not conform(external.value, annotation)[0]:
            raise CompositionError(
                f"step {inv_id!r}, argument {name!r}: expected {type_name(annotation)}, got an "
                f"ExternalArtifact holding {type_name(type(external.value))}. Fix: pass a "
                f"value of the annotated type.", step=inv_id, argument=name)
        return external

    def _check_parameter(self, inv_id: str, name: str, value: Any, annotation: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            got = ("a NaN or infinite float, which JSON cannot hold" if isinstance(exc, ValueError)
                   and "Out of range float" in str(exc) else type_name(type(value)))
            raise ParameterError(
                f"step {inv_id!r}, argument {name!r}: parameters must be JSON-serializable, got "
                f"{got}. Fix: pass it as an artifact (return it from an upstream step, or "
                f"save_artifact() it and pass Client().get_artifact_version(...)).",
                step=inv_id, argument=name, value_type=type(value),
            ) from None
        matches, value = conform(value, annotation)
        if not matches:
            raise ParameterError(
                f"step {inv_id!r}, argument {name!r}: expected {type_name(annotation)}, got "
                f"{type_name(type(value))} ({value!r}).",
                step=inv_id, argument=name, value_type=type(value),
            )
        return value


def compose(pipeline: Pipeline, args: tuple, kwargs: Mapping[str, Any]) -> Composer:
    composer = Composer(pipeline)
    token = _context.composing.set(composer)
    try:
        pipeline.func(*args, **kwargs)
    finally:
        _context.composing.reset(token)
    if not composer.invocations:
        raise CompositionError(f"pipeline {pipeline.name!r} calls no step. Fix: call at least "
                               f"one @step function in its body.", pipeline=pipeline.name)
    return composer
