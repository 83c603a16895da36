"""Caching: what the key covers, cached step runs, and why a step missed."""

from __future__ import annotations

import os
from typing import Annotated

import pytest

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.materializers.builtin import BuiltInMaterializer

calls: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@step
def create_data() -> dict:
    calls.append("create_data")
    return {"x": [1, 2, 3]}


@step
def process_data(data: dict, factor: int = 1) -> Annotated[list, "processed"]:
    calls.append("process_data")
    return [v * factor for v in data["x"]]


@pipeline
def cached_pipeline(factor: int = 1):
    process_data(create_data(), factor=factor)


def statuses(run):
    return {name: s.status for name, s in run.steps.items()}


def test_rerun_is_cached_and_reuses_outputs():
    first = cached_pipeline()
    second = cached_pipeline()
    assert calls == ["create_data", "process_data"]
    assert statuses(second) == {"create_data": "cached", "process_data": "cached"}
    assert second.status == "completed"
    out1 = first.steps["process_data"].outputs["processed"]
    out2 = second.steps["process_data"].outputs["processed"]
    assert out1.id == out2.id  # the earlier artifact version, not a copy
    assert second.steps["process_data"].original_step_run_id == first.steps["process_data"].id
    assert {s.run_id for s in out1.consumers} == set()
    assert [s.name for s in out2.producer.run.steps.values()] == ["create_data", "process_data"]


def test_parameter_change_misses_and_says_why():
    cached_pipeline()
    run = cached_pipeline(factor=2)
    assert statuses(run) == {"create_data": "cached", "process_data": "completed"}
    assert run.steps["process_data"].cache_miss == "parameter 'factor' changed"
    assert run.steps["process_data"].outputs["processed"].load() == [2, 4, 6]


def test_input_change_misses_downstream():
    @step(enable_cache=False)
    def fresh(n: int) -> int:
        return n

    @step
    def double(x: int) -> int:
        calls.append("double")
        return 2 * x

    @pipeline
    def p(n: int):
        double(fresh(n=n))

    p(1)
    run = p(2)
    assert run.steps["fresh"].cache_miss == "caching disabled"
    assert run.steps["double"].cache_miss == "input 'x' changed"
    same = p(2)
    assert statuses(same) == {"fresh": "completed", "double": "cached"}  # same content hash


def test_code_change_misses():
    def make(version):
        if version == 1:
            @step(name="evolving")
            def evolving() -> int:
                return 1
        else:
            @step(name="evolving")
            def evolving() -> int:
                return 2
        return evolving

    for version in (1, 2):
        s = make(version)

        @pipeline(name="evolve")
        def p(s=s):
            s()

        run = p()
    assert run.steps["evolving"].cache_miss == "code changed"
    assert run.steps["evolving"].outputs["output"].load() == 2


def test_first_run_misses_with_no_earlier_run():
    run = cached_pipeline()
    assert run.steps["create_data"].cache_miss == "no earlier run"


def test_missing_output_data_is_not_a_hit():
    first = cached_pipeline()
    store = Client().active_stack.artifact_store
    store.delete(first.steps["create_data"].outputs["output"].uri)
    run = cached_pipeline()
    assert run.steps["create_data"].status == "completed"
    assert run.steps["create_data"].cache_miss == "outputs missing"
    assert run.steps["create_data"].outputs["output"].load() == {"x": [1, 2, 3]}


@pytest.mark.parametrize("where", ["step", "pipeline", "with_options"])
def test_enable_cache_false(where):
    s = create_data.with_options(enable_cache=False) if where == "step" else create_data

    @pipeline(enable_cache=False if where == "pipeline" else None)
    def p():
        s()

    runner = p.with_options(enable_cache=False) if where == "with_options" else p
    runner()
    run = runner()
    assert run.steps["create_data"].status == "completed"
    assert calls == ["create_data", "create_data"]


def test_step_setting_beats_pipeline_setting():
    always = create_data.with_options(enable_cache=True)

    @pipeline(enable_cache=False)
    def p():
        always()

    p()
    assert p().steps["create_data"].status == "cached"


def test_materializer_version_enters_the_key(monkeypatch):
    @step
    def number() -> int:
        calls.append("number")
        return 1

    @pipeline
    def p():
        number()

    p()
    monkeypatch.setattr(BuiltInMaterializer, "VERSION", "2")
    run = p()
    assert run.steps["number"].status == "completed"
    assert run.steps["number"].cache_miss == "outputs or materializers changed"


def test_substitutions_used_by_names_enter_the_key():
    @step
    def named() -> Annotated[int, "{kind}_n"]:
        return 1

    @pipeline
    def p(kind: str):
        named.with_options(substitutions={"kind": kind})()

    p("a")
    assert p("a").steps["named"].status == "cached"
    run = p("b")
    assert run.steps["named"].status == "completed"
    assert list(run.steps["named"].outputs) == ["b_n"]


def test_cached_rerun_of_untyped_outputs():
    @step
    def untyped():
        calls.append("untyped")
        return {"a": 1}, [2]

    @pipeline
    def p():
        untyped()

    p()
    run = p()
    assert run.steps["untyped"].status == "cached"
    assert calls == ["untyped"]
    assert run.steps["untyped"].outputs["output_1"].load() == [2]


def test_a_cache_hit_needs_every_file_of_the_manifest_not_just_the_folder():
    first = cached_pipeline()
    output = first.steps["create_data"].outputs["output"]
    os.remove(os.path.join(output.uri, "data.json"))  # the object's folder stays
    run = cached_pipeline()
    assert run.steps["create_data"].status == "completed"
    assert run.steps["create_data"].cache_miss == "outputs missing"
    assert run.steps["create_data"].outputs["output"].load() == {"x": [1, 2, 3]}
