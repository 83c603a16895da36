"""Steps and pipelines: outputs, invocations, parameters, types and failures."""

from __future__ import annotations

import traceback
from typing import Annotated, Any, Optional, Tuple, Union

import pytest

from zen_core import ArtifactConfig, pipeline, step
from zen_core.client import Client
from zen_core.errors import CompositionError, ParameterError, StepTypeError


def outputs_of(run, invocation):
    return {name: av.load() for name, av in run.steps[invocation].outputs.items()}


# -- output naming and the tuple rules ------------------------------------------------------


@step
def single() -> int:
    return 1


@step
def two_plain() -> Tuple[int, str]:
    return 1, "a"


@step
def two_named() -> tuple[Annotated[int, "count"], Annotated[str, "label"]]:
    return 2, "b"


@step
def bare_tuple() -> tuple:
    return (1, 2)


@step
def ellipsis_tuple() -> Tuple[int, ...]:
    return (1, 2, 3)


@step
def annotated_tuple() -> Annotated[tuple[int, int], "pair"]:
    return (4, 5)


@step
def unannotated_multi():
    if True:
        return 1, 2
    return (3, 4)


@step
def unannotated_single():
    some_tuple = (1, 2)
    return some_tuple


@step
def nothing() -> None:
    pass


@step
def unannotated_none():
    pass


def test_output_names_and_tuple_rules():
    @pipeline
    def outputs_pipeline():
        single()
        two_plain()
        two_named()
        bare_tuple()
        ellipsis_tuple()
        annotated_tuple()
        unannotated_multi()
        unannotated_single()
        nothing()
        unannotated_none()

    run = outputs_pipeline()
    assert outputs_of(run, "single") == {"output": 1}
    assert outputs_of(run, "two_plain") == {"output_0": 1, "output_1": "a"}
    assert outputs_of(run, "two_named") == {"count": 2, "label": "b"}
    assert outputs_of(run, "bare_tuple") == {"output": (1, 2)}
    assert outputs_of(run, "ellipsis_tuple") == {"output": (1, 2, 3)}
    assert outputs_of(run, "annotated_tuple") == {"pair": (4, 5)}
    assert outputs_of(run, "unannotated_multi") == {"output_0": 1, "output_1": 2}
    assert outputs_of(run, "unannotated_single") == {"output": (1, 2)}
    assert outputs_of(run, "nothing") == {}
    assert outputs_of(run, "unannotated_none") == {}
    assert run.steps["single"].outputs["output"].name == "outputs_pipeline::single::output"
    assert run.steps["two_named"].outputs["count"].name == "count"


@step
def literal_pair() -> Tuple[int, int]:
    return 0, 1


@step
def bracketed_pair() -> tuple[int, str]:
    return (2, "b")


@step
def variable_pair() -> Tuple[int, int]:
    output = (0, 1)
    return output


@step
def mixed_returns(flag: bool = True) -> Tuple[int, int]:
    if flag:
        return 1, 2
    pair = (3, 4)
    return pair


@step
def nested_function_returns_a_tuple() -> Tuple[int, int]:
    def helper():
        return 5, 6

    return helper()


def test_a_tuple_literal_return_means_several_outputs_a_variable_one_tuple_output():
    @pipeline
    def tuples():
        literal_pair()
        bracketed_pair()
        variable_pair()
        mixed_returns()
        nested_function_returns_a_tuple()

    run = tuples()
    assert outputs_of(run, "literal_pair") == {"output_0": 0, "output_1": 1}
    assert outputs_of(run, "bracketed_pair") == {"output_0": 2, "output_1": "b"}
    assert outputs_of(run, "variable_pair") == {"output": (0, 1)}
    # As ZenML's has_tuple_return: one tuple literal anywhere in the body decides.
    assert outputs_of(run, "mixed_returns") == {"output_0": 1, "output_1": 2}
    # A nested function's return is not the step's.
    assert outputs_of(run, "nested_function_returns_a_tuple") == {"output": (5, 6)}


def test_a_step_without_source_follows_its_annotation():
    namespace: dict[str, Any] = {}
    exec("from typing import Tuple\ndef no_source() -> Tuple[int, int]:\n    pair = (7, 8)\n"
         "    return pair\n", namespace)
    no_source = step(namespace["no_source"])
    assert [o.name for o in no_source.signature.outputs] == ["output_0", "output_1"]


def test_handles_wire_outputs_to_inputs():
    @step
    def add(a: int, b: int) -> int:
        return a + b

    @pipeline
    def wiring():
        count, label = two_named()
        x, y = unannotated_multi()
        add(count, add(x, y))

    run = wiring()
    assert list(run.steps) == ["two_named", "unannotated_multi", "add", "add_2"]
    assert outputs_of(run, "add_2") == {"output": 5}
    assert run.steps["add_2"].inputs["b"].id == run.steps["add"].outputs["output"].id


def test_repeated_invocations_and_explicit_ids():
    @step
    def echo(x: int) -> int:
        return x

    @pipeline
    def repeated():
        echo(x=1)
        echo(x=2)
        echo(x=3, id="third")

    run = repeated()
    assert list(run.steps) == ["echo", "echo_2", "third"]
    assert [s.params for s in run.steps.values()] == [{"x": 1}, {"x": 2}, {"x": 3}]


def test_duplicate_explicit_id_is_refused():
    @pipeline
    def dup():
        single(id="a")
        single(id="a")

    with pytest.raises(CompositionError, match=r"'a'.*different id="):
        dup()


def test_pipeline_without_steps_is_refused():
    @pipeline
    def empty():
        pass

    with pytest.raises(CompositionError, match="calls no step"):
        empty()


# -- parameters --------------------------------------------------------------------------


class Opaque:
    pass


@step
def takes(value: Any, rate: float = 0.1) -> float:
    return rate


def test_non_json_parameter_is_refused_with_the_artifact_hint():
    @pipeline
    def bad():
        takes(value=Opaque())

    with pytest.raises(ParameterError) as info:
        bad()
    message = str(info.value)
    assert "'takes'" in message and "'value'" in message and "Opaque" in message
    assert "pass it as an artifact" in message


def test_parameter_of_the_wrong_type_is_refused():
    @pipeline
    def bad():
        takes(value=1, rate="fast")

    with pytest.raises(ParameterError, match=r"'takes'.*'rate'.*expected float.*got str"):
        bad()


def test_json_check_comes_before_the_type_check():
    @step
    def typed(x: int) -> int:
        return x

    @pipeline
    def bad():
        typed(x=Opaque())

    with pytest.raises(ParameterError, match="pass it as an artifact"):
        bad()


def test_an_int_parameter_widens_to_float_before_the_step_and_the_cache_key():
    @step
    def rate_of(rate: float) -> float:
        assert type(rate) is float
        return rate

    @pipeline
    def widened(rate):
        rate_of(rate=rate)

    run = widened(rate=1)
    assert run.steps["rate_of"].params == {"rate": 1.0}
    assert outputs_of(run, "rate_of") == {"output": 1.0}
    again = widened(rate=1.0)  # the same parameter: a cache hit
    assert again.steps["rate_of"].status == "cached"
    with pytest.raises(ParameterError, match=r"expected float, got bool"):
        widened(rate=True)


def test_int_inputs_and_outputs_widen_to_float():
    @step
    def count() -> int:
        return 3

    @step
    def halve(x: float) -> float:
        assert type(x) is float
        return 2  # an int where float is annotated: stored as 2.0

    @pipeline
    def arithmetic():
        halve(count())

    run = arithmetic()
    assert outputs_of(run, "halve") == {"output": 2.0}
    assert type(outputs_of(run, "halve")["output"]) is float


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("-inf")]])
def test_nan_and_infinite_parameters_are_refused_as_not_json(value):
    @pipeline
    def bad():
        takes(value=value)

    with pytest.raises(ParameterError, match=r"'value': parameters must be JSON-serializable, got "
                                             r"a NaN or infinite float"):
        bad()


def test_missing_and_unknown_arguments_are_refused():
    @pipeline
    def missing():
        takes()

    with pytest.raises(CompositionError, match=r"step 'takes'.*value"):
        missing()

    @pipeline
    def unknown():
        takes(value=1, speed=2)

    with pytest.raises(CompositionError, match=r"speed"):
        unknown()


def test_parameters_are_recorded_with_the_run():
    @pipeline
    def params(rate: float = 0.5):
        takes(value=[1, {"a": None}], rate=rate)

    run = params(rate=0.25)
    assert run.params == {"rate": 0.25}
    assert run.steps["takes"].params == {"value": [1, {"a": None}], "rate": 0.25}
    assert outputs_of(run, "takes") == {"output": 0.25}


def test_runs_started_in_the_same_microsecond_get_distinct_names(monkeypatch):
    """Processes sharing a store can start runs of one pipeline at the same instant."""
    import zen_core.execution.driver

    @pipeline
    def twins():
        single()

    instant = 1_790_000_000.123456
    monkeypatch.setattr(zen_core.execution.driver.time, "time", lambda: instant)
    names = [twins().name for _ in range(3)]
    assert names[0] == "twins-2026_09_21-14_13_20_123456"
    assert names[1:] == [names[0] + "-2", names[0] + "-3"]
    assert [Client().get_pipeline_run(name).name for name in names] == names


# -- types at run time ----------------------------------------------------------------------


def test_output_not_matching_its_annotation_fails_the_step():
    @step
    def liar() -> int:
        return "not an int"  # type: ignore[return-value]

    @pipeline
    def p():
        liar()

    with pytest.raises(StepTypeError, match=r"'liar'.*'output'.*expected int.*got str"):
        p()


def test_input_not_matching_its_annotation_fails_the_step():
    @step
    def make() -> Any:
        return "text"

    @step
    def wants_int(x: int) -> int:
        return x

    @pipeline
    def p():
        wants_int(make())

    with pytest.raises(StepTypeError, match=r"'wants_int'.*'x'.*expected int.*loads as str"):
        p()


def test_outer_types_unions_and_bool_for_int():
    @step
    def flexible(a: list[int], b: Optional[int], c: Union[int, str], d: int) -> dict[str, int]:
        return {"n": len(a)}

    @step
    def make_list() -> list:
        return ["not", "ints"]  # element types are not checked

    @pipeline
    def p():
        flexible(make_list(), b=None, c="x", d=True)

    assert outputs_of(p(), "flexible") == {"output": {"n": 2}}


def test_wrong_number_of_outputs_fails_the_step():
    @step
    def short() -> Tuple[int, int, int]:
        return 1, 2  # type: ignore[return-value]

    @pipeline
    def p():
        short()

    with pytest.raises(StepTypeError, match=r"declares 3 outputs.*returned 2 values"):
        p()


# -- failures ----------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_failing_step_fails_the_run_and_keeps_earlier_outputs():
    @step
    def fine() -> int:
        return 41

    @step
    def explode(x: int) -> int:
        raise Boom(f"exploded at {x}")

    @pipeline
    def failing():
        explode(fine())

    with pytest.raises(Boom, match="exploded at 41") as info:
        failing()
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "explode" in frames  # the step's own frame is in the traceback

    client = Client()
    [run] = client.list_pipeline_runs(pipeline_name="failing")
    assert run.status == "failed"
    assert run.steps["fine"].status == "completed"
    assert run.steps["explode"].status == "failed"
    assert "Boom: exploded at 41" in run.steps["explode"].error
    assert run.steps["fine"].outputs["output"].load() == 41
    assert client.get_artifact_version("failing::fine::output").load() == 41


def test_with_options_returns_configured_copies():
    configured = takes.with_options(enable_cache=False, substitutions={"a": "b"})
    assert configured is not takes
    assert configured.enable_cache is False and configured.substitutions == {"a": "b"}
    assert takes.enable_cache is None
    with pytest.raises(TypeError, match="unknown option"):
        takes.with_options(cache=True)

    @pipeline
    def p():
        single()

    assert p.with_options(name="renamed")().pipeline_name == "renamed"


def test_artifact_config_names_versions_and_tags():
    @step
    def model() -> Annotated[dict, ArtifactConfig(name="my_model", version="1.0", tags=["prod"])]:
        return {"w": 1}

    @pipeline
    def p():
        model()

    run = p()
    av = run.steps["model"].outputs["my_model"]
    assert (av.name, av.version, av.tags) == ("my_model", "1.0", ["prod"])
    assert Client().get_artifact_version("my_model", "1.0").load() == {"w": 1}


def test_wrong_pipeline_arguments_are_refused_clearly():
    @pipeline
    def p(rate: float):
        single()

    with pytest.raises(CompositionError, match=r"pipeline 'p':.*rate"):
        p()


def test_a_failed_step_is_logged_once_with_its_error(capfd, monkeypatch):
    from zen_core import logger

    monkeypatch.setenv("ZEN_LOG_LEVEL", "info")
    logger.configure(None)

    @step
    def explode() -> int:
        raise ValueError("a very particular failure")

    @pipeline
    def failing():
        explode()

    with pytest.raises(ValueError):
        failing()
    err = capfd.readouterr().err
    assert err.count("a very particular failure") == 1, err
    assert "run.failed" in err and "failed_step=explode" in err


def test_parameters_with_non_string_dict_keys_are_refused_clearly():
    @pipeline
    def keyed():
        takes(value={"a": [{1: "one", "b": 2}]})  # mixed key types cannot even be sorted

    with pytest.raises(ParameterError, match=r"'value': a parameter's dict keys must be strings.*"
                                             r"got the key 1 \(int\)"):
        keyed()
