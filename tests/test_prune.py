"""Pruning removes what no run references, and never what is shared, saved or the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zen_core import pipeline, register_artifact, save_artifact, step
from zen_core.artifact_stores.local import LocalArtifactStore
from zen_core.client import Client
from zen_core.errors import ArtifactDataMissingError, StoreError


@step(enable_cache=False)
def produce(n: int) -> list:
    return list(range(n))


@pipeline(enable_cache=False)
def producing(n: int = 3):
    produce(n=n)


def test_prune_after_deleting_a_run():
    client = Client()
    kept = producing(n=3)
    gone = producing(n=4)
    client.delete_pipeline_run(gone.id)
    report = client.prune_artifacts()
    assert [(v.name, v.version) for v in report.versions] == [("producing::produce::output", "2")]
    assert report.bytes_freed > 0 and len(report.objects) == 1
    assert not os.path.exists(report.objects[0])
    assert [v.version for v in client.list_artifact_versions("producing::produce::output")] == ["1"]
    assert kept.steps["produce"].outputs["output"].load() == [0, 1, 2]


def test_shared_content_stays_while_a_kept_version_uses_it():
    client = Client()
    keep = producing(n=3)
    drop = producing(n=3)  # identical content: one stored object, two versions
    client.delete_pipeline_run(drop.id)
    report = client.prune_artifacts()
    assert len(report.versions) == 1 and report.objects == []
    assert keep.steps["produce"].outputs["output"].load() == [0, 1, 2]


def test_saved_and_registered_versions_and_user_files_are_kept():
    client = Client()
    save_artifact([1], "saved_by_name")
    root = client.active_stack.artifact_store.path
    os.makedirs(root, exist_ok=True)
    user_file = Path(root, "user.txt")
    user_file.write_text("mine")
    register_artifact(str(user_file), "registered")
    run = producing()
    client.delete_pipeline_run(run.id)
    report = client.prune_artifacts()
    assert [v.name for v in report.versions] == ["producing::produce::output"]
    assert user_file.read_text() == "mine"
    assert client.get_artifact_version("saved_by_name").load() == [1]
    assert client.get_artifact_version("registered").load().read_text() == "mine"


def test_dry_run_removes_nothing():
    client = Client()
    run = producing()
    client.delete_pipeline_run(run.id)
    av = client.get_artifact_version("producing::produce::output")
    report = client.prune_artifacts(dry_run=True)
    assert len(report.versions) == 1 and report.dry_run
    assert client.get_artifact_version("producing::produce::output").load() == [0, 1, 2]
    assert os.path.exists(av.uri)


def test_only_metadata_keeps_files_and_only_artifact_keeps_records():
    client = Client()
    first = producing(n=3)
    uri = first.steps["produce"].outputs["output"].uri
    client.delete_pipeline_run(first.id)
    client.prune_artifacts(only_artifact=True)
    assert not os.path.exists(uri)
    av = client.get_artifact_version("producing::produce::output")
    with pytest.raises(ArtifactDataMissingError, match=r"'producing::produce::output'.*rerun"):
        av.load()

    second = producing(n=5)
    uri = second.steps["produce"].outputs["output"].uri
    client.delete_pipeline_run(second.id)
    client.prune_artifacts(only_metadata=True)
    assert os.path.exists(uri)
    assert client.list_artifact_versions("producing::produce::output") == []
    with pytest.raises(ValueError, match="exclude each other"):
        client.prune_artifacts(only_artifact=True, only_metadata=True)


def test_ignore_errors_keeps_metadata_of_what_could_not_be_deleted(monkeypatch):
    client = Client()
    first, second = producing(n=3), producing(n=4)
    undeletable = first.steps["produce"].outputs["output"].uri
    for run in (first, second):
        client.delete_pipeline_run(run.id)
    real_delete = LocalArtifactStore.delete

    def flaky_delete(self, uri):
        if uri == undeletable:
            raise PermissionError(f"permission denied: {uri}")
        real_delete(self, uri)

    monkeypatch.setattr(LocalArtifactStore, "delete", flaky_delete)
    with pytest.raises(StoreError, match="--ignore-errors"):
        client.prune_artifacts()
    report = client.prune_artifacts(ignore_errors=True)
    assert report.errors == [(undeletable, f"PermissionError: permission denied: {undeletable}")]
    remaining = client.list_artifact_versions("producing::produce::output")
    assert [v.uri for v in remaining] == [undeletable]


def test_individual_versions_cannot_be_deleted():
    assert not hasattr(Client(), "delete_artifact_version")


def test_orphan_objects_are_removed_only_after_the_grace_period():
    from zen_core.artifacts.data import save_data
    from zen_core.materializers.builtin import BytesMaterializer
    from zen_core.prune import prune

    stack = Client().active_stack
    # data published by a writer that died before recording it: no version points at it
    orphan = save_data(stack.artifact_store, BytesMaterializer, b"orphan", allow_pickle=False,
                       label="'o'")
    assert prune(stack).objects == []  # young: perhaps its metadata is being written now
    assert os.path.exists(orphan.uri)
    report = prune(stack, orphan_grace_s=0)
    assert report.objects == [orphan.uri] and not os.path.exists(orphan.uri)
