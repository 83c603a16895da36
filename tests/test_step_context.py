"""get_step_context(): the running step's run, step run, inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from zen_core import get_step_context, pipeline, step
from zen_core.errors import StepContextError
from zen_core.materializers import BuiltInMaterializer
from zen_core.steps import StepContext
from zen_core.steps.step_context import get_step_context as from_zenml_path

seen: dict = {}


@step
def source() -> Annotated[int, "number"]:
    return 41


@step
def inspect_me(number: int) -> Annotated[str, "report"]:
    context = get_step_context()
    seen.update(run=context.pipeline_run, step_run=context.step_run, name=context.step_name,
                inputs=context.inputs, materializer=context.get_output_materializer())
    folder = context.get_output_artifact_uri()
    seen["folder"] = folder
    (Path(folder) / "extra.txt").write_text("written by the step itself")
    context.add_output_metadata({"checked": True})
    context.add_output_tags(["inspected"], output_name="report")
    context.remove_output_tags(["never-added"])
    seen["tags"] = context.get_output_tags()
    return f"got {number}"


@pipeline
def context_pipeline():
    inspect_me(source())


def test_the_step_context_knows_the_run_the_step_and_its_inputs():
    seen.clear()
    run = context_pipeline()
    step_run = run.steps["inspect_me"]
    assert seen["run"].id == run.id and seen["run"].name == run.name
    assert seen["step_run"].id == step_run.id and seen["name"] == "inspect_me"
    assert {k: v.id for k, v in seen["inputs"].items()} == {
        "number": run.steps["source"].outputs["number"].id}
    assert isinstance(seen["materializer"], BuiltInMaterializer)
    assert seen["tags"] == ["inspected"]
    report = step_run.outputs["report"]
    assert report.load() == "got 41"
    assert report.run_metadata["checked"] is True and report.tags == ["inspected"]


def test_files_written_to_the_output_uri_are_published_with_the_artifact():
    seen.clear()
    report = context_pipeline().steps["inspect_me"].outputs["report"]
    # the staging folder the step wrote to is gone; its file moved with the data
    assert report.uri != seen["folder"] and not Path(seen["folder"]).exists()
    assert "extra.txt" in report.files
    assert (Path(report.uri) / "extra.txt").read_text() == "written by the step itself"


def test_a_failed_step_leaves_no_staging_behind(zen_home):
    @step
    def writes_then_fails() -> int:
        folder = Path(get_step_context().get_output_artifact_uri())
        (folder / "partial.bin").write_bytes(b"x")
        raise RuntimeError("boom")

    @pipeline
    def failing():
        writes_then_fails()

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    from zen_core.client import Client

    store = Client().active_stack.artifact_store
    # (the local store keeps emptied staging folders to reuse them)
    assert [store.list_files(entry.uri) for entry in store.iter_staging()] in ([], [{}])


def test_outside_a_step_there_is_no_context():
    with pytest.raises(StepContextError, match=r"get_step_context\(\) was called outside a "
                                               r"running step.*Fix: call it in the body"):
        get_step_context()
    with pytest.raises(RuntimeError):  # ZenML raises RuntimeError: code catching it works
        from_zenml_path()


def test_output_names_are_checked():
    @step
    def two() -> tuple[Annotated[int, "a"], Annotated[int, "b"]]:
        context = get_step_context()
        assert isinstance(context, StepContext)
        for call, message in (
                (lambda: context.get_output_artifact_uri(), r"several outputs \('a', 'b'\)"),
                (lambda: context.add_output_metadata({"k": 1}, "c"),
                 r"has no output 'c'; its outputs are 'a', 'b'")):
            with pytest.raises(StepContextError, match=message):
                call()
        return 1, 2

    @step
    def untyped():
        with pytest.raises(StepContextError, match=r"materializer is chosen by the type of the "
                                                   r"value.*Fix: annotate"):
            get_step_context().get_output_materializer()
        assert isinstance(get_step_context().get_output_materializer(data_type=int),
                          BuiltInMaterializer)
        return 1

    @pipeline
    def checked():
        two()
        untyped()

    assert checked().status == "completed"
