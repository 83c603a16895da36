"""The dask orchestrator on a real LocalCluster with process workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Annotated, Any

import attrs
import pytest

from zen_core import pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import ConfigError
from zen_core.materializers import Materializer
from zen_core.testing import free_port

# -- steps ---------------------------------------------------------------------------------


def _wait_for(path: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} never started: the steps did not run concurrently")
        time.sleep(0.01)


@step
def rendezvous(me: str, other: str, folder: str) -> Annotated[int, "pid"]:
    """Finishes only if the other step runs at the same time (a barrier, not a timer)."""
    Path(folder, me).touch()
    _wait_for(Path(folder, other), other)
    return os.getpid()


@step
def both(a: int, b: int) -> list:
    return [a, b, os.getpid()]


@pipeline
def parallel(folder: str):
    both(rendezvous("left", "right", folder, id="left"),
         rendezvous("right", "left", folder, id="right"))


@step
def make_numbers(n: int) -> list:
    return list(range(n))


@step
def total(numbers: list) -> int:
    return sum(numbers)


@step
def describe(numbers: list, total: int) -> dict:
    return {"count": len(numbers), "total": total, "pid": os.getpid()}


@pipeline
def chain(n: int):
    numbers = make_numbers(n)
    describe(numbers, total(numbers))


class StepBroke(ValueError):
    """Raised by a step, defined in this test module: must come back as this very class."""


@step
def fine() -> int:
    return 7


@step
def broken(x: int) -> int:
    raise StepBroke(f"bad value {x}")


@step
def after(x: int) -> int:
    return x + 1


@pipeline
def half_broken():
    fine()
    after(broken(42))


# Artifacts loaded on the worker: the materializer notes where it loaded.


@attrs.define
class Box:
    value: int
    loaded_in: int | None = None


class BoxMaterializer(Materializer):
    ASSOCIATED_TYPES = (Box,)

    def save(self, data: Box) -> None:
        with self.open("value.txt", "w") as f:
            f.write(str(data.value))

    def load(self, data_type: type) -> Box:
        with self.open("value.txt", "r") as f:
            return Box(int(f.read()), loaded_in=os.getpid())


@step(output_materializers=BoxMaterializer)
def boxed(x: int) -> Box:
    return Box(x * 2)


@step
def unbox(box: Box) -> tuple[Annotated[int, "unboxed"], Annotated[int, "loaded_in"]]:
    return box.value, box.loaded_in


@pipeline
def boxes(external: Any):
    unbox(boxed(external))


# The crash: a materializer writes part of a large file, then its worker is SIGKILLed.


@attrs.define
class Blob:
    data: bytes
    crash_marker: str | None = None  # crash once: only while this file does not exist


class CrashOnceMaterializer(Materializer):
    ASSOCIATED_TYPES = (Blob,)

    def save(self, data: Blob) -> None:
        with self.open("blob.bin", "wb") as f:
            half = len(data.data) // 2
            f.write(memoryview(data.data)[:half])
            marker = Path(data.crash_marker) if data.crash_marker else None
            if marker is not None and not marker.exists():
                marker.write_text(str(os.getpid()))
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            f.write(memoryview(data.data)[half:])

    def load(self, data_type: type) -> Blob:
        with self.open("blob.bin", "rb") as f:
            return Blob(f.read())


@step
def small() -> Annotated[str, "small"]:
    return "kept"


@step(output_materializers=CrashOnceMaterializer)
def big(prefix: str, marker: str) -> Annotated[Blob, "big_blob"]:
    return Blob(prefix.encode() * (1 << 20), crash_marker=marker)  # 4 MiB


@step
def measure(blob: Blob) -> Annotated[int, "blob_size"]:
    return len(blob.data)


@pipeline
def crashing(marker: str):
    measure(big(small(), marker))


# -- tests ---------------------------------------------------------------------------------


def _worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


def test_independent_steps_run_in_parallel_on_workers(dask_stack, tmp_path):
    client = dask_stack()
    run = parallel(str(tmp_path))
    assert run.status == "completed"
    a, b, joined_in = run.steps["both"].outputs["output"].load()
    workers = _worker_pids(client)
    assert a != b  # two worker processes at once: each waited for the other
    assert {a, b, joined_in} <= workers
    assert os.getpid() not in workers


def test_dependency_order_lineage_and_cache(dask_stack):
    run = chain(5)
    assert run.status == "completed"
    assert {name: s.status for name, s in run.steps.items()} == {
        "make_numbers": "completed", "total": "completed", "describe": "completed"}
    result = run.steps["describe"].outputs["output"].load()
    assert result["count"] == 5 and result["total"] == 10 and result["pid"] != os.getpid()

    # lineage is recorded by the submitting client
    numbers = run.steps["make_numbers"].outputs["output"]
    assert numbers.producer.id == run.steps["make_numbers"].id
    assert {s.name for s in numbers.consumers} == {"total", "describe"}
    final = run.steps["describe"].outputs["output"]
    graph = Client().get_lineage(final, direction="upstream")
    assert numbers.id in graph.nodes and run.steps["total"].outputs["output"].id in graph.nodes

    again = chain(5)
    assert again.status == "completed"
    assert {s.status for s in again.steps.values()} == {"cached"}
    assert again.steps["describe"].outputs["output"].id == final.id


def _keys_the_scheduler_saw(dask_scheduler) -> set[str]:
    return {str(entry[0]) for entry in dask_scheduler.transition_log}


def test_a_run_sends_promptly_and_leaves_no_results_on_the_cluster(dask_stack):
    dask_stack()
    run = chain(3)
    assert run.status == "completed"
    orchestrator = Client().active_stack.orchestrator
    client = orchestrator.client  # the orchestrator's own connection, not the fixture's
    # one step's message reaches the scheduler within a millisecond, not dask's default 10
    assert client.scheduler_comm.interval <= 0.001
    step_keys = {f"{s.name}-{s.id}-0" for s in run.steps.values()}
    seen = client.run_on_scheduler(_keys_the_scheduler_saw)
    assert step_keys <= seen  # they ran under these keys
    deadline = time.monotonic() + 30  # releases travel asynchronously
    while (held := step_keys & {k for keys in client.has_what().values() for k in keys}):
        assert time.monotonic() < deadline, f"results never released: {sorted(held)}"
        time.sleep(0.05)


def test_failure_keeps_the_original_exception_and_finishes_independent_steps(dask_stack):
    with pytest.raises(StepBroke, match="bad value 42") as info:
        half_broken()
    assert type(info.value) is StepBroke  # the class itself, not a wrapper
    [run] = Client().list_pipeline_runs(pipeline_name="half_broken")
    assert run.status == "failed"
    statuses = {name: s.status for name, s in run.steps.items()}
    assert statuses == {"fine": "completed", "broken": "failed"}  # `after` never ran
    assert run.steps["fine"].outputs["output"].load() == 7
    error = run.steps["broken"].error
    assert "StepBroke: bad value 42" in error and "in broken" in error  # the worker's traceback


def test_artifacts_are_loaded_on_the_worker(dask_stack):
    client = dask_stack()
    external = save_artifact(21, "external_number")
    run = boxes(Client().get_artifact_version("external_number"))
    assert run.status == "completed"
    outputs = run.steps["unbox"].outputs
    assert outputs["unboxed"].load() == 42
    assert outputs["loaded_in"].load() in _worker_pids(client)
    assert run.steps["boxed"].inputs["x"].id == external.id
    # and the client loads the same artifact in its own process
    assert run.steps["boxed"].outputs["output"].load().loaded_in == os.getpid()


def test_worker_killed_mid_save_leaves_nothing_visible_and_next_run_reuses_cache(
        dask_stack, tmp_path):
    from zen_dask import WorkerDiedError

    dask_stack(retries=0)
    marker = tmp_path / "crashed-once"
    with pytest.raises(WorkerDiedError) as info:
        crashing(str(marker))
    message = str(info.value)
    assert "step 'big'" in message and "worker running it died" in message
    assert "retries" in message and len(message) < 400  # dask's account is on .reason
    assert marker.exists()

    client = Client()
    [run] = client.list_pipeline_runs(pipeline_name="crashing")
    assert run.status == "failed"
    assert {n: s.status for n, s in run.steps.items()} == {"small": "completed", "big": "failed"}
    assert client.list_artifact_versions(name="big_blob") == []  # nothing half-visible
    store = client.active_stack.artifact_store
    leftovers = list(store.iter_staging())
    assert [e.pid for e in leftovers] == [int(marker.read_text())]  # the dead worker's write
    assert 0 < sum(store.list_files(leftovers[0].uri).values()) < 4 << 20

    report = client.prune_artifacts()
    assert report.staging == [leftovers[0].uri]
    assert list(store.iter_staging()) == []

    rerun = crashing(str(marker))
    assert rerun.status == "completed"
    statuses = {n: s.status for n, s in rerun.steps.items()}
    assert statuses == {"small": "cached", "big": "completed", "measure": "completed"}
    assert rerun.steps["measure"].outputs["blob_size"].load() == 4 << 20
    assert rerun.steps["big"].outputs["big_blob"].load().data == b"kept" * (1 << 20)


def test_retries_resubmit_a_step_whose_worker_died(dask_stack, tmp_path):
    dask_stack(retries=1)
    marker = tmp_path / "crashed-once"
    run = crashing(str(marker))
    assert marker.exists()  # the first attempt did die
    assert run.status == "completed"
    assert run.steps["measure"].outputs["blob_size"].load() == 4 << 20
    store = Client().active_stack.artifact_store
    assert len(list(store.iter_staging())) == 1  # the dead attempt's, until prune
    assert len(Client().prune_artifacts().staging) == 1
    assert [v.version for v in Client().list_artifact_versions(name="big_blob")] == ["1"]


def test_unreachable_scheduler_is_a_clear_error(zen_home):
    port = free_port()  # nobody listens there
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        'active_stack = "dask"\n[stacks.dask]\n'
        f'orchestrator = {{ flavor = "dask", address = "tcp://127.0.0.1:{port}", timeout = 1 }}\n')
    from zen_dask import DaskOrchestratorError

    with pytest.raises(DaskOrchestratorError) as info:
        chain(3)
    message = str(info.value)
    assert f"'tcp://127.0.0.1:{port}'" in message and "cannot reach the scheduler" in message
    assert "orchestrator.address" in message
    [run] = Client().list_pipeline_runs(pipeline_name="chain")
    assert run.status == "failed"


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("n_workers", "0", r"n_workers = 0 must be at least 1"),
    ("threads_per_worker", "-2", r"threads_per_worker = -2 must be at least 1"),
    ("retries", "-1", r"retries = -1 must be 0 or more"),
    ("address", '"not an address"', r"address = 'not an address' is not a scheduler address"),
    ("workers", "2", r"unknown key\(s\) 'workers'.*n_workers"),
])
def test_bad_config_names_file_key_and_value(zen_home, option, value, expected):
    zen_home.mkdir(parents=True, exist_ok=True)
    config = zen_home / "config.toml"
    config.write_text('active_stack = "dask"\n[stacks.dask]\n'
                      f'orchestrator = {{ flavor = "dask", {option} = {value} }}\n')
    with pytest.raises(ConfigError, match=expected) as info:
        chain(3)
    assert str(config) in str(info.value) and "stacks.dask.orchestrator" in str(info.value)


def test_module_missing_on_a_worker_is_a_clear_error():
    from zen_dask import DaskOrchestratorError
    from zen_dask.orchestrator import _execute

    with pytest.raises(DaskOrchestratorError) as info:
        _execute((("zen_dask_tests_absent_steps", "/nowhere/steps.py"),), b"")
    message = str(info.value)
    assert "'zen_dask_tests_absent_steps'" in message and "/nowhere/steps.py" in message
    assert "install your project on the workers" in message


def test_describe_masks_secrets():
    from zen_dask import DaskOrchestrator, DaskOrchestratorConfig

    orchestrator = DaskOrchestrator(DaskOrchestratorConfig(address="tls://user:s3cret@sched:8786"))
    described = orchestrator.describe()
    assert described["flavor"] == "dask" and "s3cret" not in str(described)


SCRIPT = textwrap.dedent('''
    import json, os, sys
    from zen_core import pipeline, step

    @step
    def hello(name: str) -> str:
        return f"hello {name}"

    @step
    def where(greeting: str) -> list:
        return [greeting, os.getpid()]

    @pipeline
    def script_pipeline(name: str):
        where(hello(name))

    if __name__ == "__main__":  # dask starts worker processes by re-importing this script
        run = script_pipeline("dask")
        greeting, pid = run.steps["where"].outputs["output"].load()
        print(json.dumps({"status": run.status, "greeting": greeting,
                          "on_worker": pid != os.getpid()}))
''')


def test_steps_defined_in_main_reach_workers_of_an_own_local_cluster(zen_home, tmp_path):
    import json

    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        'active_stack = "dask"\n[stacks.dask]\n'
        'orchestrator = { flavor = "dask", n_workers = 1, processes = true }\n')
    script = tmp_path / "script_pipeline.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "ZEN_HOME": str(zen_home)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "status": "completed", "greeting": "hello dask", "on_worker": True}



def test_a_clean_run_leaves_no_staging_folders_on_the_workers(dask_stack, tmp_path):
    """Defect 13: workers kept their emptied staging folders for reuse and left one per
    worker process behind after every clean run."""
    run = parallel(str(tmp_path))  # both workers save outputs
    assert run.status == "completed"
    assert len({s.outputs["pid"].load() for n, s in run.steps.items() if "pid" in s.outputs}) == 2
    store = Client().active_stack.artifact_store
    assert list(store.iter_staging()) == []
    uncached = chain.with_options(enable_cache=False)
    for _ in range(2):  # the second run stores content that is there already
        assert uncached(5).status == "completed"
    assert list(store.iter_staging()) == []
