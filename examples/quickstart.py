"""Quickstart: a small training pipeline on the embedded default stack.

Run it twice: the second run reuses every step from the cache.
    python examples/quickstart.py
"""

from typing import Annotated

from zen_core import pipeline, step
from zen_core.client import Client


@step
def create_data() -> dict:
    """Creates a small dataset that becomes an artifact."""
    return {"feature": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "target": [2.1, 3.9, 6.2, 7.8, 10.1, 12.0]}


@step
def split_dataset(data: dict) -> tuple[Annotated[dict, "train_data"], Annotated[dict, "test_data"]]:
    """Splits the dataset into named train and test artifacts."""
    cut = 4
    train = {k: v[:cut] for k, v in data.items()}
    test = {k: v[cut:] for k, v in data.items()}
    return train, test


@step
def train_model(train: dict, learning_rate: float) -> Annotated[dict, "trained_model"]:
    """Fits y = w * x by gradient descent; learning_rate is a parameter, not an artifact."""
    w = 0.0
    for _ in range(200):
        grad = sum((w * x - y) * x for x, y in zip(train["feature"], train["target"]))
        w -= learning_rate * grad / len(train["feature"])
    return {"weight": w}


@step
def evaluate(model: dict, test: dict) -> Annotated[float, "test_error"]:
    """Mean absolute error of the model on the test set."""
    errors = [abs(model["weight"] * x - y) for x, y in zip(test["feature"], test["target"])]
    return sum(errors) / len(errors)


@pipeline
def training_pipeline(learning_rate: float = 0.02):
    data = create_data()
    train, test = split_dataset(data)
    model = train_model(train, learning_rate=learning_rate)
    evaluate(model, test)


if __name__ == "__main__":
    run = training_pipeline()
    print(f"\nrun {run.name}: {run.status}")
    for name, step_run in run.steps.items():
        print(f"  {name:<14} {step_run.status}")

    client = Client()
    model = client.get_artifact_version("trained_model")
    error = client.get_artifact_version("test_error")
    print(f"\ntrained_model v{model.version}: {model.load()}")
    print(f"test_error    v{error.version}: {error.load():.3f}")
    print(f"\nlineage of test_error:\n{client.get_lineage(error)}")
    print(f"\nartifacts are stored under {client.active_stack.artifact_store.path}")
