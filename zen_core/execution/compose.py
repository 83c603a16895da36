"""Composing a pipeline: running its body to record step invocations and their wiring.

Every user mistake that can be seen before anything runs is refused here:
missing or unknown arguments, non-JSON parameters, parameters of the wrong
type, static artifact names that break the rules, unknown placeholders,
``after=`` ids that name no step, and cycles.
"""

from __future__ import annotations

import heapq
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
from zen_core.signatures import OutputSpec, conform, materializer_type, type_name

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


@attrs.frozen
class InputGroup:
    """A list, tuple or dict of artifacts passed as one input (fan-in, or a multi-output
    step's whole result). Each element is an input of its own, named ``models[0]`` or
    ``models[key]``, so lineage and the cache key see every one; the step receives the
    loaded elements assembled again."""

    kind: type  # list, tuple or dict
    keys: tuple[Any, ...]  # positions, or the dict's keys

    def element(self, name: str, key: Any) -> str:
        return f"{name}[{key}]"

    def assemble(self, name: str, loaded: Mapping[str, Any]) -> Any:
        values = [loaded[self.element(name, key)] for key in self.keys]
        return dict(zip(self.keys, values)) if self.kind is dict else self.kind(values)


@attrs.define
class Invocation:
    id: str
    step: Step
    params: dict[str, Any]
    artifact_inputs: dict[str, OutputHandle]  # by input name (``name[i]`` for group elements)
    external_inputs: dict[str, ArtifactVersion]
    outputs: tuple[OutputSpec, ...]
    substitutions: dict[str, str]
    enable_cache: bool
    upstream: tuple[str, ...]  # invocations that must finish first: inputs and ``after=``
    groups: dict[str, InputGroup] = attrs.Factory(dict)
    after: tuple[str, ...] = ()
    # stored when the run starts, then among external_inputs
    external_artifacts: dict[str, ExternalArtifact] = attrs.Factory(dict)


_ARTIFACT = (OutputHandle, ArtifactVersion)


class Composer:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.invocations: dict[str, Invocation] = {}
        # per step name, the last ``_N`` suffix given: lower ones are all taken, so the
        # next free id is found without rescanning (a 5,000-step chain stays linear)
        self._suffixes: dict[str, int] = {}

    def add(self, step: Step, args: tuple, kwargs: dict[str, Any],
            invocation_id: str | None, after: Any = None) -> Any:
        inv_id = invocation_id or self._next_id(step.name)
        if inv_id in self.invocations:
            raise CompositionError(
                f"pipeline {self.pipeline.name!r}: two step invocations share the id {inv_id!r}. "
                f"Fix: pass a different id= when calling the step.", invocation_id=inv_id)
        configured = self.pipeline.step_options.get(inv_id)
        if configured:  # a run configuration's ``steps: {inv_id: ...}`` beats the step's own
            step = step.with_options(**configured)
        sig = step.signature
        bound = self._bind(step, inv_id, args, kwargs)

        params: dict[str, Any] = {}
        artifacts: dict[str, OutputHandle] = {}
        external: dict[str, ArtifactVersion] = {}
        groups: dict[str, InputGroup] = {}
        values: dict[str, ExternalArtifact] = {}
        for name, value in bound.items():
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
            elif (elements := artifact_elements(value)) is not None:
                group = InputGroup(_group_kind(value, sig.annotations.get(name)), tuple(elements))
                if len({group.element(name, key) for key in elements}) < len(elements):
                    raise CompositionError(
                        f"step {inv_id!r}, argument {name!r}: the keys of this dict of step "
                        f"outputs ({', '.join(repr(k) for k in elements)}) name some inputs "
                        f"alike ({name}[key] each). Fix: use distinct string keys.",
                        step=inv_id, argument=name)
                for key, element in elements.items():
                    target = artifacts if isinstance(element, OutputHandle) else external
                    target[group.element(name, key)] = element
                groups[name] = group
            else:
                params[name] = self._check_parameter(inv_id, name, value,
                                                     sig.annotations.get(name))

        substitutions = {**self.pipeline.substitutions, **step.substitutions}
        for spec in sig.outputs:
            where = f"pipeline {self.pipeline.name!r}, step {inv_id!r}"
            if not check_placeholders(spec.name, substitutions, where):
                validate_name(spec.name)
        enable_cache = next((v for v in ((configured or {}).get("enable_cache"),
                                         self.pipeline.cache_override, step.enable_cache,
                                         self.pipeline.enable_cache) if v is not None), True)
        after_ids = () if after is None else self._after_ids(inv_id, after)
        upstream = tuple(dict.fromkeys([*(h.invocation_id for h in artifacts.values()),
                                        *after_ids]))
        self.invocations[inv_id] = Invocation(inv_id, step, params, artifacts, external,
                                              sig.outputs, substitutions, enable_cache, upstream,
                                              groups, after_ids, values)
        handles = tuple(OutputHandle(inv_id, spec.name, i) for i, spec in enumerate(sig.outputs))
        if len(handles) == 1:
            return handles[0]
        return handles or None

    def _bind(self, step: Step, inv_id: str, args: tuple, kwargs: dict[str, Any]
              ) -> dict[str, Any]:
        """The call's arguments by parameter name (defaults not filled in)."""
        if not step.parameters:
            plain = step.signature.plain_arguments(args, kwargs)
            if plain is not None:
                return plain
        signature = step.signature.call_signature
        where = f"pipeline {self.pipeline.name!r}, step {inv_id!r}"
        try:
            return bind_with_parameters(signature, args, kwargs, step.parameters, where,
                                        f"{step.name}{signature}", "step").arguments
        except TypeError as exc:
            raise CompositionError(f"{where}: {exc}. The step's signature is "
                                   f"{step.name}{signature}.", step=inv_id) from None

    def _after_ids(self, inv_id: str, after: Any) -> tuple[str, ...]:
        """``after=``: an invocation id, an output handle, a step's whole result, or a list
        of these; checked against the pipeline's invocations once its body has run."""
        ids: list[str] = []
        pending = [after]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                ids.append(item)
            elif isinstance(item, OutputHandle):
                ids.append(item.invocation_id)
            elif isinstance(item, list | tuple | set | frozenset):
                pending.extend(reversed(list(item)))
            elif item is not None:
                raise CompositionError(
                    f"pipeline {self.pipeline.name!r}, step {inv_id!r}: after={item!r} names no "
                    f"step. Fix: pass invocation ids (strings), outputs of steps, or a list of "
                    f"these.", step=inv_id)
        return tuple(dict.fromkeys(ids))

    def _next_id(self, name: str) -> str:
        if name not in self.invocations:
            return name
        n = self._suffixes.get(name, 1) + 1
        while f"{name}_{n}" in self.invocations:
            n += 1
        self._suffixes[name] = n
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
            if _holds_artifacts(value):
                raise CompositionError(
                    f"step {inv_id!r}, argument {name!r}: got a {type_name(type(value))} that "
                    f"mixes step outputs with other values, or nests them. One input takes a "
                    f"step output, or a flat list, tuple or dict made only of step outputs "
                    f"(and artifact versions). Fix: pass the outputs on their own, and the "
                    f"other values as separate parameters.", step=inv_id, argument=name,
                ) from None
            got = ("a NaN or infinite float, which JSON cannot hold" if isinstance(exc, ValueError)
                   and "Out of range float" in str(exc) else type_name(type(value)))
            raise ParameterError(
                f"step {inv_id!r}, argument {name!r}: parameters must be JSON-serializable, got "
                f"{got}. Fix: pass it as an artifact (return it from an upstream step, or "
                f"save_artifact() it and pass Client().get_artifact_version(...)).",
                step=inv_id, argument=name, value_type=type(value),
            ) from None
        key = _non_string_key(value)
        if key is not None:
            raise ParameterError(
                f"step {inv_id!r}, argument {name!r}: a parameter's dict keys must be strings, "
                f"as JSON object keys are (the parameter is recorded, and keyed into the cache, "
                f"as JSON), got the key {key!r} ({type_name(type(key))}). Fix: use string keys, "
                f"or pass it as an artifact.", step=inv_id, argument=name, key=key)
        matches, value = conform(value, annotation)
        if not matches:
            raise ParameterError(
                f"step {inv_id!r}, argument {name!r}: expected {type_name(annotation)}, got "
                f"{type_name(type(value))} ({value!r}).",
                step=inv_id, argument=name, value_type=type(value),
            )
        return value


def _non_string_key(value: Any) -> Any:
    """The first dict key (at any depth) that is not a string, else ``None``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return key
                pending.append(inner)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def bind_with_parameters(signature: inspect.Signature, args: tuple, kwargs: Mapping[str, Any],
                         configured: Mapping[str, Any], where: str, function: str, owner: str
                         ) -> inspect.BoundArguments:
    """Bind a call's arguments, with the configured ``parameters`` of the step or pipeline
    (``owner``) filling the ones the call leaves out. A configured name the ``function``
    lacks, or a different value in both places, is refused (as in ZenML); a call that does
    not fit the signature raises ``TypeError``."""
    if not configured:
        return signature.bind(*args, **kwargs)
    given = signature.bind_partial(*args, **kwargs).arguments
    for key, value in configured.items():
        if key not in signature.parameters:
            raise CompositionError(
                f"{where}: configured parameter {key!r} is not an argument of {function}. Fix: "
                f"correct its name in the {owner}'s parameters (configure() or the run "
                f"configuration).", argument=key)
        if key in given and given[key] != value:
            raise CompositionError(
                f"{where}: parameter {key!r} is configured as {value!r} but the call passes "
                f"{given[key]!r}. Fix: set it in one place only (the call, or the "
                f"configuration).", argument=key)
    missing = {k: v for k, v in configured.items() if k not in given}
    return signature.bind(*args, **kwargs, **missing)


def artifact_elements(value: Any) -> dict[Any, OutputHandle | ArtifactVersion] | None:
    """The elements of a non-empty list, tuple or dict made only of artifacts, by position
    or key; ``None`` for anything else (a parameter)."""
    if isinstance(value, list | tuple) and value and all(isinstance(v, _ARTIFACT) for v in value):
        return dict(enumerate(value))
    if isinstance(value, dict) and value and all(isinstance(v, _ARTIFACT)
                                                 for v in value.values()):
        return dict(value)
    return None


def _group_kind(value: Any, annotation: Any) -> type:
    """What the step receives: a dict for a dict; for a sequence, the list or tuple its
    annotation asks for (ZenML hands a multi-output result over as a list), else as passed."""
    if isinstance(value, dict):
        return dict
    target = materializer_type(annotation)
    if target is list or target is tuple:
        return target
    return tuple if isinstance(value, tuple) else list


def _holds_artifacts(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _ARTIFACT):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
    return False


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
    unused = [i for i in pipeline.step_options if i not in composer.invocations]
    if unused:  # as ZenML: warned about and ignored
        from zen_core.logger import get_logger

        get_logger().warning("run_config.unknown_steps", pipeline=pipeline.name, steps=unused,
                             invocations=list(composer.invocations),
                             hint="step options for these ids are ignored; use invocation ids")
    if any(node.after for node in composer.invocations.values()):
        composer.invocations = _ordered(pipeline, composer.invocations)
    return composer


def _ordered(pipeline: Pipeline, invocations: dict[str, Invocation]) -> dict[str, Invocation]:
    """The invocations in an order where each comes after its upstream ones (``after=``
    may name a step composed later), keeping the composition order where it can; an
    unknown id or a cycle is refused."""
    for node in invocations.values():
        unknown = [i for i in node.after if i not in invocations]
        if unknown:
            raise CompositionError(
                f"pipeline {pipeline.name!r}, step {node.id!r}: after={unknown[0]!r} is not a "
                f"step invocation of this pipeline (invocations: "
                f"{', '.join(repr(i) for i in invocations)}). Fix: use one of these ids, or "
                f"pass the step's output instead of its id.", step=node.id, after=unknown[0])
    waiting = {node.id: len(node.upstream) for node in invocations.values()}
    children: dict[str, list[str]] = {node_id: [] for node_id in invocations}
    for node in invocations.values():
        for up in node.upstream:
            children[up].append(node.id)
    position = {node_id: i for i, node_id in enumerate(invocations)}
    ready = [(position[node_id], node_id) for node_id, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: dict[str, Invocation] = {}
    while ready:
        _, node_id = heapq.heappop(ready)
        ordered[node_id] = invocations[node_id]
        for child in children[node_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (position[child], child))
    if len(ordered) < len(invocations):
        cycle = _a_cycle({i: invocations[i].upstream for i in invocations if i not in ordered})
        raise CompositionError(
            f"pipeline {pipeline.name!r}: steps {' -> '.join(repr(i) for i in cycle)} wait for "
            f"each other in a cycle (through after= or their inputs), so none could start. "
            f"Fix: remove one of these after= dependencies.", cycle=cycle)
    return ordered


def _a_cycle(upstream: Mapping[str, tuple[str, ...]]) -> list[str]:
    """One cycle among nodes that all wait on each other, as ``[a, b, ..., a]``."""
    node = next(iter(upstream))
    seen: dict[str, int] = {}
    path: list[str] = []
    while node not in seen:  # every node here has an upstream node here: walk until repeated
        seen[node] = len(path)
        path.append(node)
        node = next(up for up in upstream[node] if up in upstream)
    return [*path[seen[node]:], node]
