"""Process-wide preparation, done once when the first pipeline is defined.

Importing zen_core stays cheap (a few milliseconds) because the run machinery is
imported on demand. Left at that, a process's first pipeline call would pay for it —
importing the driver, the Client and their libraries, discovering the installed
plugins, compiling the tokenizer that reads a step's source — tens of milliseconds
that no later call pays. Defining a pipeline does that work instead, so a service or
notebook that defines its pipelines up front answers its first call as fast as the
next. Nothing here reads the configuration: the stack, the database and ``ZEN_HOME``
are still chosen when a pipeline runs. A failure here is ignored: the first call
meets it again and reports it.
"""

from __future__ import annotations

__all__ = ["prepare_process"]

_prepared = False


def prepare_process() -> None:
    """Import the run machinery and discover plugins now rather than in the first call."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    try:
        import inspect

        import platformdirs  # noqa: F401 (where ZEN_HOME defaults to)

        import zen_core.client  # noqa: F401
        import zen_core.execution.driver  # noqa: F401
        import zen_core.visualize  # noqa: F401 (progress asks whether this is a notebook)
        from zen_core.components import KINDS
        from zen_core.leases import own_start_time, this_host
        from zen_core.materializers.registry import get_registry
        from zen_core.stack import providers

        for kind in KINDS:  # each plugin's component classes (their modules imported)
            providers(kind.name)
        get_registry()  # and its materializers
        this_host(), own_start_time()  # what a run's lease records of this process
        inspect.getsource(prepare_process)  # compiles the tokenizer's patterns, once
    except Exception:  # (reported by the first call, where it matters)
        pass
