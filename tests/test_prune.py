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

    def flaky_delete(self, uri):  # deleting the object (moved to the trash first) fails
        if os.path.basename(uri).startswith(os.path.basename(undeletable) + "-"):
            raise PermissionError(f"permission denied: {uri}")
        real_delete(self, uri)

    monkeypatch.setattr(LocalArtifactStore, "delete", flaky_delete)
    with pytest.raises(StoreError, match="--ignore-errors"):
        client.prune_artifacts()
    kept = client.list_artifact_versions("producing::produce::output")  # shown again, whole
    assert [v.uri == undeletable for v in kept] == [True, False]
    assert [v.load() for v in kept] == [[0, 1, 2], [0, 1, 2, 3]]
    report = client.prune_artifacts(ignore_errors=True)
    [(uri, error)] = report.errors
    assert uri == undeletable and error.startswith("PermissionError: permission denied: ")
    [remaining] = client.list_artifact_versions("producing::produce::output")
    assert remaining.uri == undeletable and remaining.load() == [0, 1, 2]  # with its data


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


def _unreferenced_output() -> Path:
    """A step output no run references any more (what prune deletes): its object's path."""
    run = producing(n=3)
    uri = run.steps["produce"].outputs["output"].uri
    Client().delete_pipeline_run(run.id)
    return Path(uri)


def test_a_save_reusing_an_object_that_a_prune_then_deletes_publishes_it_again(monkeypatch):
    """The race of defect 4: the save finds the object stored and reuses it; a prune that
    counted the object's users before the save's version existed deletes it; the save,
    once recorded, finds it gone and publishes it again from the staging copy it kept."""
    from zen_core.metadata_stores.sql import SQLMetadataStore

    obj = _unreferenced_output()
    record = SQLMetadataStore.create_artifact_version

    def prune_first(self, new):
        assert new.data.uri == str(obj) and new.data.staging is not None  # reused, copy kept
        report = Client().prune_artifacts()  # the save's version does not exist yet
        assert report.objects == [str(obj)] and not obj.exists()
        return record(self, new)

    with monkeypatch.context() as patched:
        patched.setattr(SQLMetadataStore, "create_artifact_version", prune_first)
        saved = save_artifact([0, 1, 2], "numbers")
    assert saved.uri == str(obj) and Client().get_artifact_version("numbers").load() == [0, 1, 2]
    assert Client().prune_artifacts().staging == []  # the kept copy is gone too


def test_a_prune_puts_back_an_object_a_save_reused_while_it_was_deleting(monkeypatch):
    """The other order: the prune counted the users, then the save reused the object and
    was recorded, then the prune moved the object out; counting again, it puts it back."""
    obj = _unreferenced_output()
    move_aside = LocalArtifactStore.move_aside
    saved = []

    def save_first(self, uri, area):
        if not saved:
            saved.append(save_artifact([0, 1, 2], "numbers"))  # reuses the object, settles
        return move_aside(self, uri, area)

    with monkeypatch.context() as patched:
        patched.setattr(LocalArtifactStore, "move_aside", save_first)
        report = Client().prune_artifacts()
    assert [v.name for v in report.versions] == ["producing::produce::output"]
    assert report.objects == []  # not deleted after all
    assert saved[0].uri == str(obj) and Client().get_artifact_version("numbers").load() == [0, 1, 2]
    assert list(Client().active_stack.artifact_store.iter_aside("trash")) == []


def test_a_killed_prune_leaves_hidden_versions_that_the_next_prune_finishes(monkeypatch):
    obj = _unreferenced_output()
    client = Client()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl+C while the data is being deleted (kills: test_faults)

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(LocalArtifactStore, "delete", killed)  # after the move to the trash
        client.prune_artifacts()
    assert client.list_artifact_versions() == []  # hidden: no version without its data shows
    assert obj.exists()  # what the interrupted delete left is back in place...
    report = client.prune_artifacts()  # ...and the next prune finishes the job
    assert [v.name for v in report.versions] == ["producing::produce::output"]
    assert not obj.exists() and client.active_stack.metadata_store.hidden_artifact_versions() == []


def test_a_step_output_reusing_an_object_deleted_mid_run_is_published_again(zen_plugins):
    """The same race inside a run: the step's output reuses the object and is recorded in a
    group commit not yet visible to other processes, so a prune there may delete the object
    (done here by hand, right after the step is recorded); the run, once its records are
    committed, finds it gone and publishes it again from the staging copy it kept."""
    import shutil

    from zen_core.plugins import hookimpl

    obj = _unreferenced_output()

    class DeletedElsewhere:
        @hookimpl
        def zen_after_step_run(self, step_run):
            shutil.rmtree(obj)

    zen_plugins.register(DeletedElsewhere(), name="deleted-elsewhere")
    run = producing(n=3)
    output = run.steps["produce"].outputs["output"]
    assert output.uri == str(obj) and output.load() == [0, 1, 2]
    assert Client().prune_artifacts().staging == []  # the kept copy went after settling
