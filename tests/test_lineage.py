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


@step
def seed() -> Annotated[int, "link"]:
    return 0


@step
def increment(x: int) -> Annotated[int, "link"]:
    return x + 1


def test_a_2000_step_chain_walks_and_renders_without_recursion():
    from click.testing import CliRunner

    from zen_core.cli import cli

    @pipeline(enable_cache=False)
    def long_chain():
        x = seed()
        for _ in range(1999):
            x = increment(x)

    long_chain()
    client = Client()
    last = client.get_artifact_version("link")
    assert last.version == "2000"
    up = client.get_lineage(last, direction="upstream")
    assert len(up.nodes) == 4000  # 2,000 versions and the 2,000 steps that made them
    lines = str(up).splitlines()
    assert lines[0] == "artifact link:2000 (builtins.int)"
    assert "artifact link:1 " in lines[-2] and "step seed " in lines[-1]
    down = client.get_lineage(client.get_artifact_version("link", "1"), direction="downstream")
    assert len(str(down).splitlines()) == 3999  # link:1 and each later step and version
    result = CliRunner().invoke(cli, ["artifact", "lineage", "link:1000"])
    assert result.exit_code == 0, result.output
    assert "artifact link:1 " in result.output and "artifact link:2000 " in result.output
