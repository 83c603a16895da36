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

_OPTIONS = ("name", "enable_cache", "output_materializers", "substitutions")


class Step:
    """A step definition. Inside a pipeline, calling it records an invocation;
    outside, it simply runs the function."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 enable_cache: bool | None = None,
                 output_materializers: Any = None,
                 substitutions: Mapping[str, str] | None = None) -> None:
        if not callable(func):
            raise TypeError(f"@step decorates a function, got {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.enable_cache = enable_cache
        self.output_materializers = output_materializers
        self.substitutions = dict(substitutions or {})
        self._signature: StepSignature | None = None

    def with_options(self, **options: Any) -> Step:
        """A configured copy; ``substitutions`` merge over the step's own."""
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"{self.name}.with_options() got unknown option(s) "
                            f"{', '.join(sorted(unknown))}; accepted: {', '.join(_OPTIONS)}")
        current = {k: getattr(self, k) for k in _OPTIONS}
        if "substitutions" in options:
            options["substitutions"] = {**self.substitutions, **(options["substitutions"] or {})}
        clone = Step(self.func, **{**current, **options})
        clone._signature = self._signature
        return clone

    @property
    def signature(self) -> StepSignature:
        if self._signature is None:
            from zen_core.signatures import parse_step

            self._signature = parse_step(self.func, self.name)
        return self._signature

    def __call__(self, *args: Any, id: str | None = None, **kwargs: Any) -> Any:
        composer = _context.composing.get()
        if composer is None:
            return self.func(*args, **kwargs)
        return composer.add(self, args, kwargs, invocation_id=id)

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
    clone = Step(found.func, **options)
    clone._signature = found._signature
    return clone


@overload
def step(func: Callable[..., Any]) -> Step: ...
@overload
def step(*, name: str | None = None, enable_cache: bool | None = None,
         output_materializers: Any = None,
         substitutions: Mapping[str, str] | None = None) -> Callable[[Callable[..., Any]], Step]: ...


def step(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Make a function a step: ``@step`` or ``@step(name=..., enable_cache=..., ...)``."""
    if func is None:
        return lambda f: Step(f, **options)
    return Step(func, **options)
