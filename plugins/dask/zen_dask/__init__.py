"""zen-dask: the ``dask`` orchestrator, running pipeline steps on a dask.distributed cluster.

Importing this package stays cheap: dask is imported only when a run starts.
"""

from __future__ import annotations

from zen_core.plugins import hookimpl

__all__ = ["DaskOrchestrator", "DaskOrchestratorConfig", "DaskOrchestratorError",
           "WorkerDiedError"]


def __getattr__(name: str):
    if name in __all__:
        from zen_dask import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module 'zen_dask' has no attribute {name!r}")


@hookimpl
def zen_orchestrators():
    from zen_dask.orchestrator import DaskOrchestrator

    return [DaskOrchestrator]
