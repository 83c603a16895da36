"""``@step``: a function whose outputs become versioned artifacts.

Importing this module must stay cheap (stdlib only): everything heavy —
signature analysis, materializer lookup, storage — happens on first run.
``get_step_context`` and ``StepContext`` (:mod:`zen_core.steps.step_context`)
load on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

from zen_core import _context
from zen_core._lazy import lazy_exports

if TYPE_CHECKING:
    from zen_core.signatures import StepSignature
    from zen_core.steps.step_context import StepContext, get_step_context

__all__ = ["Step", "StepContext", "get_step_context", "step"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "StepContext": "zen_core.steps.step_context",
    "get_step_context": "zen_core.steps.step_context",
})

_OPTIONS = ("name", "enable_cache", "output_materializers", "substitutions", "parameters")


class Step:
    """A step definition. Inside a pipeline, calling it records an invocation; outside,
    it runs as a one-step pipeline run (recorded, with lineage) and returns its outputs.
    ``step.entrypoint(...)`` calls the plain function."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 enable_cache: bool | None = None,
                 output_materializers: Any = None,
                 substitutions: Mapping[str, str] | None = None,
                 parameters: Mapping[str, Any] | None = None, **zenml_options: Any) -> None:
        if not callable(func):
            raise TypeError(f"@step decorates a function, got {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.enable_cache = enable_cache
        self.output_materializers = output_materializers
        self.substitutions = dict(substitutions or {})
        self.parameters = dict(parameters or {})  # values for arguments a call leaves out
        self._signature: StepSignature | None = None
        if zenml_options:  # ZenML's settings, model, retry ...: checked, warned about
            self._apply(zenml_options, True, f"@step of {self.name!r}")

    @property
    def entrypoint(self) -> Callable[..., Any]:
        """The plain function: calling it runs nothing else and records nothing."""
        return self.func

    def configure(self, *, merge: bool = True, **options: Any) -> Step:
        """Change this step in place (``with_options`` makes a configured copy instead).

        Takes ZenML's step options: ``enable_cache``, ``parameters``, ``substitutions``,
        ``output_materializers``, ``name``; ``settings`` and ZenML's other options are
        warned about and ignored. ``parameters`` and ``substitutions`` merge into the
        current ones unless ``merge=False``.
        """
        return self._apply(options, merge, f"{self.name}.configure()")

    def with_options(self, *, merge: bool = True, **options: Any) -> Step:
        """A configured copy (options as for :meth:`configure`)."""
        return _copy(self)._apply(options, merge, f"{self.name}.with_options()")

    def _apply(self, options: dict[str, Any], merge: bool, where: str) -> Step:
        from zen_core.run_config import merged, step_options

        for key, value in step_options(options, where).items():
            setattr(self, key, merged(getattr(self, key), key, value, merge))
        return self

    @property
    def signature(self) -> StepSignature:
        if self._signature is None:
            from zen_core.signatures import parse_step

            self._signature = parse_step(self.func, self.name)
        return self._signature

    def __call__(self, *args: Any, id: str | None = None, after: Any = None,
                 **kwargs: Any) -> Any:
        """In a pipeline's body: record an invocation (``id=`` names it, ``after=`` orders
        it after other invocations) and return its output handle(s). Elsewhere: run it."""
        composer = _context.composing.get()
        if composer is None:
            from zen_core.execution.single import run_step

            return run_step(self, args, kwargs, invocation_id=id, after=after)
        return composer.add(self, args, kwargs, invocation_id=id, after=after)

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle a step defined at module level by reference (module, name and options),
        so a task reaches another process with plain pickle (``ProcessPoolExecutor``). The
        function itself cannot be pickled by name: the module's attribute is this Step.
        Steps in ``__main__`` or inside functions pickle by value, which needs cloudpickle."""
        module, qualname = self.func.__module__, self.func.__qualname__
        found = _lookup(module, qualname)
        if module == "__main__" or not (isinstance(found, Step) and found.func is self.func):
            return super().__reduce_ex__(protocol)
        options = {k: getattr(self, k) for k in _OPTIONS}
        return (_step_by_reference, (module, qualname, options))


def _lookup(module: str, qualname: str) -> Any:
    """``module.qualname`` if that module is loaded and has it, else ``None``."""
    import sys

    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def _step_by_reference(module: str, qualname: str, options: dict[str, Any]) -> Step:
    """The module-level step ``module.qualname``, or a copy with other ``options``."""
    import importlib

    importlib.import_module(module)
    found = _lookup(module, qualname)
    if not isinstance(found, Step):
        raise TypeError(f"{module}.{qualname} is not a step here, so a pickled step that "
                        f"refers to it cannot be loaded")
    if {k: getattr(found, k) for k in _OPTIONS} == options:
        return found  # the process's own object: its parsed signature is kept
    clone = _copy(found)
    for key, value in options.items():
        setattr(clone, key, value)
    return clone


def _copy(step: Step) -> Step:
    """A copy that shares the function and its parsed signature."""
    clone = Step(step.func, **{k: getattr(step, k) for k in _OPTIONS})
    clone._signature = step._signature
    return clone


@overload
def step(func: Callable[..., Any]) -> Step: ...
@overload
def step(*, name: str | None = None, enable_cache: bool | None = None,
         output_materializers: Any = None, substitutions: Mapping[str, str] | None = None,
         parameters: Mapping[str, Any] | None = None,
         **zenml_options: Any) -> Callable[[Callable[..., Any]], Step]: ...


def step(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Make a function a step: ``@step`` or ``@step(name=..., enable_cache=..., ...)``."""
    if func is None:
        return lambda f: Step(f, **options)
    return Step(func, **options)
