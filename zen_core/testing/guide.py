"""The user guide's complete example as a contract every artifact store runs.

Needs pandas, numpy and scikit-learn (and their zen plugins for safe formats).
A store plugin's test subclasses :class:`GuideExampleContract` and gives a
``stack_root`` fixture: it makes a stack using the store active (in the
test's ZEN_HOME) and returns the store's root URI::

    class TestGuideOnS3(GuideExampleContract):
        @pytest.fixture
        def stack_root(self, make_s3_stack):
            return make_s3_stack()
"""

import os
from pathlib import Path
from typing import Annotated, Tuple  # noqa: UP035  (as the user guide writes it)

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from zen_core import pipeline, register_artifact, step
from zen_core.client import Client
from zen_core.errors import StoreError

__all__ = ["GuideExampleContract"]


@step
def create_data() -> pd.DataFrame:
    return pd.DataFrame({"feature_1": np.arange(20.0), "feature_2": np.arange(20.0) * 2,
                         "target": np.arange(20.0) * 10})


@step
def process_data(df: pd.DataFrame) -> pd.DataFrame:
    df["feature_3"] = df["feature_1"] * df["feature_2"]
    return df


@step
def split_dataset(df: pd.DataFrame) -> Tuple[  # noqa: UP006
    Annotated[pd.DataFrame, "train_data"], Annotated[pd.DataFrame, "test_data"]
]:
    train = df.sample(frac=0.8, random_state=42)
    return train, df.drop(train.index)


@step
def to_arrays(df: pd.DataFrame) -> tuple[Annotated[np.ndarray, "X"], Annotated[np.ndarray, "y"]]:
    return df[["feature_1", "feature_2", "feature_3"]].values, df["target"].values


@step
def train_model(X: np.ndarray, y: np.ndarray) -> Annotated[LinearRegression, "trained_model"]:
    return LinearRegression().fit(X, y)


@pipeline
def training_pipeline():
    train, test = split_dataset(process_data(create_data()))
    X, y = to_arrays(train)
    train_model(X, y)


@step
def use_trained_model(data: pd.DataFrame, model) -> pd.Series:
    return pd.Series(model.predict(data[["feature_1", "feature_2", "feature_3"]].values))


@pipeline
def inference_pipeline():
    data = process_data(create_data())
    model = Client().get_artifact_version("trained_model")
    use_trained_model(data=data, model=model)


def _objects(store) -> set[str]:
    return {uri for _, uri in store.iter_objects()}


class GuideExampleContract:
    """Create, process, split, train, fetch by name, reuse across pipelines, register, prune."""

    def test_guide_example_runs(self, stack_root):
        run = training_pipeline()
        assert run.status == "completed"
        client = Client()
        store = client.active_stack.artifact_store
        assert store.path == stack_root

        train = client.get_pipeline_run(run.id).steps["split_dataset"].outputs["train_data"]
        assert train.uri.startswith(stack_root + "/.zen/objects/")
        assert train.load().shape == (16, 4)
        model_av = client.get_artifact_version("trained_model")
        assert model_av.producer.name == "train_model"
        assert isinstance(model_av.load(), LinearRegression)
        assert store.exists(model_av.uri)

        # everything cached the second time, nothing new stored
        before = _objects(store)
        again = training_pipeline()
        assert {s.status for s in again.steps.values()} == {"cached"}
        assert _objects(store) == before

        # cross-pipeline use: the model fetched by name feeds another pipeline
        inference = inference_pipeline()
        predictions = inference.steps["use_trained_model"].outputs["output"].load()
        assert len(predictions) == 20
        assert [s.name for s in client.get_artifact_version("trained_model").consumers] == [
            "use_trained_model"]
        lineage = client.get_lineage(client.get_artifact_version("trained_model"), "upstream")
        assert any(getattr(n, "name", None) == "create_data" for n in lineage.nodes.values())


    def test_register_file_and_folder_in_the_store(self, stack_root):
        store = Client().active_stack.artifact_store
        prefix = Client().active_stack.artifact_store.path
        for rel, content in (("my_folder/model.pkl", b"weights"), ("my_folder/sub/notes.txt", b"hi")):
            with store.open(os.path.join(prefix, rel), "wb") as f:
                f.write(content)

        register_artifact(folder_or_file_uri=os.path.join(prefix, "my_folder"),
                          name="my_folder_artifact")
        folder_path = Client().get_artifact_version("my_folder_artifact").load()
        assert isinstance(folder_path, Path) and folder_path.is_dir()
        assert (folder_path / "sub" / "notes.txt").read_bytes() == b"hi"

        register_artifact(folder_or_file_uri=os.path.join(prefix, "my_folder/model.pkl"),
                          name="my_model_artifact")
        file_path = Client().get_artifact_version("my_model_artifact").load()
        assert isinstance(file_path, Path) and not os.path.isdir(file_path)
        assert file_path.read_bytes() == b"weights"
        # also without the protocol, as fsspec paths are often written
        av = register_artifact(prefix.split("://", 1)[-1] + "/my_folder/sub", name="bare")
        assert av.uri == prefix + "/my_folder/sub"


    def test_register_outside_the_root_is_refused(self, stack_root):
        with pytest.raises(StoreError, match=r"outside the active artifact store"):
            register_artifact(stack_root + "-elsewhere/file.bin", name="x")


    def test_prune_deletes_the_right_objects(self, stack_root):
        client = Client()
        store = client.active_stack.artifact_store
        with store.open(stack_root + "/user/keep.txt", "wb") as f:
            f.write(b"mine")
        register_artifact(stack_root + "/user/keep.txt", name="kept_file")
        run = training_pipeline()
        model = client.get_artifact_version("trained_model")
        all_objects = _objects(store)
        assert model.uri in all_objects

        dry = client.prune_artifacts(dry_run=True)
        assert dry.versions == [] and _objects(store) == all_objects

        client.delete_pipeline_run(run.id)
        report = client.prune_artifacts()
        assert model.uri in report.objects
        assert _objects(store) == set()  # every object belonged to the deleted run
        assert store.exists(stack_root + "/user/keep.txt")  # user files are never touched
        assert client.get_artifact_version("kept_file").load().read_bytes() == b"mine"
        assert [v.name for v in client.list_artifact_versions()] == ["kept_file"]
