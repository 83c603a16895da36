"""What the driver guarantees whatever the orchestrator: a stack that cannot work is refused
where the run starts, no step stays ``running`` after its run ended, and a task travels to
other processes with plain pickle."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import sys
import textwrap
import types
import uuid

import attrs
import pytest

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.errors import ConfigError, MaterializerConflictError, ZenError
from zen_core.materializers import Materializer
from zen_core.orchestrators import LocalOrchestrator, Orchestrator, execute_step
from zen_core.plugins import hookimpl, new_plugin_manager, use
from zen_core.testing import MemoryArtifactStore, write_stack


@attrs.frozen
class NoConfig:
    pass


class ElsewhereOrchestrator(LocalOrchestrator):
    """Claims to run steps in other processes (it does not need to, for the check)."""

    FLAVOR = "elsewhere"
    Config = NoConfig
    RUNS_OUT_OF_PROCESS = True


class PrepareAllFirst(Orchestrator):
    """Prepares every node before executing any: a later prepare that raises leaves the
    earlier steps recorded as running, which the driver must not leave so."""

    FLAVOR = "prepare-first"
    Config = NoConfig

    def run(self, driver):
        tasks = [(node, driver.prepare(node)) for node in driver.nodes]
        for node, task in tasks:
            if task is not None:
                driver.complete(node, execute_step(task))


class ForgetsAStep(Orchestrator):
    """Returns without finishing the steps it prepared: a broken orchestrator."""

    FLAVOR = "forgetful"
    Config = NoConfig

    def run(self, driver):
        for node in driver.nodes:
            driver.prepare(node)


class Conflicted:
    """Two materializers claim it: preparing a step with this output fails."""


class ConflictA(Materializer):
    ASSOCIATED_TYPES = (Conflicted,)


class ConflictB(Materializer):
    ASSOCIATED_TYPES = (Conflicted,)


class DriverTestPlugin:
    @hookimpl
    def zen_artifact_stores(self):
        return [MemoryArtifactStore]

    @hookimpl
    def zen_orchestrators(self):
        return [ElsewhereOrchestrator, PrepareAllFirst, ForgetsAStep]

    @hookimpl
    def zen_materializers(self):
        return [ConflictA, ConflictB]


@pytest.fixture
def test_plugins():
    pm = new_plugin_manager(entry_points=False)
    pm.register(DriverTestPlugin(), name="driver-tests")
    with use(pm):
        yield pm


@step
def first() -> int:
    return 1


@step
def conflicted() -> Conflicted:
    return Conflicted()


@pipeline
def two_roots():
    first()
    conflicted()


@pipeline
def just_first():
    first()


def test_a_process_local_store_is_refused_by_an_out_of_process_orchestrator(
        test_plugins, zen_home):
    write_stack(zen_home, "mixed", artifact_store={"flavor": "memory", "path": "memory://zen"},
                orchestrator={"flavor": "elsewhere"})
    with pytest.raises(ConfigError) as info:
        just_first()
    message = str(info.value)
    assert "stack 'mixed'" in message
    assert "artifact store 'memory' ('memory://zen')" in message and "this process" in message
    assert "orchestrator 'elsewhere' runs steps in other processes" in message
    assert "Fix:" in message and "'local'" in message
    assert Client().list_pipeline_runs() == []  # refused before anything was recorded


def test_a_process_local_store_works_with_an_in_process_orchestrator(test_plugins, zen_home):
    write_stack(zen_home, "memory", artifact_store={"flavor": "memory",
                                                    "path": f"memory://{uuid.uuid4().hex}"})
    run = just_first()
    assert run.steps["first"].outputs["output"].load() == 1


def test_no_step_stays_running_when_prepare_raises(test_plugins, zen_home):
    write_stack(zen_home, "prepare-first", orchestrator={"flavor": "prepare-first"})
    with pytest.raises(MaterializerConflictError):
        two_roots()
    [run] = Client().list_pipeline_runs()
    assert run.status == "failed"
    assert {name: s.status for name, s in run.steps.items()} == {"first": "failed"}
    error = run.steps["first"].error
    assert "the run ended before this step finished" in error
    assert "MaterializerConflictError" in error


def test_an_orchestrator_that_returns_early_fails_the_run(test_plugins, zen_home):
    write_stack(zen_home, "forgetful", orchestrator={"flavor": "forgetful"})
    with pytest.raises(ZenError, match=r"orchestrator 'forgetful' returned before step\(s\) "
                                       r"'first' finished"):
        just_first()
    [run] = Client().list_pipeline_runs()
    assert run.status == "failed"
    assert run.steps["first"].status == "failed"


STEPS = textwrap.dedent('''
    from zen_core import pipeline, step

    @step
    def produce(n: int) -> list:
        return list(range(n))

    @step(enable_cache=False)
    def total(values: list) -> int:
        return sum(values)

    @pipeline
    def summed(n: int):
        total(produce(n))
''')


class SpawnedProcesses(Orchestrator):
    """Executes each step in a fresh (spawned) process, sending the task by plain pickle."""

    FLAVOR = "spawned"
    Config = NoConfig
    RUNS_OUT_OF_PROCESS = True

    def run(self, driver):
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            for node in driver.nodes:
                task = driver.prepare(node)
                if task is not None:
                    driver.complete(node, pool.submit(execute_step, task).result())


def test_tasks_of_module_level_steps_travel_by_plain_pickle(zen_home, tmp_path, monkeypatch):
    module = f"zen_plain_pickle_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(STEPS)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers get the same sys.path
    steps = __import__(module)
    pm = new_plugin_manager(entry_points=False)
    pm.register(types.SimpleNamespace(zen_orchestrators=hookimpl(lambda: [SpawnedProcesses])),
                name="spawned")
    write_stack(zen_home, "spawned", orchestrator={"flavor": "spawned"})
    try:
        with use(pm):
            run = steps.summed(4)
            assert run.steps["total"].outputs["output"].load() == 6
            assert steps.summed(4).steps["produce"].status == "cached"
    finally:
        sys.modules.pop(module, None)


def test_a_configured_copy_of_a_step_pickles_with_its_options():
    import pickle

    from zen_core.testing import orchestrators  # steps defined at module level

    clone = orchestrators.add.with_options(enable_cache=False, substitutions={"x": "1"})
    again = pickle.loads(pickle.dumps(clone))
    assert again.func is orchestrators.add.func
    assert (again.enable_cache, again.substitutions) == (False, {"x": "1"})
    assert pickle.loads(pickle.dumps(orchestrators.add)) is orchestrators.add
