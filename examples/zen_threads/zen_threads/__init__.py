"""zen-threads: a worked example orchestrator running independent steps on a thread pool.

The driver (cache, records, lineage) stays in the calling thread; the pool only
runs :func:`execute_step`, which needs nothing but the task. Threads share this
process, so any artifact store works, a process-local one included.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import attrs

from zen_core.orchestrators import Invocation, Orchestrator, RunDriver, execute_step
from zen_core.plugins import hookimpl


@attrs.frozen
class ThreadPoolOrchestratorConfig:
    workers: int = attrs.field(default=4, validator=attrs.validators.ge(1))


class ThreadPoolOrchestrator(Orchestrator):
    """Starts each step once its upstream steps are done. After a failure it starts
    nothing new, lets running steps finish, then raises the first exception."""

    FLAVOR = "threads"
    Config = ThreadPoolOrchestratorConfig

    def run(self, driver: RunDriver) -> None:
        done: set[str] = set()
        waiting = list(driver.nodes)  # in topological order
        running: dict[Future, Invocation] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="zen-step") as pool:
            while True:
                ready = [n for n in waiting if set(n.upstream) <= done] if not failure else []
                for node in ready:
                    waiting.remove(node)
                    try:
                        task = driver.prepare(node)  # None: cached, nothing to execute
                    except Exception as exc:  # e.g. a materializer conflict: a failure too
                        failure = exc
                        break
                    if task is None:
                        done.add(node.id)
                    else:
                        running[pool.submit(execute_step, task)] = node
                if not running:
                    if ready and not failure:
                        continue  # cached steps may have unblocked others
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    node = running.pop(future)
                    try:
                        result = future.result()
                    except BaseException as exc:
                        driver.fail(node, exc)
                        failure = failure or exc
                    else:
                        driver.complete(node, result)
                        done.add(node.id)
        if failure is not None:
            raise failure


@hookimpl
def zen_orchestrators() -> list[type[Orchestrator]]:
    return [ThreadPoolOrchestrator]
