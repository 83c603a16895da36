"""zen-threads passes the orchestrator contract, and runs independent steps at once."""

import threading

import pytest

from zen_core import pipeline, step
from zen_core.testing import OrchestratorContract, write_stack


@pytest.fixture
def threads_stack(zen_home):
    write_stack(zen_home, "threads", orchestrator={"flavor": "threads", "workers": 2})


class TestThreadPoolOrchestrator(OrchestratorContract):
    @pytest.fixture
    def orchestrator_stack(self, threads_stack):
        pass


both_started = threading.Barrier(2, timeout=30)


@step(enable_cache=False)
def meet(i: int) -> int:
    both_started.wait()  # returns only if the other step runs at the same time
    return i


@step
def total(a: int, b: int) -> int:
    return a + b


@pipeline
def side_by_side():
    total(meet(1), meet(2, id="meet_2"))


def test_independent_steps_run_at_the_same_time(threads_stack):
    run = side_by_side()
    assert run.steps["total"].outputs["output"].load() == 3


def test_entry_point_is_listed():
    from zen_core.plugins import list_plugins

    infos = {i.name: i for i in list_plugins()}
    assert "threads" in infos, "pip install -e examples/zen_threads to register the entry point"
    assert infos["threads"].provides == {"orchestrators": ["threads"]}
