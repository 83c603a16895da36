"""Quickstart: a small training pipeline, run by ``zen quickstart`` on the active stack.

It ships inside the core so that an installed ``zen`` can run it and tell where the
results went; its file is the template for a pipeline of your own. Run it twice:
the second run reuses every step from the cache.
    zen quickstart            (or: python -m zen_core.quickstart)
"""

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
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


def main(echo: Callable[[str], None] = print) -> None:
    """Run the pipeline, show its results, and where to look at them afterwards."""
    run = training_pipeline()
    echo(f"run {run.name}: {run.status}")
    for name, step_run in run.steps.items():
        echo(f"  {name:<14} {step_run.status}")

    client = Client()
    model = client.get_artifact_version("trained_model")
    error = client.get_artifact_version("test_error")
    echo(f"\ntrained_model v{model.version}: {model.load()}")
    echo(f"test_error    v{error.version}: {error.load():.3f}")
    echo(f"\nlineage of test_error:\n{client.get_lineage(error)}")

    home = client.config.home.resolve()
    zen = _zen_command(home)
    echo(f"\nStored on stack {client.active_stack.name!r} (ZEN_HOME is {home}). Look at it:")
    for command in ("stack describe", "run list", f"run show {run.id}", "artifact list",
                    "artifact lineage test_error"):
        echo(f"  {zen} {command}")
    echo(f"\nRun it again and every step comes from the cache. To write your own pipeline, "
         f"start from a copy of {Path(__file__).resolve()}")


def _zen_command(home: Path) -> str:
    """``zen`` as the user's shell can run it: its full path when another ``zen`` (or none)
    comes first on PATH, and ZEN_HOME when it is set (perhaps for this one command only)."""
    script = Path(sys.executable).parent / "zen"
    found = shutil.which("zen")
    on_path = not script.exists() or (found is not None and Path(found).samefile(script))
    zen = "zen" if on_path else str(script)
    if "ZEN_HOME" in os.environ:
        return f"ZEN_HOME={shlex.quote(str(home))} {shlex.quote(zen)}"
    return shlex.quote(zen)


if __name__ == "__main__":
    main()
