# ruff: noqa: UP006, UP035, F841  (the guide's examples, verbatim)
"""The guide's pandas examples, end to end on the default stack, stored by zen-pandas."""

from __future__ import annotations

from typing import Annotated, Tuple

import numpy as np
import pandas as pd
import pytest

from zen_core import load_artifact, pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import UnsafeArtifactError

MATERIALIZER = "zen_pandas.PandasMaterializer"


@step
def create_data() -> pd.DataFrame:
    """Creates a dataframe that becomes an artifact."""
    return pd.DataFrame({
        "feature_1": [1, 2, 3],
        "feature_2": [4, 5, 6],
        "target": [10, 20, 30]
    })


@step
def process_data(df: pd.DataFrame) -> pd.DataFrame:
    """Takes an artifact as input and returns a new artifact."""
    df["feature_3"] = df["feature_1"] * df["feature_2"]
    return df


@step
def split_dataset(
    df: pd.DataFrame
) -> Tuple[
    Annotated[pd.DataFrame, "train_data"],
    Annotated[pd.DataFrame, "test_data"]
]:
    """Split a dataframe into training and testing sets."""
    train = df.sample(frac=0.8, random_state=42)
    test = df.drop(train.index)
    return train, test


def test_create_process_and_split():
    @pipeline
    def simple_pipeline():
        """Pipeline that creates and processes artifacts."""
        data = create_data()  # Produces an artifact
        processed_data = process_data(data)  # Uses and produces artifacts
        split_dataset(processed_data)

    run = simple_pipeline()
    pipeline_run = Client().get_pipeline_run(run.id)
    created = pipeline_run.steps["create_data"].outputs["output"]
    assert created.materializer == MATERIALIZER
    assert created.metadata["rows"] == 3 and created.metadata["columns"] == 3
    processed = pipeline_run.steps["process_data"].outputs["output"].load()
    assert processed["feature_3"].tolist() == [4, 10, 18]
    train_data = pipeline_run.steps["split_dataset"].outputs["train_data"].load()
    test_data = pipeline_run.steps["split_dataset"].outputs["test_data"].load()
    assert train_data.shape == (2, 4) and test_data.shape == (1, 4)
    # the sampled index survives the round trip: train and test partition the rows
    assert sorted(train_data.index.tolist() + test_data.index.tolist()) == [0, 1, 2]
    assert pipeline_run.steps["split_dataset"].outputs["train_data"].name == "train_data"
    assert Client().get_artifact_version("test_data").load().equals(test_data)
    visualized = pipeline_run.steps["split_dataset"].outputs["train_data"].visualize()
    assert sorted(kind for kind in visualized.values()) == ["csv", "html"]


def test_preprocess_to_numpy_and_split():
    @step
    def preprocess_data(df: pd.DataFrame) -> np.ndarray:
        """Type annotation tells ZenML this returns a numpy array."""
        return df.values

    @step
    def split_data(data: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Type annotation tells ZenML this returns a tuple of numpy arrays."""
        split_point = len(data) // 2
        return data[:split_point], data[split_point:]

    @pipeline
    def array_pipeline():
        split_data(preprocess_data(create_data()))

    run = array_pipeline()
    first = run.steps["split_data"].outputs["output_0"].load()
    second = run.steps["split_data"].outputs["output_1"].load()
    np.testing.assert_array_equal(np.vstack([first, second]),
                                  [[1, 4, 10], [2, 5, 20], [3, 6, 30]])
    assert run.steps["preprocess_data"].inputs["df"].materializer == MATERIALIZER


def test_dynamic_names_with_substitutions():
    @step
    def extract_data(source: str) -> Annotated[pd.DataFrame, "{dataset_type}_data"]:
        """Extract data with a dynamically named output."""
        data = pd.DataFrame()  # Your data extraction logic here
        return data

    @pipeline
    def data_pipeline():
        # These will create artifacts named "train_data" and "test_data"
        train_df = extract_data.with_options(
            substitutions={"dataset_type": "train"}
        )(source="train_source")

        test_df = extract_data.with_options(
            substitutions={"dataset_type": "test"}
        )(source="test_source")

    run = data_pipeline()
    names = sorted(name for s in run.steps.values() for name in s.outputs)
    assert names == ["test_data", "train_data"]
    loaded = Client().get_artifact_version("train_data").load()
    pd.testing.assert_frame_equal(loaded, pd.DataFrame())
    assert Client().get_artifact_version("train_data").materializer == MATERIALIZER


def test_series_and_tricky_frames_between_steps():
    @step
    def make() -> Tuple[pd.DataFrame, pd.Series]:
        frame = pd.DataFrame({("m", 1): pd.array([1, None], dtype="Int64"),
                              2: pd.Categorical(["a", "b"])},
                             index=pd.MultiIndex.from_tuples([("x", 1), ("y", 2)],
                                                             names=["k", "n"]))
        when = pd.Series(pd.date_range("2024-01-01", periods=2, tz="Asia/Tokyo"), name="when")
        return frame, when

    @step
    def use(frame: pd.DataFrame, when: pd.Series) -> pd.Series:
        assert list(frame.columns) == [("m", 1), 2]
        assert str(frame[("m", 1)].dtype) == "Int64"
        assert str(when.dt.tz) == "Asia/Tokyo"
        return frame[2].astype(str) + when.dt.strftime("%d").values

    @pipeline
    def p():
        frame, when = make()
        use(frame, when)

    result = p().steps["use"].outputs["output"].load()
    assert isinstance(result, pd.Series) and result.tolist() == ["a01", "b02"]


def test_unstorable_output_fails_the_step_naming_the_column(tmp_path):
    (tmp_path / "work" / "zen.toml").write_text("allow_pickle = false\n")

    @step
    def bad() -> pd.DataFrame:
        return pd.DataFrame({"fine": [1, 2], "payload": [{"a": 1}, 3]})

    @pipeline
    def p():
        bad()

    with pytest.raises(UnsafeArtifactError) as info:
        p()
    assert "column 'payload'" in str(info.value) and "'output'" in str(info.value)


def test_save_and_load_artifact_outside_a_pipeline():
    frame = pd.DataFrame({"a": [1.5, 2.5]}, index=pd.Index(["r", "s"], name="row"))
    av = save_artifact(frame, "my_frame")
    assert av.materializer == MATERIALIZER and av.metadata["rows"] == 2
    pd.testing.assert_frame_equal(load_artifact("my_frame"), frame)
