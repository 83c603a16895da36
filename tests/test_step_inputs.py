"""Richer step inputs: ExternalArtifact values and UnmaterializedArtifact annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from zen_core import ExternalArtifact, UnmaterializedArtifact, pipeline, save_artifact, step
from zen_core.artifacts.external_artifact import ExternalArtifact as from_zenml_path
from zen_core.artifacts.unmaterialized_artifact import UnmaterializedArtifact as unmat_path
from zen_core.client import Client
from zen_core.errors import CompositionError, MaterializerNotFoundError
from zen_core.records import ArtifactVersion

calls: list = []


@step
def total(values: list) -> int:
    calls.append(values)
    return sum(values)


def summing(values):
    @pipeline(name="summing")
    def p():
        total(values=ExternalArtifact(value=values))

    return p()


def test_an_external_value_becomes_an_input_artifact_keyed_by_content():
    calls.clear()
    first = summing([1, 2, 3])
    step_run = first.steps["total"]
    assert step_run.outputs["output"].load() == 6
    external = step_run.inputs["values"]
    assert (external.name, external.version, external.origin) == (
        "external::summing::total::values", "1", "external")
    assert external.load() == [1, 2, 3]
    assert [s.id for s in external.consumers] == [step_run.id]

    again = summing([1, 2, 3])  # same content: the same version, and a cache hit
    assert again.steps["total"].status == "cached"
    assert again.steps["total"].inputs["values"].id == external.id
    assert calls == [[1, 2, 3]]

    other = summing([4, 5])  # new content: a new version, the step runs
    assert other.steps["total"].status == "completed"
    assert other.steps["total"].cache_miss == "input 'values' changed"
    assert other.steps["total"].inputs["values"].version == "2"
    assert from_zenml_path is ExternalArtifact


def test_an_external_value_of_the_wrong_type_is_refused_when_composing():
    @pipeline
    def mistyped():
        total(values=ExternalArtifact(value="not a list"))

    with pytest.raises(CompositionError, match=r"step 'total', argument 'values': expected "
                                               r"list, got an ExternalArtifact holding str"):
        mistyped()
    assert Client().list_pipeline_runs() == []


def test_an_external_value_that_cannot_be_stored_fails_before_the_run_is_recorded(zen_home):
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text("allow_pickle = false\n")

    @step
    def anything(value) -> None:
        pass

    @pipeline
    def unpicklable():
        anything(value=ExternalArtifact(value=complex(1, 2)))

    with pytest.raises(MaterializerNotFoundError, match="builtins.complex"):
        unpicklable()
    assert Client().list_pipeline_runs() == []


def test_external_versions_are_pruned_with_the_runs_that_used_them():
    run = summing([7])
    client = Client()
    client.delete_pipeline_run(run.id)
    report = client.prune_artifacts()
    assert "external::summing::total::values" in {v.name for v in report.versions}


# -- UnmaterializedArtifact ---------------------------------------------------------------


@step
def make_lines() -> Annotated[str, "lines"]:
    return "a\nb"


@step
def count_files(lines: UnmaterializedArtifact) -> int:
    assert isinstance(lines, UnmaterializedArtifact) and isinstance(lines, ArtifactVersion)
    calls.append(lines.uri)
    return len(list(Path(lines.uri).iterdir()))


@pipeline
def unloaded():
    count_files(make_lines())


def test_an_unmaterialized_input_is_the_artifact_version_unloaded():
    calls.clear()
    run = unloaded()
    lines = run.steps["make_lines"].outputs["lines"]
    assert calls == [lines.uri]
    assert run.steps["count_files"].outputs["output"].load() == 1
    assert run.steps["count_files"].inputs["lines"].id == lines.id  # lineage as usual
    assert unloaded().steps["count_files"].status == "cached"  # the cache keys on its content
    assert unmat_path is UnmaterializedArtifact


def test_an_unmaterialized_input_can_come_from_another_pipeline_and_still_load():
    saved = save_artifact({"k": 1}, "saved_dict")

    @step
    def reads(data: UnmaterializedArtifact) -> Annotated[dict, "copy"]:
        return data.load()

    @pipeline
    def reuse():
        reads(Client().get_artifact_version("saved_dict"))

    run = reuse()
    assert run.steps["reads"].outputs["copy"].load() == {"k": 1}
    assert {av.id for av in run.steps["reads"].inputs.values()} == {saved.id}
