"""Orchestrator interface: decides where and when each step of a run executes.

The run itself (cache checks, recording, lineage) is driven by
:class:`zen_core.execution.driver.RunDriver` in the submitting process, so an
orchestrator only schedules: for each node it asks the driver to
``prepare`` it (``None`` means cached: nothing to execute), runs
:func:`zen_core.execution.execute_step` on the task wherever it likes (it
needs only the task: no database connection), and hands the result to
``complete`` (or the exception to ``fail``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core.components import Component

if TYPE_CHECKING:
    from zen_core.execution.driver import RunDriver


class Orchestrator(Component):
    """Base class of orchestrators; subclasses set ``FLAVOR`` and ``Config``."""

    def run(self, driver: RunDriver) -> None:
        """Execute every node of ``driver.nodes`` respecting ``node.upstream``.

        Raise the first step's exception after letting independent steps
        finish where the engine can; the driver has recorded each failure.
        """
        raise NotImplementedError
