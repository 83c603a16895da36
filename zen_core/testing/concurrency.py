"""Several processes running pipelines on one stack at once: the concurrency guarantee."""

from __future__ import annotations

CONCURRENT_SCRIPT = '''
import sys
from typing import Annotated
from zen_core import step, pipeline

@step(enable_cache=False)
def produce(i: int) -> Annotated[int, "shared_counter"]:
    return i

@step(enable_cache=False)
def consume(x: int) -> int:
    return x + 1

@pipeline(enable_cache=False)
def contended(i: int):
    consume(produce(i=i))

for i in range(int(sys.argv[1])):
    contended(i)
'''


def run_concurrent_pipelines(env: dict[str, str], processes: int = 8, runs: int = 5,
                             cwd: str | None = None, timeout: float = 300) -> list[str]:
    """Start ``processes`` Python processes each running ``runs`` pipelines on one stack.

    Returns the stderr of every process that failed (empty when all succeeded).
    """
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_SCRIPT, str(runs)], env=env,
                              cwd=cwd, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            failures.append(err)
    return failures


def check_concurrent_pipelines(env: dict[str, str], processes: int = 8, runs: int = 5,
                               cwd: str | None = None) -> None:
    """The concurrency guarantee, asserted: ``processes`` processes each run ``runs``
    pipelines at once; every run completes and each artifact name's versions are exactly
    ``1..processes * runs``. ``env`` must select the stack this process's ``Client`` sees,
    holding no runs of the ``contended`` pipeline yet."""
    from zen_core.client import Client

    failures = run_concurrent_pipelines(env, processes, runs, cwd)
    assert failures == [], "\n\n".join(failure[-2000:] for failure in failures)
    client = Client()
    total = processes * runs
    recorded = client.list_pipeline_runs(pipeline_name="contended")
    assert len(recorded) == total and {r.status for r in recorded} == {"completed"}
    for name in ("shared_counter", "contended::consume::output"):
        versions = sorted(int(v.version) for v in client.list_artifact_versions(name=name))
        assert versions == list(range(1, total + 1)), name
