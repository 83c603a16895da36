"""Orchestrator interface: decides where and when each step of a run executes.

The run itself (cache checks, recording, lineage) is driven by
:class:`zen_core.execution.driver.RunDriver` in the submitting process, so an
orchestrator only schedules: for each node it asks the driver to
``prepare`` it (``None`` means cached: nothing to execute), runs
:func:`zen_core.execution.execute_step` on the task wherever it likes (it
needs only the task: no database connection), and hands the result to
``complete`` (or the exception to ``fail``).

:class:`zen_core.testing.OrchestratorContract` checks an orchestrator against
this: chains, fan-out/fan-in, ordering by ``after=``, caching, failures and
their rule, and a ``prepare`` that raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from zen_core.components import Component

if TYPE_CHECKING:
    from zen_core.execution.driver import RunDriver


class Orchestrator(Component):
    """Base class of orchestrators; subclasses set ``FLAVOR`` and ``Config``.

    ``RUNS_OUT_OF_PROCESS``: steps execute in other processes (or machines),
    so the driver refuses a stack whose artifact store is ``PROCESS_LOCAL``.
    """

    RUNS_OUT_OF_PROCESS: ClassVar[bool] = False

    def run(self, driver: RunDriver) -> None:
        """Execute every node of ``driver.nodes`` respecting ``node.upstream`` (the steps
        whose outputs it takes, and those it waits for through ``after=``): a node starts
        only once all of those have completed (or were cached). The nodes come in an
        order that respects it, so running them one by one in that order is enough.

        Call ``driver.prepare``, ``complete`` and ``fail`` from the thread that
        called ``run``. When a step fails: hand its exception to ``fail``, never
        prepare the steps downstream of it, let the steps already running finish
        (and ``complete`` them), then raise the first step's exception itself.
        Independent steps not yet started are either not started (local, threads)
        or run to completion (dask): an orchestrator says which. Return only
        when every prepared step was completed or failed: the driver marks the
        ones it was not told about as failed, and fails the run.
        """
        raise NotImplementedError
