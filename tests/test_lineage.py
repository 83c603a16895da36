"""Lineage graphs in both directions, and visualizations returned outside notebooks."""

from __future__ import annotations

from typing import Annotated

import pytest

from zen_core import pipeline, step
from zen_core.client import Client


@step
def raw() -> Annotated[list, "raw"]:
    return [3, 1, 2]


@step
def clean(data: list) -> Annotated[list, "clean"]:
    return sorted(data)


@step
def stats(data: list) -> tuple[Annotated[int, "low"], Annotated[int, "high"]]:
    return data[0], data[-1]


@pipeline
def lineage_pipeline():
    low, high = stats(clean(raw()))


def test_upstream_and_downstream_graphs():
    lineage_pipeline()
    client = Client()
    high = client.get_artifact_version("high")
    up = client.get_lineage(high, direction="upstream")
    names = {n.name for n in up.nodes.values()}
    assert names == {"high", "stats", "clean", "raw"}
    ids = {(type(n).__name__, n.name): i for i, n in up.nodes.items()}
    assert (ids["StepRun", "stats"], ids["ArtifactVersion", "high"]) in up.edges
    assert (ids["ArtifactVersion", "clean"], ids["StepRun", "stats"]) in up.edges
    assert (ids["StepRun", "clean"], ids["ArtifactVersion", "clean"]) in up.edges
    text = up.render()
    assert text.splitlines()[0] == "artifact high:1 (builtins.int)"
    assert "step stats [completed]" in text and "artifact raw:1" in text

    down = client.get_lineage(client.get_artifact_version("raw"), direction="downstream")
    assert {n.name for n in down.nodes.values()} == {"raw", "clean", "stats", "low", "high"}
    assert str(down).count("artifact") == 4
    with pytest.raises(ValueError, match="upstream"):
        client.get_lineage(high, direction="sideways")


def test_records_know_their_relations():
    run = lineage_pipeline()
    clean_av = run.steps["clean"].outputs["clean"]
    assert clean_av.producer.name == "clean"
    assert clean_av.run.id == run.id
    assert [s.name for s in clean_av.consumers] == ["stats"]
    assert run.steps["stats"].inputs["data"].id == clean_av.id
    assert clean_av.data == [1, 2, 3] and clean_av.data is clean_av.data  # loaded once


def test_visualize_outside_a_notebook_returns_the_stored_paths():
    lineage_pipeline()
    raw = Client().get_artifact_version("raw")  # a list: its data.json is its visualization
    assert raw.visualizations == {} and raw.visualize() == {f"{raw.uri}/data.json": "json"}
