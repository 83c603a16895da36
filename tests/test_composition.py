"""Pipeline-building idioms: collections of outputs as one input, steps called outside
pipelines, ``after=``, run names, ``configure``, pipelines in pipelines."""

from __future__ import annotations

import sys
from typing import Annotated, Dict, List, Tuple

import pytest

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.errors import (
    ArtifactNameError,
    CompositionError,
    OptionError,
    RunNameTakenError,
    StepTypeError,
)


def loaded_outputs(run, invocation):
    return {name: av.load() for name, av in run.steps[invocation].outputs.items()}


# -- collections of outputs as one input ------------------------------------------------------


@step
def literal_pair() -> Tuple[int, int]:
    return 0, 1  # two outputs


@step
def variable_pair() -> Tuple[int, int]:
    pair = (0, 1)
    return pair  # one tuple output


@step
def number(n: int) -> int:
    return n


@step
def total(numbers: List[int]) -> int:
    return sum(numbers)


@step
def pair_sum(data: Tuple[int, int]) -> int:
    assert isinstance(data, tuple)
    return data[0] + data[1]


@step
def by_key(models: Dict[str, int]) -> List[str]:
    return [f"{k}={v}" for k, v in sorted(models.items())]


@step
def as_given(values) -> str:
    return type(values).__name__


def test_a_multi_output_steps_whole_result_is_one_input():
    @pipeline
    def whole():
        raw = literal_pair()
        pair_sum(raw)

    run = whole()
    step_run = run.steps["pair_sum"]
    assert loaded_outputs(run, "pair_sum") == {"output": 1}
    produced = run.steps["literal_pair"].outputs
    assert {k: av.id for k, av in step_run.inputs.items()} == {
        "data[0]": produced["output_0"].id, "data[1]": produced["output_1"].id}
    assert {s.id for s in produced["output_1"].consumers} == {step_run.id}


def test_fan_in_of_a_list_and_a_dict_records_each_element():
    @pipeline
    def fan_in():
        models = [number(n, id=f"n{n}") for n in (1, 2, 3)]
        total(models)
        by_key({"a": models[0], "b": models[2]})

    run = fan_in()
    assert loaded_outputs(run, "total") == {"output": 6}
    assert loaded_outputs(run, "by_key") == {"output": ["a=1", "b=3"]}
    inputs = run.steps["total"].inputs
    assert {k: v.id for k, v in inputs.items()} == {
        f"numbers[{i}]": run.steps[f"n{i + 1}"].outputs["output"].id for i in range(3)}
    assert set(run.steps["by_key"].inputs) == {"models[a]", "models[b]"}
    # Lineage goes through every element.
    graph = Client().get_lineage(run.steps["total"].outputs["output"], "upstream")
    assert {run.steps[f"n{i}"].id for i in (1, 2, 3)} <= set(graph.nodes)


def test_the_kind_of_collection_follows_the_annotation_or_what_was_passed():
    @pipeline
    def kinds():
        a, b = literal_pair()
        pair_sum([a, b])  # a list where a Tuple is annotated: the step gets a tuple
        as_given([a, b], id="list")
        as_given((a, b), id="tuple")
        total((a, b))  # and a tuple where a List is annotated: a list

    run = kinds()
    assert loaded_outputs(run, "pair_sum") == {"output": 1}
    assert loaded_outputs(run, "list") == {"output": "list"}
    assert loaded_outputs(run, "tuple") == {"output": "tuple"}
    assert loaded_outputs(run, "total") == {"output": 1}


def test_a_collection_input_keys_the_cache_on_every_element():
    @pipeline
    def fan_in(last: int):
        total([number(1, id="one"), number(last, id="last")])

    fan_in(2)
    again = fan_in(2)
    assert again.steps["total"].status == "cached"
    changed = fan_in(5)
    assert changed.steps["total"].status == "completed"
    assert changed.steps["total"].cache_miss == "input 'numbers[1]' changed"
    assert loaded_outputs(changed, "total") == {"output": 6}


def test_artifact_versions_may_be_elements_too():
    from zen_core import save_artifact

    saved = save_artifact(40, "forty")

    @pipeline
    def mixed():
        total([saved, number(2)])

    run = mixed()
    assert loaded_outputs(run, "total") == {"output": 42}
    assert run.steps["total"].inputs["numbers[0]"].id == saved.id


def test_mixing_outputs_with_plain_values_is_refused_clearly():
    @pipeline
    def mixed():
        total([number(1), 2])

    with pytest.raises(CompositionError, match=r"'total', argument 'numbers'.*mixes step "
                                               r"outputs with other values"):
        mixed()

    @pipeline
    def nested():
        total([literal_pair(), literal_pair(id="again")])

    with pytest.raises(CompositionError, match="mixes step outputs with other values, or nests"):
        nested()


def test_dict_keys_that_name_two_inputs_alike_are_refused():
    @pipeline
    def alike():
        by_key({1: number(1), "1": number(2, id="two")})

    with pytest.raises(CompositionError, match=r"keys of this dict of step outputs \(1, '1'\) "
                                               r"name some inputs alike"):
        alike()


def test_a_collection_of_the_wrong_kind_fails_naming_the_input():
    @pipeline
    def wrong():
        pair_sum({"a": number(1)})

    with pytest.raises(StepTypeError, match=r"'pair_sum', input 'data': expected "
                                            r"Tuple\[int, int\], but its artifacts load as a dict"):
        wrong()


# -- calling a step outside a pipeline --------------------------------------------------------


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


@step
def scale(data: Opaque, factor: int = 2) -> int:
    return data.value * factor


@step(enable_cache=True)
def describe(data: dict, note: str) -> Tuple[Annotated[int, "size"], Annotated[str, "note"]]:
    return len(data), note


def test_a_step_called_outside_a_pipeline_is_a_recorded_one_step_run():
    assert literal_pair() == (0, 1)
    assert variable_pair() == (0, 1)
    assert number(5) == 5
    runs = Client().list_pipeline_runs()
    assert [r.pipeline_name for r in runs] == ["number", "variable_pair", "literal_pair"]
    [step_run] = runs[0].steps.values()
    assert (step_run.name, step_run.status, step_run.params) == ("number", "completed", {"n": 5})
    assert step_run.outputs["output"].producer.id == step_run.id


def test_non_json_arguments_are_stored_as_input_artifacts_deduplicated_by_content():
    assert scale(Opaque(21)) == 42
    assert scale(Opaque(21), factor=3) == 63
    assert scale(Opaque(1)) == 2
    first, second, third = reversed(Client().list_pipeline_runs(pipeline_name="scale"))
    inputs = [r.steps["scale"].inputs["data"] for r in (first, second, third)]
    assert inputs[0].name == "scale::data" and inputs[0].origin == "external"
    assert inputs[0].id == inputs[1].id  # the same content: the same version
    assert inputs[2].id != inputs[0].id and inputs[2].version == "2"
    assert first.steps["scale"].params == {} and second.steps["scale"].params == {"factor": 3}
    assert inputs[0].load().value == 21


def test_input_artifacts_are_pruned_with_the_runs_that_used_them():
    scale(Opaque(3))
    [run] = Client().list_pipeline_runs(pipeline_name="scale")
    Client().delete_pipeline_run(run.id)
    report = Client().prune_artifacts()
    assert "scale::data" in {av.name for av in report.versions}


def test_outside_a_pipeline_a_step_returns_its_named_outputs_and_may_be_cached():
    assert describe({"a": 1}, "hi") == (1, "hi")
    assert describe({"a": 1}, "hi") == (1, "hi")
    second = Client().list_pipeline_runs(pipeline_name="describe")[0]
    assert second.steps["describe"].status == "cached"


def test_entrypoint_calls_the_plain_function_and_records_nothing():
    assert scale.entrypoint(Opaque(2), factor=5) == 10
    assert literal_pair.entrypoint() == (0, 1)
    assert Client().list_pipeline_runs() == []


def test_a_step_called_inside_a_running_step_just_runs_its_function():
    @step
    def outer() -> int:
        return number(20) + 1  # no run within a run

    @pipeline
    def p():
        outer()

    run = p()
    assert loaded_outputs(run, "outer") == {"output": 21}
    assert [r.pipeline_name for r in Client().list_pipeline_runs()] == ["p"]


def test_a_failing_step_called_outside_a_pipeline_raises_its_own_error():
    class Broken(Exception):
        pass

    @step
    def breaks() -> int:
        raise Broken("no")

    with pytest.raises(Broken, match="no"):
        breaks()
    [run] = Client().list_pipeline_runs(pipeline_name="breaks")
    assert run.status == "failed"


def test_wrong_arguments_outside_a_pipeline_are_refused_before_anything_runs():
    with pytest.raises(CompositionError, match=r"step 'scale':.*data"):
        scale(factor=2)
    assert Client().list_pipeline_runs() == []


# -- after= ----------------------------------------------------------------------------------

order: list[str] = []


@step
def mark(label: str) -> None:
    order.append(label)


@pytest.fixture
def marks():
    order.clear()
    return order


def test_after_orders_steps_without_data(marks):
    @pipeline
    def ordered():
        mark("c", id="c", after=["a", "b"])  # names steps composed later
        a = number(1, id="a")
        mark("b", id="b", after=a)
        mark("d", id="d", after="c")

    run = ordered()
    assert marks == ["b", "c", "d"]
    assert list(run.steps) == ["a", "b", "c", "d"]


def test_after_takes_handles_whole_results_and_lists_of_them(marks):
    @pipeline
    def ordered():
        mark("late", id="late", after=[literal_pair(), number(1)])
        mark("early", id="early")

    ordered()
    assert marks == ["early", "late"] or marks == ["late", "early"]
    steps = Client().list_pipeline_runs()[0].steps
    assert list(steps).index("late") > max(list(steps).index("literal_pair"),
                                           list(steps).index("number"))


def test_after_an_unknown_id_is_a_composition_error():
    @pipeline
    def typo():
        number(1, id="first")
        mark("x", after="frist")

    with pytest.raises(CompositionError, match=r"step 'mark': after='frist' is not a step "
                                               r"invocation of this pipeline.*'first'"):
        typo()


def test_a_cycle_through_after_is_refused_naming_it():
    @pipeline
    def cycle():
        mark("a", id="a", after="c")
        mark("b", id="b", after="a")
        mark("c", id="c", after="b")

    with pytest.raises(CompositionError, match=r"'a' -> 'c' -> 'b' -> 'a'|'a' -> 'b' -> 'c' -> "
                                               r"'a'|'b' -> 'a' -> 'c' -> 'b'") as info:
        cycle()
    assert "cycle" in str(info.value)

    @pipeline
    def itself():
        mark("a", id="a", after="a")

    with pytest.raises(CompositionError, match=r"steps 'a' -> 'a' wait for each other"):
        itself()


def test_after_of_something_else_is_refused():
    @pipeline
    def wrong():
        mark("a", after=3)

    with pytest.raises(CompositionError, match=r"after=3 names no step"):
        wrong()


# -- run names -------------------------------------------------------------------------------


@pipeline
def named():
    number(1)


def test_run_names_with_placeholders_and_substitutions():
    run = named.with_options(run_name="training_{date}_{time}")()
    assert run.name.startswith("training_") and len(run.name.split("_")) == 8
    run = named.with_options(run_name="exp_{experiment}",
                             substitutions={"experiment": "lr01"})()
    assert run.name == "exp_lr01"
    assert Client().get_pipeline_run("exp_lr01").id == run.id


def test_a_run_name_that_exists_is_a_clear_error():
    named.with_options(run_name="fixed")()
    with pytest.raises(RunNameTakenError, match=r"pipeline 'named': a pipeline run named "
                                                r"'fixed' exists already.*\{date\}"):
        named.with_options(run_name="fixed")()
    assert len(Client().list_pipeline_runs()) == 1


def test_an_unknown_placeholder_in_a_run_name_is_refused():
    with pytest.raises(ArtifactNameError, match=r"run name 'run_\{who\}' uses the unknown "
                                                r"placeholder \{who\}; known placeholders: "
                                                r"date, time"):
        named.with_options(run_name="run_{who}")()
    with pytest.raises(ArtifactNameError, match=r"invalid run name 'a/b'"):
        named.with_options(run_name="a/b")()
    assert Client().list_pipeline_runs() == []


# -- configure and with_options --------------------------------------------------------------


def test_pipeline_configure_changes_in_place_with_options_copies():
    @pipeline
    def p():
        number(1)

    copy = p.with_options(enable_cache=False, run_name="copy_run")
    assert copy is not p and p.enable_cache is None and p.run_name is None
    assert p.configure(enable_cache=False, substitutions={"a": "1"}) is p
    p.configure(substitutions={"b": "2"})
    assert p.enable_cache is False and p.substitutions == {"a": "1", "b": "2"}
    p.configure(substitutions={"c": "3"}, merge=False)
    assert p.substitutions == {"c": "3"}
    run = p.configure(run_name="in_place_{c}")()
    assert run.name == "in_place_3" and run.steps["number"].cache_miss == "caching disabled"
    assert copy().name == "copy_run"


def test_step_configure_changes_in_place():
    @step
    def configurable(x: int, y: int) -> int:
        return x * y

    assert configurable.configure(parameters={"y": 3}) is configurable
    copy = configurable.with_options(parameters={"x": 2})
    assert copy.parameters == {"y": 3, "x": 2} and configurable.parameters == {"y": 3}

    @pipeline
    def p():
        configurable(x=5)
        copy(id="copied")

    run = p()
    assert loaded_outputs(run, "configurable") == {"output": 15}
    assert loaded_outputs(run, "copied") == {"output": 6}
    assert run.steps["configurable"].params == {"x": 5, "y": 3}


def test_a_configured_parameter_that_the_call_contradicts_is_refused():
    @step
    def configurable(x: int) -> int:
        return x

    configurable.configure(parameters={"x": 1})

    @pipeline
    def p():
        configurable(x=2)

    with pytest.raises(CompositionError, match=r"parameter 'x' is configured as 1 but the call "
                                               r"passes 2"):
        p()
    configurable.configure(parameters={"nope": 1}, merge=False)
    with pytest.raises(CompositionError, match=r"configured parameter 'nope' is not an "
                                               r"argument of configurable\(x: .?int.?\)"):
        p()


def test_pipeline_parameters_fill_the_arguments_a_call_leaves_out():
    @pipeline
    def p(n: int, m: int = 0):
        number(n + m)

    run = p.with_options(parameters={"n": 4})()
    assert loaded_outputs(run, "number") == {"output": 4} and run.params == {"n": 4, "m": 0}
    with pytest.raises(CompositionError, match=r"parameter 'n' is configured as 4 but the "
                                               r"call passes 5"):
        p.with_options(parameters={"n": 4})(5)


def test_unknown_options_are_refused_and_zenml_only_ones_warned_about(logged_events):
    with pytest.raises(OptionError, match=r"number.with_options\(\) got unknown option\(s\) "
                                          r"cache; accepted: name, enable_cache"):
        number.with_options(cache=True)
    with pytest.raises(TypeError):  # OptionError is a TypeError, as Python's own
        named.configure(bogus=1)
    with pytest.raises(OptionError, match=r"settings.gpu_count is not a setting"):
        named.with_options(settings={"gpu_count": 1})
    configured = number.with_options(settings={"docker": {"parent_image": "x"}},
                                     experiment_tracker="mlflow")
    assert configured.name == "number"
    assert [(e["level"], e["event"], e["option"]) for e in logged_events] == [
        ("warning", "run_config.ignored", "experiment_tracker"),
        ("warning", "run_config.ignored", "settings.docker")]


# -- a pipeline called inside another ---------------------------------------------------------


@pipeline
def feature_pipeline(n: int):
    return number(n, id="features")


@pipeline
def training_pipeline():
    features = feature_pipeline(3)
    pair_sum([features, number(4, id="bias")])


def test_a_pipeline_called_in_a_pipeline_composes_into_the_outer_run():
    run = training_pipeline()
    assert run.pipeline_name == "training_pipeline"
    assert list(run.steps) == ["features", "bias", "pair_sum"]
    assert loaded_outputs(run, "pair_sum") == {"output": 7}
    assert [r.pipeline_name for r in Client().list_pipeline_runs()] == ["training_pipeline"]
    assert run.steps["features"].outputs["output"].name == "training_pipeline::features::output"


# -- Client.list_run_steps ---------------------------------------------------------------------


def test_list_run_steps():
    run = training_pipeline()
    client = Client()
    assert [s.name for s in client.list_run_steps(run)] == ["features", "bias", "pair_sum"]
    assert [s.name for s in client.list_run_steps(pipeline_run_id=run.id)] == [
        "features", "bias", "pair_sum"]
    assert [s.name for s in client.list_run_steps(run.name, name="bias")] == ["bias"]
    page = client.list_run_steps(run, size=1, page=2)
    assert [s.name for s in page] == ["bias"] and page.total == 3
    assert client.list_run_steps(run, status="failed") == []
    assert client.list_run_steps(run)[0].outputs["output"].load() == 3


def test_path_materializer_is_exported_where_zenml_users_import_it():
    from zen_core.materializers import PathMaterializer
    from zen_core.materializers.path import PathMaterializer as Defined

    assert PathMaterializer is Defined
    assert "PathMaterializer" in sys.modules["zen_core.materializers"].__all__


def test_a_configured_parameter_equal_to_a_positional_argument_is_fine():
    @step
    def configurable(x: int, y: int = 0) -> int:
        return x + y

    configurable.configure(parameters={"x": 1, "y": 2})

    @pipeline
    def p():
        configurable(1)

    assert loaded_outputs(p(), "configurable") == {"output": 3}


def _sig_a(a, b=2, *, c, d=4): ...
def _sig_b(a, /, b): ...
def _sig_c(a, *rest, **options): ...
def _sig_d(): ...


@pytest.mark.parametrize("func", [_sig_a, _sig_b, _sig_c, _sig_d])
@pytest.mark.parametrize(("args", "kwargs"), [
    ((), {}), ((1,), {}), ((1,), {"c": 3}), ((1, 2), {"c": 3, "d": 5}), ((), {"a": 1, "c": 3}),
    ((1, 2, 3), {"c": 3}), ((1,), {"a": 1, "c": 3}), ((1,), {"c": 3, "zz": 1}), ((1, 2), {}),
])
def test_the_fast_binding_agrees_with_inspect(func, args, kwargs):
    """Composing binds each call without inspect when it can; what it binds, and which
    calls it leaves to inspect (whose errors name the problem), must not differ."""
    import inspect

    from zen_core.signatures import parse_step

    signature = parse_step(func, "s")
    plain = signature.plain_arguments(args, kwargs)
    try:
        expected = dict(signature.call_signature.bind(*args, **kwargs).arguments)
    except TypeError:
        expected = None
    if plain is not None:
        assert plain == expected and list(plain) == list(expected)
    elif expected is not None:  # left to inspect: only signatures it must handle
        assert any(p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL,
                              inspect.Parameter.VAR_KEYWORD)
                   for p in signature.parameters.values())
