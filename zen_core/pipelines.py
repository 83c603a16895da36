"""``@pipeline``: a function whose body wires steps together.

Calling a pipeline composes it (runs the body, recording step invocations)
and runs the result on the active stack, returning the finished run. Called
inside another pipeline's body, it composes into that pipeline instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

from zen_core import _context
from zen_core.warmup import prepare_process

if TYPE_CHECKING:
    from pathlib import Path

    from zen_core.records import PipelineInfo, PipelineRun

_OPTIONS = ("name", "enable_cache", "substitutions", "run_name", "parameters")


class Pipeline:
    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 enable_cache: bool | None = None,
                 substitutions: Mapping[str, str] | None = None,
                 run_name: str | None = None, parameters: Mapping[str, Any] | None = None,
                 **zenml_options: Any) -> None:
        if not callable(func):
            raise TypeError(f"@pipeline decorates a function, got {func!r}")
        functools.update_wrapper(self, func)
        prepare_process()  # the first call then costs what later ones do (zen_core.warmup)
        self.func = func
        self.name = name or func.__name__
        self.enable_cache = enable_cache
        self.substitutions = dict(substitutions or {})
        self.run_name = run_name  # a template: {date}, {time} and substitutions
        self.parameters = dict(parameters or {})  # values for arguments a call leaves out
        # From a run configuration: options per step invocation id, and the run-level
        # enable_cache, which beats the steps' own (as in ZenML).
        self.step_options: dict[str, dict[str, Any]] = {}
        self.cache_override: bool | None = None
        if zenml_options:  # ZenML's settings, model, tags ...: checked, warned about
            self._apply(zenml_options, True, f"@pipeline of {self.name!r}")

    @property
    def entrypoint(self) -> Callable[..., Any]:
        """The plain function."""
        return self.func

    def configure(self, *, merge: bool = True, **options: Any) -> Pipeline:
        """Change this pipeline in place (``with_options`` makes a configured copy instead).

        Takes ``enable_cache``, ``substitutions``, ``run_name``, ``parameters`` (values of
        the pipeline function's arguments), ``name``; ``settings`` and ZenML's other
        options are warned about and ignored. ``parameters`` and ``substitutions`` merge
        into the current ones unless ``merge=False``.
        """
        return self._apply(options, merge, f"{self.name}.configure()")

    def with_options(self, *, config_path: str | Path | None = None,
                     steps: Mapping[str, Mapping[str, Any]] | None = None,
                     step_configurations: Mapping[str, Mapping[str, Any]] | None = None,
                     merge: bool = True, **options: Any) -> Pipeline:
        """A configured copy. ``config_path``: a run configuration file (YAML or TOML, in
        ZenML's shape) applied first; ``steps``: options per step invocation id; the other
        options as for :meth:`configure`, beating the file's."""
        clone = _copy(self)
        if config_path is not None:
            from zen_core.run_config import load_run_config

            file_options, by_step = load_run_config(config_path)
            clone._apply(file_options, True, str(config_path))
            clone._configure_steps(by_step, str(config_path))
            if "enable_cache" in file_options:
                clone.cache_override = file_options["enable_cache"]
        if step_configurations or steps:
            clone._configure_steps(step_configurations or steps or {},
                                   f"{self.name}.with_options(steps=...)")
        clone._apply(options, merge, f"{self.name}.with_options()", run=True)
        if options.get("enable_cache") is not None and clone.cache_override is not None:
            clone.cache_override = options["enable_cache"]  # code beats the file
        return clone

    def _apply(self, options: Mapping[str, Any], merge: bool, where: str, *,
               run: bool = False) -> Pipeline:
        from zen_core.run_config import merged, pipeline_options

        for key, value in pipeline_options(options, where, run=run).items():
            setattr(self, key, merged(getattr(self, key), key, value, merge))
        return self

    def _configure_steps(self, by_step: Mapping[str, Mapping[str, Any]], where: str) -> None:
        from zen_core.run_config import merged, step_options

        for inv_id, options in by_step.items():
            current = self.step_options.setdefault(str(inv_id), {})
            for key, value in step_options(options, f"{where}, step {inv_id!r}").items():
                current[key] = merged(current.get(key), key, value, True)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the pipeline and return the finished :class:`PipelineRun`; inside another
        pipeline's body, add this one's steps to it and return what the body returns."""
        if _context.composing.get() is not None:
            # As ZenML: the outer pipeline's options apply, not this one's.
            return self.func(*args, **kwargs)
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


def _copy(pipeline: Pipeline) -> Pipeline:
    clone = Pipeline(pipeline.func, **{k: getattr(pipeline, k) for k in _OPTIONS})
    clone.step_options = {k: dict(v) for k, v in pipeline.step_options.items()}
    clone.cache_override = pipeline.cache_override
    return clone


@overload
def pipeline(func: Callable[..., Any]) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None, enable_cache: bool | None = None,
             substitutions: Mapping[str, str] | None = None, run_name: str | None = None,
             parameters: Mapping[str, Any] | None = None, **zenml_options: Any
             ) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Make a function a pipeline: ``@pipeline`` or ``@pipeline(name=..., ...)``."""
    if func is None:
        return lambda f: Pipeline(f, **options)
    return Pipeline(func, **options)
