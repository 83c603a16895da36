# ruff: noqa: UP006, UP035, F841  (the guide's examples, verbatim)
"""The guide's numpy examples, end to end on the default stack, stored by zen-numpy."""

from __future__ import annotations

from typing import Annotated, Tuple

import numpy as np
import pytest

from zen_core import load_artifact, pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import UnsafeArtifactError

MATERIALIZER = "zen_numpy.NumpyArrayMaterializer"


def test_split_data_into_a_tuple_of_arrays():
    @step
    def make() -> np.ndarray:
        return np.arange(10.0).reshape(5, 2)

    @step
    def split_data(data: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Type annotation tells ZenML this returns a tuple of numpy arrays."""
        split_point = len(data) // 2
        return data[:split_point], data[split_point:]

    @pipeline
    def numpy_pipeline():
        split_data(make())

    run = numpy_pipeline()
    outputs = run.steps["split_data"].outputs
    assert set(outputs) == {"output_0", "output_1"}
    np.testing.assert_array_equal(outputs["output_0"].load(), np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(outputs["output_1"].load(), np.arange(4.0, 10.0).reshape(3, 2))
    assert outputs["output_0"].materializer == MATERIALIZER
    assert outputs["output_0"].metadata["shape"] == [2, 2]
    assert outputs["output_0"].name == "numpy_pipeline::split_data::output_0"


def test_four_named_outputs():
    @step
    def load() -> Tuple[Annotated[np.ndarray, "data"], Annotated[np.ndarray, "target"]]:
        rng = np.random.default_rng(1)
        return rng.standard_normal((100, 3)), rng.integers(0, 2, 100)

    @step
    def split_data(
        data: np.ndarray,
        target: np.ndarray
    ) -> Tuple[
        Annotated[np.ndarray, "X_train"],
        Annotated[np.ndarray, "X_test"],
        Annotated[np.ndarray, "y_train"],
        Annotated[np.ndarray, "y_test"]
    ]:
        """Split data into training and testing sets."""
        X_train, X_test = data[:80], data[80:]
        y_train, y_test = target[:80], target[80:]
        return X_train, X_test, y_train, y_test

    @step
    def fit(X_train: np.ndarray, y_train: np.ndarray) -> float:
        return float(X_train.mean() + y_train.mean())

    @pipeline
    def training():
        data, target = load()
        X_train, X_test, y_train, y_test = split_data(data, target)
        fit(X_train, y_train)

    run = training()
    outs = run.steps["split_data"].outputs
    assert {k: v.metadata["shape"] for k, v in outs.items()} == {
        "X_train": [80, 3], "X_test": [20, 3], "y_train": [80], "y_test": [20]}
    data = run.steps["load"].outputs["data"].load()
    np.testing.assert_array_equal(Client().get_artifact_version("X_test").load(), data[80:])
    assert all(v.materializer == MATERIALIZER for v in outs.values())
    # the inputs of `fit` are the stored arrays: lineage reaches them
    fit_inputs = run.steps["fit"].inputs
    assert fit_inputs["X_train"].id == outs["X_train"].id

    again = training()  # cached: same content, same code
    assert again.steps["split_data"].status == "cached"


def test_fortran_and_datetime_arrays_flow_between_steps():
    @step(enable_cache=False)
    def produce() -> Tuple[np.ndarray, np.ndarray]:
        return (np.asfortranarray(np.arange(12.0).reshape(3, 4)),
                np.array(["2024-01-01", "2024-06-30"], dtype="M8[D]"))

    @step(enable_cache=False)
    def consume(matrix: np.ndarray, days: np.ndarray) -> int:
        assert matrix.flags.f_contiguous
        return int((days[1] - days[0]).astype(int)) + int(matrix.sum())

    @pipeline(enable_cache=False)
    def p():
        matrix, days = produce()
        consume(matrix, days)

    run = p()
    assert run.steps["consume"].outputs["output"].load() == 181 + 66


def test_object_array_output_fails_the_step_with_advice(tmp_path, monkeypatch):
    (tmp_path / "work" / "zen.toml").write_text("allow_pickle = false\n")

    @step
    def ragged() -> np.ndarray:
        return np.array([[1], [1, 2]], dtype=object)

    @pipeline
    def p():
        ragged()

    with pytest.raises(UnsafeArtifactError) as info:
        p()
    message = str(info.value)
    assert "dtype object" in message and "allow_pickle" in message and "astype" in message


def test_save_and_load_artifact_outside_a_pipeline():
    value = np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::2]
    av = save_artifact(value, "my_array")
    assert av.materializer == MATERIALIZER
    loaded = load_artifact("my_array")
    np.testing.assert_array_equal(loaded, value)
    assert loaded.dtype == np.int16
