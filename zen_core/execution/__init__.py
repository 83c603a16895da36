"""Running a pipeline: composing it, deciding per step, executing steps, recording results.

* :mod:`~zen_core.execution.compose`: runs the pipeline body to record step
  invocations and their wiring (:class:`Invocation`, :class:`OutputHandle`);
* :mod:`~zen_core.execution.driver`: the :class:`RunDriver` of one run, in the
  submitting process: cache decisions, records, lineage;
* :mod:`~zen_core.execution.cache`: cache keys and hits;
* :mod:`~zen_core.execution.task`: :func:`execute_step`, which runs one step
  anywhere from a :class:`StepTask` alone (no database connection).

Orchestrator plugins import these names from :mod:`zen_core.orchestrators`. Names load
on first use: a worker that only executes steps never imports the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["Invocation", "OutputHandle", "OutputPlan", "RunDriver", "StepResult", "StepTask",
           "execute_step", "run_pipeline"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Invocation": "zen_core.execution.compose",
    "OutputHandle": "zen_core.execution.compose",
    "RunDriver": "zen_core.execution.driver",
    "run_pipeline": "zen_core.execution.driver",
    "OutputPlan": "zen_core.execution.task",
    "StepResult": "zen_core.execution.task",
    "StepTask": "zen_core.execution.task",
    "execute_step": "zen_core.execution.task",
})

if TYPE_CHECKING:
    from zen_core.execution.compose import Invocation, OutputHandle
    from zen_core.execution.driver import RunDriver, run_pipeline
    from zen_core.execution.task import OutputPlan, StepResult, StepTask, execute_step
