"""``@pipeline``: a function whose body wires steps together.

Calling a pipeline composes it (runs the body, recording step invocations)
and runs the result on the active stack, returning the finished run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from zen_core.records import PipelineInfo, PipelineRun

_OPTIONS = ("name", "enable_cache", "substitutions")


class Pipeline:
    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 enable_cache: bool | None = None,
                 substitutions: Mapping[str, str] | None = None) -> None:
        if not callable(func):
            raise TypeError(f"@pipeline decorates a function, got {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.enable_cache = enable_cache
        self.substitutions = dict(substitutions or {})

    def with_options(self, **options: Any) -> Pipeline:
        """A configured copy; ``substitutions`` merge over the pipeline's own."""
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"{self.name}.with_options() got unknown option(s) "
                            f"{', '.join(sorted(unknown))}; accepted: {', '.join(_OPTIONS)}")
        if "substitutions" in options:
            options["substitutions"] = {**self.substitutions, **(options["substitutions"] or {})}
        current = {k: getattr(self, k) for k in _OPTIONS}
        return Pipeline(self.func, **{**current, **options})

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineRun:
        from zen_core.execution.driver import run_pipeline

        return run_pipeline(self, args, kwargs)

    @property
    def model(self) -> PipelineInfo:
        """This pipeline as the Client knows it from its runs (ZenML's ``.model``)."""
        from zen_core.client import Client

        return Client().get_pipeline(self.name)

    @property
    def last_run(self) -> PipelineRun:
        """This pipeline's newest run, in this process's ``ZEN_HOME`` and stack."""
        return self.model.last_run

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


@overload
def pipeline(func: Callable[..., Any]) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None, enable_cache: bool | None = None,
             substitutions: Mapping[str, str] | None = None
             ) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Make a function a pipeline: ``@pipeline`` or ``@pipeline(name=..., ...)``."""
    if func is None:
        return lambda f: Pipeline(f, **options)
    return Pipeline(func, **options)
