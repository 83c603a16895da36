"""The user guide's scikit-learn examples, run as written (``zenml`` -> ``zen_core``)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
import pytest
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LinearRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeRegressor

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.errors import UnsafeArtifactError

COLUMNS = ["a", "b"]


def _frame(seed: int, rows: int = 30) -> pd.DataFrame:
    return pd.DataFrame(np.random.RandomState(seed).rand(rows, 2), columns=COLUMNS)


def _target(frame: pd.DataFrame) -> pd.Series:
    return frame["a"] * 2.0 + frame["b"] * 3.0 + 1.0


@step
def split_dataset() -> tuple[Annotated[pd.DataFrame, "X_train"], Annotated[pd.Series, "y_train"]]:
    frame = _frame(0)
    return frame, _target(frame)


# -- the guide's "Materializers" example --------------------------------------------------------

@step
def train_model(X_train, y_train) -> LinearRegression:
    """Train a model and return it as an artifact."""
    model = LinearRegression()
    model.fit(X_train, y_train)
    return model  # zen_core uses a specific materializer for scikit-learn models


@pipeline
def training_pipeline():
    X_train, y_train = split_dataset()
    train_model(X_train, y_train)


def test_train_model_step_stores_a_skops_model():
    run = training_pipeline()
    assert run.status == "completed"
    av = run.steps["train_model"].outputs["output"]
    assert av.name == "training_pipeline::train_model::output"
    assert av.artifact_type == "model"
    assert av.materializer == "zen_sklearn.SklearnMaterializer"
    model = av.load()
    assert isinstance(model, LinearRegression)
    np.testing.assert_allclose(model.coef_, [2.0, 3.0])
    # the model came from the split step's outputs: lineage links them
    assert {a.name for a in run.steps["train_model"].inputs.values()} == {"X_train", "y_train"}
    # a second run is a cache hit and returns the same version
    again = training_pipeline()
    assert again.steps["train_model"].status == "cached"
    assert again.steps["train_model"].outputs["output"].id == av.id


# -- the guide's "Cross-Pipeline Artifact Usage" ------------------------------------------------

@step
def train_named() -> Annotated[LinearRegression, "trained_model"]:
    frame = _frame(1)
    return LinearRegression().fit(frame, _target(frame))


@pipeline
def producer_pipeline():
    train_named()


@step
def load_data() -> pd.DataFrame:
    return _frame(2, rows=5)


@step
def use_trained_model(data: pd.DataFrame, model) -> pd.Series:
    """Use a model loaded from a previous pipeline run."""
    return pd.Series(model.predict(data))


@pipeline
def inference_pipeline():
    # Load data
    data = load_data()

    # Get the latest model from another pipeline
    model = Client().get_artifact_version("trained_model")

    # Use it for predictions
    predictions = use_trained_model(data=data, model=model)  # noqa: F841


def test_cross_pipeline_model_use():
    producer = producer_pipeline()
    model_av = producer.steps["train_named"].outputs["trained_model"]
    run = inference_pipeline()
    step_run = run.steps["use_trained_model"]
    assert step_run.inputs["model"].id == model_av.id
    predictions = step_run.outputs["output"].load()
    expected = _target(_frame(2, rows=5)).to_numpy()
    np.testing.assert_allclose(predictions.to_numpy(), expected)
    # lineage: the model version was consumed by the inference step
    assert step_run.id in {s.id for s in model_av.consumers}


# -- the guide's "Accessing Artifacts from Previous Runs" inside a step -------------------------

@step
def evaluate_against_previous(model, X_test, y_test) -> float:
    """Compare current model with the previous best model."""
    client = Client()

    # Get the previous best model
    best_model = client.get_artifact_version("best_model")

    # Use it for comparison
    previous_accuracy = best_model.data.score(X_test, y_test)
    current_accuracy = model.score(X_test, y_test)

    return current_accuracy - previous_accuracy


@step
def train_best(noise: float) -> Annotated[LinearRegression, "best_model"]:
    frame = _frame(3)
    target = _target(frame) + np.random.RandomState(4).normal(0, noise, len(frame))
    return LinearRegression().fit(frame, target)


@step
def holdout_split() -> tuple[Annotated[pd.DataFrame, "X_test"], Annotated[pd.Series, "y_test"]]:
    frame = _frame(5)
    return frame, _target(frame)


@pipeline
def best_model_pipeline(noise: float):
    train_best(noise=noise)


@pipeline
def evaluation_pipeline():
    X_train, y_train = split_dataset()
    model = train_model(X_train, y_train)
    X_test, y_test = holdout_split()
    evaluate_against_previous(model, X_test, y_test)


def test_evaluate_against_previous_loads_best_model_in_a_step():
    best_model_pipeline(noise=0.5)  # a worse "previous best"
    run = evaluation_pipeline()
    gain = run.steps["evaluate_against_previous"].outputs["output"].load()
    assert 0 < gain < 1  # the exact current model beats the noisy previous one
    best = Client().get_artifact_version("best_model")
    # the version loaded inside the step is recorded as an input of that step
    assert best.id in {a.id for a in run.steps["evaluate_against_previous"].inputs.values()}


def test_untrusted_model_fails_the_consuming_step_with_the_fix(zen_home):
    @step
    def train_tree() -> Annotated[DecisionTreeRegressor, "tree_model"]:
        frame = _frame(6)
        return DecisionTreeRegressor(max_depth=2).fit(frame, _target(frame))

    @step
    def predict(model: DecisionTreeRegressor) -> float:
        return float(model.predict(_frame(7, rows=1))[0])

    @pipeline(enable_cache=False)
    def tree_pipeline():
        predict(train_tree())

    with pytest.raises(UnsafeArtifactError, match=r"'tree_model'.*sklearn\.tree\._tree\.Tree"):
        tree_pipeline()
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        '[plugins.sklearn]\ntrusted_types = ["sklearn.tree._tree.Tree"]\n')
    run = tree_pipeline()
    assert isinstance(run.steps["predict"].outputs["output"].load(), float)


# -- the runtime type chooses when the annotation's has no materializer -------------------------


def test_a_classifier_mixin_output_holding_an_svc_is_stored_by_skops_without_pickle(zen_home):
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text("allow_pickle = false\n")

    @step
    def train_classifier() -> ClassifierMixin:
        frame = _frame(8)
        return SVC().fit(frame, (frame["a"] > 0.5).astype(int))

    @pipeline
    def classifier_pipeline():
        train_classifier()

    av = classifier_pipeline().steps["train_classifier"].outputs["output"]
    assert av.materializer == "zen_sklearn.SklearnMaterializer"
    assert av.type == "sklearn.svm._classes.SVC"
    assert isinstance(av.load(), SVC)
    # the cache reuses it: the recorded materializer is still the one the value's type picks
    assert classifier_pipeline().steps["train_classifier"].status == "cached"
