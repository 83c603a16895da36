"""Orchestrators: the public face for engine plugins, with the driver/task API they use.

An orchestrator's ``run(driver)`` walks ``driver.nodes`` (:class:`Invocation`),
asks ``driver.prepare(node)`` for a :class:`StepTask` (``None``: cached), runs
:func:`execute_step` wherever it likes and hands the :class:`StepResult` to
``driver.complete`` (or the exception to ``driver.fail``). See
:class:`Orchestrator` and docs/plugins.md. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["Invocation", "LocalOrchestrator", "Orchestrator", "OutputPlan", "RunDriver",
           "StepResult", "StepTask", "execute_step"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Orchestrator": "zen_core.orchestrators.base",
    "LocalOrchestrator": "zen_core.orchestrators.local",
    "Invocation": "zen_core.execution.compose",
    "RunDriver": "zen_core.execution.driver",
    "OutputPlan": "zen_core.execution.task",
    "StepResult": "zen_core.execution.task",
    "StepTask": "zen_core.execution.task",
    "execute_step": "zen_core.execution.task",
})

if TYPE_CHECKING:
    from zen_core.execution.compose import Invocation
    from zen_core.execution.driver import RunDriver
    from zen_core.execution.task import OutputPlan, StepResult, StepTask, execute_step
    from zen_core.orchestrators.base import Orchestrator
    from zen_core.orchestrators.local import LocalOrchestrator
