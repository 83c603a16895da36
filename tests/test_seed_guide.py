"""The user guide's examples with built-in types (pandas/numpy ones run where installed).

The guide (shared/seed) is the product's contract: its examples must run
with ``zenml`` replaced by ``zen_core``. Those needing pandas, numpy or
scikit-learn run in the full test session, where those plugins are installed.
"""

import os
from pathlib import Path
from typing import Annotated, Tuple

import pytest

from zen_core import ArtifactConfig, pipeline, register_artifact, step
from zen_core.client import Client


def test_creating_consuming_and_accessing_artifacts_with_pandas():
    pd = pytest.importorskip("pandas")

    @step
    def create_data() -> pd.DataFrame:
        """Creates a dataframe that becomes an artifact."""
        return pd.DataFrame({"feature_1": [1, 2, 3], "feature_2": [4, 5, 6],
                             "target": [10, 20, 30]})

    @step
    def process_data(df: pd.DataFrame) -> pd.DataFrame:
        df["feature_3"] = df["feature_1"] * df["feature_2"]
        return df

    @step
    def split_dataset(df: pd.DataFrame) -> Tuple[
        Annotated[pd.DataFrame, "train_data"], Annotated[pd.DataFrame, "test_data"]
    ]:
        train = df.sample(frac=0.8, random_state=42)
        test = df.drop(train.index)
        return train, test

    @pipeline
    def simple_pipeline():
        data = create_data()
        processed_data = process_data(data)
        split_dataset(processed_data)

    run = simple_pipeline()
    pipeline_run = Client().get_pipeline_run(run.id)
    train_data = pipeline_run.steps["split_dataset"].outputs["train_data"].load()
    assert train_data.shape == (2, 4)
    assert list(train_data.columns) == ["feature_1", "feature_2", "target", "feature_3"]


def test_multiple_outputs_and_the_two_tuple_forms():
    @step
    def split_data(data: list, target: list) -> Tuple[
        Annotated[list, "X_train"], Annotated[list, "X_test"],
        Annotated[list, "y_train"], Annotated[list, "y_test"],
    ]:
        X_train, X_test = data[:80], data[80:]
        y_train, y_test = target[:80], target[80:]
        return X_train, X_test, y_train, y_test

    @step
    def make() -> tuple:
        some_tuple = (list(range(100)), list(range(100, 200)))
        return some_tuple

    @step
    def unpack(pair: tuple):
        return pair[0], pair[1]

    @pipeline
    def p():
        data, target = unpack(make())
        split_data(data, target)

    run = p()
    outputs = run.steps["split_data"].outputs
    assert set(outputs) == {"X_train", "X_test", "y_train", "y_test"}
    assert len(outputs["X_train"].load()) == 80 and outputs["y_test"].load()[0] == 180
    assert set(run.steps["make"].outputs) == {"output"}


def test_accessing_previous_versions_by_name_and_version():
    @step
    def train() -> Annotated[dict, ArtifactConfig(name="my_model", version="1.0")]:
        return {"weights": [1, 2]}

    @pipeline
    def p():
        train()

    p()
    artifact = Client().get_artifact_version("my_model", "1.0")
    latest_artifact = Client().get_artifact_version("my_model")
    assert artifact.id == latest_artifact.id
    assert latest_artifact.load() == {"weights": [1, 2]}


def test_registering_framework_checkpoints_folder():
    from uuid import uuid4

    prefix = Client().active_stack.artifact_store.path
    checkpoint_dir = os.path.join(prefix, uuid4().hex)
    os.makedirs(checkpoint_dir)
    for epoch in range(3):
        Path(checkpoint_dir, f"checkpoint-epoch={epoch:02d}.ckpt").write_bytes(bytes([epoch]) * 10)
    register_artifact(folder_or_file_uri=checkpoint_dir, name="lightning_checkpoints")
    checkpoint_path = Client().get_artifact_version("lightning_checkpoints").load()
    assert sorted(p.name for p in checkpoint_path.iterdir()) == [
        "checkpoint-epoch=00.ckpt", "checkpoint-epoch=01.ckpt", "checkpoint-epoch=02.ckpt"]
