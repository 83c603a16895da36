"""The Client's queries as ZenML code makes them: pipelines, artifacts, pages, configuration,
outputs, downloads, and times as ``datetime``s."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from pathlib import Path
from typing import Annotated

import pytest
from click.testing import CliRunner

from zen_core import pipeline, register_artifact, save_artifact, step
from zen_core.cli import cli
from zen_core.client import Client
from zen_core.errors import (
    ArtifactNotFoundError,
    DownloadExistsError,
    DownloadPathError,
    IntegrityError,
    PipelineNotFoundError,
    QueryError,
    RunNotFoundError,
    StepOutputError,
)
from zen_core.models import Page, PipelineRunResponse, StepRunResponse


@step
def load(rows: int = 3) -> Annotated[list, "rows"]:
    return list(range(rows))


@step
def split(data: list) -> tuple[Annotated[list, "head"], Annotated[list, "tail"]]:
    return data[:1], data[1:]


@step
def fail_if(data: list, fail: bool = False) -> None:
    if fail:
        raise ValueError("asked to fail")


@pipeline
def querying(rows: int = 3, fail: bool = False):
    data = load(rows=rows)
    split(data)
    fail_if(data, fail=fail)


def test_get_pipeline_and_its_runs():
    first = querying(rows=1)
    with pytest.raises(ValueError, match="asked to fail"):
        querying(rows=2, fail=True)
    failed = Client().list_pipeline_runs(size=1)[0]
    info = Client().get_pipeline("querying")
    assert info.name == "querying" and info.num_runs == 2
    assert [r.id for r in info.runs] == [failed.id, first.id]  # newest first, all of them
    assert info.last_run == failed and info.last_successful_run == first
    assert [r.id for r in info.get_runs(status="failed")] == [failed.id]
    assert querying.last_run == failed and querying.model.last_run == failed
    assert [p.name for p in Client().list_pipelines()] == ["querying"]


def test_unknown_pipeline_and_no_successful_run_are_clear_errors():
    with pytest.raises(ValueError):
        querying(fail=True)
    with pytest.raises(PipelineNotFoundError, match=r"no pipeline named 'queryin' has runs\. "
                                                    r"Did you mean 'querying'\?"):
        Client().get_pipeline("queryin")
    with pytest.raises(RunNotFoundError, match=r"pipeline 'querying' has no completed runs"):
        _ = Client().get_pipeline("querying").last_successful_run

    @pipeline
    def never_run():
        load()

    with pytest.raises(PipelineNotFoundError, match="'never_run'"):
        _ = never_run.last_run


def test_list_pipeline_runs_pages_sorts_and_filters():
    runs = [querying(rows=n) for n in (1, 2, 3, 4, 5)]
    client = Client()
    every = client.list_pipeline_runs()
    assert isinstance(every, Page) and len(every) == every.total == 5
    assert [r.id for r in every] == [r.id for r in reversed(runs)]
    page = client.list_pipeline_runs(size=2, page=2)
    assert [r.id for r in page] == [runs[2].id, runs[1].id]
    assert (page.total, page.index, page.max_size, page.total_pages, page.size) == (5, 2, 2, 3, 2)
    assert page.items == [runs[2], runs[1]] and page[0] == runs[2]
    assert client.list_pipeline_runs(sort_by="created", size=1).items == [runs[0]]
    assert client.list_pipeline_runs(sort_by="asc:name")[0].name == min(r.name for r in runs)
    assert client.list_pipeline_runs(status="failed") == []
    assert client.list_pipeline_runs(pipeline_name="querying", status="completed").total == 5


def test_list_artifact_versions_pages_sorts_and_filters_on_metadata():
    for n in (1, 2, 3):
        querying(rows=n)
    client = Client()
    versions = client.list_artifact_versions(name="rows")
    assert [v.version for v in versions] == ["1", "2", "3"] and versions.total == 3
    assert [v.version for v in client.list_artifact_versions("rows", sort_by="desc:created",
                                                              size=2)] == ["3", "2"]
    assert client.list_artifact_versions("rows", size=2, page=2).items[0].version == "3"
    by_size = client.list_artifact_versions("rows", sort_by="desc:size")
    assert by_size[0].size >= by_size[-1].size
    assert [v.version for v in client.list_artifact_versions(
        "rows", run_metadata="length:2")] == ["2"]
    assert [v.version for v in client.list_artifact_versions(
        "rows", run_metadata=["length:gte:2", "length:lt:3"])] == ["2"]
    assert client.list_artifact_versions(run_metadata="storage_size:gt:0").total == \
        client.list_artifact_versions().total
    paged = client.list_artifact_versions("rows", run_metadata="length:gte:1", size=2, page=2)
    assert [v.version for v in paged] == ["3"] and paged.total == 3
    assert client.list_artifact_versions(run_metadata="missing_key:1") == []


def test_query_arguments_are_checked():
    client = Client()
    with pytest.raises(QueryError, match=r"sort_by='desc:colour' cannot sort pipeline runs.*"
                                         r"'created', 'finished', 'name'"):
        client.list_pipeline_runs(sort_by="desc:colour")
    with pytest.raises(QueryError, match=r"sort_by='sideways:created'"):
        client.list_artifact_versions(sort_by="sideways:created")
    with pytest.raises(QueryError, match=r"size=0 is not a positive whole number"):
        client.list_artifact_versions(size=0)
    with pytest.raises(QueryError, match=r"page=2 without size"):
        client.list_pipeline_runs(page=2)
    with pytest.raises(QueryError, match=r"run_metadata entry 'accuracy' is not 'key:value'"):
        client.list_artifact_versions(run_metadata="accuracy")
    with pytest.raises(ValueError):  # a QueryError is a ValueError, as pydantic's would be
        client.list_pipeline_runs(size=-1)


def test_get_artifact_with_its_versions():
    for n in (1, 2):
        querying(rows=n)
    save_artifact([9], "rows", version="pinned")
    artifact = Client().get_artifact("rows")
    assert artifact.name == "rows" and artifact.num_versions == 3
    assert list(artifact.versions) == ["1", "2", "pinned"]
    assert artifact.versions["2"].load() == [0, 1]
    assert artifact.latest_version.version == "pinned" == artifact.latest_version_name
    with pytest.raises(ArtifactNotFoundError, match=r"no artifact named 'row'\. Did you mean"):
        Client().get_artifact("row")


def test_configuration_of_runs_and_steps():
    run = querying.with_options(enable_cache=False, substitutions={"stage": "x"})(rows=2)
    assert run.config.parameters == {"rows": 2, "fail": False}
    assert run.config.enable_cache is False and run.config.substitutions == {"stage": "x"}
    assert run.config.settings == {} and run.config.name == "querying"
    assert run.config.run_name == run.name
    step_run = run.steps["load"]
    assert step_run.config.parameters == {"rows": 2} and step_run.config.name == "load"
    assert step_run.config.enable_cache is False
    default = querying(rows=5)
    assert default.config.enable_cache is None  # not set on the pipeline
    assert default.steps["load"].config.enable_cache is True


def test_output_is_the_only_output_or_a_clear_error():
    run = querying()
    assert run.steps["load"].output.load() == [0, 1, 2]
    with pytest.raises(StepOutputError, match=r"step 'split' .* has 2 outputs \(head, tail\), "
                                              r"so `\.output` is ambiguous"):
        _ = run.steps["split"].output
    with pytest.raises(StepOutputError, match=r"step 'fail_if' .* has no outputs"):
        _ = run.steps["fail_if"].output


def test_download_files_zips_the_verified_files(tmp_path):
    av = querying().steps["load"].output
    target = tmp_path / "new" / "folder" / "rows.zip"
    av.download_files(str(target))
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == sorted(av.files)
        assert all(archive.read(n) for n in archive.namelist())
    with pytest.raises(DownloadExistsError, match=r"the file exists.*overwrite=True"):
        av.download_files(target)
    av.download_files(target, overwrite=True)
    with pytest.raises(DownloadPathError, match=r"must end with '\.zip'.*'.*rows\.tar\.zip'"):
        av.download_files(tmp_path / "rows.tar")


def test_download_of_tampered_data_fails_and_leaves_no_zip(tmp_path):
    av = querying().steps["load"].output
    stored = Path(av.uri) / next(iter(av.files))
    stored.write_bytes(stored.read_bytes()[:-1] + b" ")
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=r"is corrupt"):
        av.download_files(out / "bad.zip")
    assert list(out.iterdir()) == []


def test_download_of_registered_files_and_folders(tmp_path):
    root = Client().active_stack.artifact_store.path
    os.makedirs(os.path.join(root, "data", "sub"), exist_ok=True)
    Path(root, "data", "a.txt").write_text("a")
    Path(root, "data", "sub", "b.txt").write_text("b")
    folder = register_artifact(os.path.join(root, "data"), "folder")
    single = register_artifact(os.path.join(root, "data", "a.txt"), "single")
    folder.download_files(tmp_path / "folder.zip")
    single.download_files(tmp_path / "single.zip")
    with zipfile.ZipFile(tmp_path / "folder.zip") as archive:
        assert sorted(archive.namelist()) == ["a.txt", "sub/b.txt"]
    with zipfile.ZipFile(tmp_path / "single.zip") as archive:
        assert archive.namelist() == ["a.txt"] and archive.read("a.txt") == b"a"


def test_times_are_naive_utc_datetimes():
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run = querying()
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    step_run = run.steps["load"]
    av = step_run.output
    for when in (run.created, run.finished, step_run.started, step_run.finished, av.created):
        assert isinstance(when, dt.datetime) and when.tzinfo is None
        assert before - dt.timedelta(seconds=1) <= when <= after + dt.timedelta(seconds=1)
    assert run.created <= step_run.started <= step_run.finished <= run.finished
    assert run.start_time == run.created and run.end_time == run.finished
    assert step_run.start_time == step_run.created == step_run.started
    assert step_run.end_time == step_run.finished
    assert 0 <= run.duration == (run.finished - run.created).total_seconds()
    summary = Client().list_artifacts()[0]
    assert isinstance(summary.latest_created, dt.datetime)
    assert isinstance(run, PipelineRunResponse) and isinstance(step_run, StepRunResponse)


def test_json_output_uses_iso_8601():
    run = querying()
    runner = CliRunner()
    shown = json.loads(runner.invoke(cli, ["run", "show", run.id, "--json"]).stdout)
    assert dt.datetime.fromisoformat(shown["created"]) == run.created.replace(tzinfo=dt.UTC)
    assert shown["created"].endswith("+00:00") and "T" in shown["created"]
    assert dt.datetime.fromisoformat(shown["steps"][0]["started"]).tzinfo == dt.UTC
    listed = json.loads(runner.invoke(cli, ["run", "list", "--json"]).stdout)
    assert listed[0]["finished"] == run.finished.replace(tzinfo=dt.UTC).isoformat()
    version = json.loads(runner.invoke(cli, ["artifact", "show", "rows", "--json"]).stdout)
    assert dt.datetime.fromisoformat(version["created"]).tzinfo == dt.UTC
    artifacts = json.loads(runner.invoke(cli, ["artifact", "list", "--json"]).stdout)
    assert all("T" in a["latest_created"] for a in artifacts)


def test_a_runs_steps_fetch_their_lineage_together(monkeypatch):
    """Asking one listed step for its inputs fetches those of the finished steps listed
    after it too, in one store call per 100 steps (a dashboard drawing a 2,000-step run
    made 2,000 queries)."""

    @step(enable_cache=False)
    def start() -> int:
        return 1

    @step(enable_cache=False)
    def add(x: int) -> int:
        return x + 1

    @pipeline(enable_cache=False)
    def chain():
        x = start()
        for _ in range(5):
            x = add(x)

    run = chain()
    store = Client().active_stack.metadata_store
    calls = {"step_io": 0, "step_io_many": 0}
    for name in calls:
        real = getattr(type(store), name)

        def counting(self, *args, _real=real, _name=name):
            calls[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(type(store), name, counting)
    fresh = Client().get_pipeline_run(run.id)
    steps = list(fresh.steps.values())
    wired = [(s.name, sorted(s.inputs), sorted(s.outputs)) for s in steps]
    assert wired[0] == ("start", [], ["output"])
    assert wired[1:] == [(s.name, ["x"], ["output"]) for s in steps[1:]]
    assert steps[1].inputs["x"].id == steps[0].outputs["output"].id
    assert calls == {"step_io": 0, "step_io_many": 1}

    monkeypatch.setattr(Client, "IO_BATCH", 4)  # in batches: 6 steps, 4 then 2
    again = list(Client().get_pipeline_run(run.id).steps.values())
    assert [sorted(s.outputs) for s in again] == [["output"]] * 6
    assert calls == {"step_io": 0, "step_io_many": 3}
