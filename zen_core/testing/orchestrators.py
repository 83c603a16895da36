"""The contract every orchestrator passes: chains, fan-out/fan-in, ordering, caching, failures.

The steps are defined here, at module level, so an orchestrator that runs them
in other processes (plain pickle by reference, or cloudpickle) finds them by
importing this module.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Annotated, Any

import pytest

from zen_core import (
    ArtifactConfig,
    add_tags,
    get_step_context,
    log_metadata,
    pipeline,
    save_artifact,
    step,
)
from zen_core.client import Client
from zen_core.errors import ArtifactVersionExistsError
from zen_core.records import PipelineRun

__all__ = ["ContractStepError", "OrchestratorContract"]


class ContractStepError(Exception):
    """What the failing step raises: the run must raise this very class."""


@step
def number(n: int) -> int:
    return n


@step
def double(x: int) -> int:
    return 2 * x


@step
def add(a: int, b: int) -> int:
    return a + b


@step
def total(numbers: list[int]) -> int:
    return sum(numbers)


@step
def boom(x: int) -> int:
    raise ContractStepError(f"boom at {x}")


@step
def slowly(n: int) -> int:
    time.sleep(0.2)  # still running when a step prepared after it is refused
    return n


@step
def pinned() -> Annotated[int, ArtifactConfig(name="contract_pinned", version="1")]:
    return 1


@step
def introspect(x: int) -> Annotated[dict, "report"]:
    """Uses the step context and logs, wherever the orchestrator runs it (no metadata store
    connection needed)."""
    context = get_step_context()
    log_metadata({"pid": os.getpid()})
    log_metadata({"input": x}, infer_artifact=True)
    add_tags(["introspected"])
    return {"run": context.pipeline_run.name, "step": context.step_name,
            "step_run": context.step_run.id, "input": context.inputs["x"].id}


@pipeline
def self_aware(n: int):
    introspect(number(n))


@pipeline
def chain(n: int):
    double(double(number(n)), id="double_2")


@pipeline
def fan_out_fan_in(n: int):
    source = number(n)
    add(double(source, id="left"), add(source, source, id="right"), id="join")


@pipeline
def gathered(n: int):
    total([number(n, id="a"), double(number(n, id="b"))])


@pipeline
def half_broken():
    doomed = boom(number(2, id="upstream"))
    double(doomed, id="downstream")
    number(1, id="independent")  # composed last: its fate follows the orchestrator's rule


@pipeline
def ordered_without_data():
    number(2, id="second", after="first")  # composed before the step it waits for
    number(3, id="third", after=[slowly(1, id="first")])


@pipeline
def refused_while_running():
    slowly(5)
    pinned()  # its version is taken: preparing it raises


class OrchestratorContract:
    """What the core needs from an orchestrator. Provide an ``orchestrator_stack`` fixture
    that makes a stack using the orchestrator active (in the test's ZEN_HOME); the
    default artifact and metadata stores are fine.

    After a failure an orchestrator either does not start independent steps or runs
    them to completion (see :meth:`zen_core.orchestrators.Orchestrator.run`); set
    ``finishes_independent_steps`` to say which, and the failure test holds it to that.
    """

    finishes_independent_steps: bool = False

    def test_a_linear_chain_runs_in_order(self, orchestrator_stack: Any) -> None:
        run = chain(3)
        assert run.status == "completed"
        assert {n: s.status for n, s in run.steps.items()} == dict.fromkeys(
            ["number", "double", "double_2"], "completed")
        assert run.steps["double_2"].outputs["output"].load() == 12
        middle = run.steps["double"].outputs["output"]
        assert run.steps["double_2"].inputs["x"].id == middle.id
        assert middle.producer.id == run.steps["double"].id

    def test_fan_out_and_fan_in(self, orchestrator_stack: Any) -> None:
        run = fan_out_fan_in(5)
        assert run.status == "completed"
        assert {s.status for s in run.steps.values()} == {"completed"}
        assert run.steps["join"].outputs["output"].load() == 20
        _assert_outputs_load_verified(run)

    def test_a_list_of_outputs_reaches_the_step_as_one_input(self, orchestrator_stack: Any
                                                             ) -> None:
        run = gathered(2)
        assert run.steps["total"].outputs["output"].load() == 6
        assert {k: av.id for k, av in run.steps["total"].inputs.items()} == {
            "numbers[0]": run.steps["a"].outputs["output"].id,
            "numbers[1]": run.steps["double"].outputs["output"].id}

    def test_a_second_run_is_all_cached(self, orchestrator_stack: Any) -> None:
        first = fan_out_fan_in(4)
        again = fan_out_fan_in(4)
        assert again.status == "completed"
        assert {s.status for s in again.steps.values()} == {"cached"}
        assert (again.steps["join"].outputs["output"].id
                == first.steps["join"].outputs["output"].id)

    def test_after_orders_steps_that_share_no_data(self, orchestrator_stack: Any) -> None:
        run = ordered_without_data()
        assert {n: s.status for n, s in run.steps.items()} == dict.fromkeys(
            ["first", "second", "third"], "completed")
        first = run.steps["first"]
        for waiting in ("second", "third"):
            assert run.steps[waiting].started >= first.finished, waiting

    def test_a_failing_step_fails_the_run_with_its_own_exception(self, orchestrator_stack: Any
                                                                ) -> None:
        with pytest.raises(ContractStepError, match="boom at 2") as info:
            half_broken()
        assert type(info.value) is ContractStepError  # the class itself, not a wrapper
        assert ", in boom\n" in "".join(traceback.format_exception(info.value))
        [run] = Client().list_pipeline_runs(pipeline_name="half_broken")
        assert run.status == "failed"
        statuses = {n: s.status for n, s in run.steps.items()}
        assert statuses["upstream"] == "completed" and statuses["boom"] == "failed"
        assert run.steps["upstream"].outputs["output"].load() == 2  # earlier outputs kept
        assert "downstream" not in statuses  # never started after its input failed
        independent = statuses.get("independent")
        if self.finishes_independent_steps:
            assert independent == "completed"
            assert run.steps["independent"].outputs["output"].load() == 1
        else:
            assert independent in (None, "completed")  # not started, or already done
        error = run.steps["boom"].error
        assert "ContractStepError: boom at 2" in error and ", in boom\n" in error

    def test_steps_see_their_context_and_what_they_log_is_recorded(
            self, orchestrator_stack: Any) -> None:
        run = self_aware(7)
        step_run = run.steps["introspect"]
        report = step_run.outputs["report"]
        assert report.load() == {"run": run.name, "step": "introspect", "step_run": step_run.id,
                                 "input": run.steps["number"].outputs["output"].id}
        assert isinstance(step_run.run_metadata["pid"], int)
        assert report.run_metadata["input"] == 7
        assert run.tags == ["introspected"]

    def test_a_prepare_that_raises_leaves_no_step_running(self, orchestrator_stack: Any
                                                          ) -> None:
        save_artifact(0, "contract_pinned", version="1")
        with pytest.raises(ArtifactVersionExistsError, match="contract_pinned"):
            refused_while_running()
        [run] = Client().list_pipeline_runs(pipeline_name="refused_while_running")
        assert run.status == "failed"
        assert "running" not in {s.status for s in run.steps.values()}


def _assert_outputs_load_verified(run: PipelineRun) -> None:
    """Every output's files are in the store as recorded, and it loads against them."""
    store = Client().active_stack.artifact_store
    for step_run in run.steps.values():
        for av in step_run.outputs.values():
            assert store.list_files(av.uri) == {rel: size for rel, (size, _) in av.files.items()}
            av.load()
