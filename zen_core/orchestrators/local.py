"""The local orchestrator: steps run one after another in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from zen_core.execution.task import execute_step
from zen_core.orchestrators.base import Orchestrator
from zen_core.plugins import hookimpl

if TYPE_CHECKING:
    from zen_core.execution.driver import RunDriver


@attrs.frozen
class LocalOrchestratorConfig:
    pass


class LocalOrchestrator(Orchestrator):
    """Runs steps in topological order; the first failure stops the run."""

    FLAVOR = "local"
    Config = LocalOrchestratorConfig

    def run(self, driver: RunDriver) -> None:
        for node in driver.nodes:
            task = driver.prepare(node)
            if task is None:
                continue
            try:
                result = execute_step(task)
            except BaseException as exc:
                driver.fail(node, exc)
                raise
            driver.complete(node, result)


@hookimpl
def zen_orchestrators() -> list[type[Orchestrator]]:
    return [LocalOrchestrator]
