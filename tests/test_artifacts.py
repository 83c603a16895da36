"""Artifact versions, names, placeholders, save/load/register and cross-pipeline use."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated

import pytest

from zen_core import ArtifactConfig, load_artifact, pipeline, register_artifact, save_artifact, step
from zen_core.client import Client
from zen_core.errors import (
    ArtifactNameError,
    ArtifactNotFoundError,
    ArtifactVersionExistsError,
    StoreError,
)


@step(enable_cache=False)
def numbered() -> Annotated[int, "counter"]:
    return 7


@pipeline(enable_cache=False)
def counting():
    numbered()


def test_versions_count_up_and_latest_is_newest():
    for _ in range(3):
        counting()
    client = Client()
    assert [v.version for v in client.list_artifact_versions(name="counter")] == ["1", "2", "3"]
    assert client.get_artifact_version("counter").version == "3"
    assert client.get_artifact_version("counter", 2).version == "2"
    assert client.get_artifact_version("counter", "1").load() == 7
    av = client.get_artifact_version("counter")
    assert client.get_artifact_version(av.id).id == av.id  # by id too


def test_identical_content_is_stored_once_but_versioned_separately():
    counting()
    counting()
    v1, v2 = Client().list_artifact_versions(name="counter")
    assert v1.id != v2.id and v1.uri == v2.uri and v1.content_hash == v2.content_hash


def test_pinned_version_taken_is_refused_before_running():
    calls = []

    @step(enable_cache=False)
    def pinned() -> Annotated[int, ArtifactConfig(name="pinned", version="1.0")]:
        calls.append(1)
        return 1

    @pipeline
    def p():
        pinned()

    p()
    with pytest.raises(ArtifactVersionExistsError, match=r"'pinned'.*'1.0'.*choose another"):
        p()
    assert len(calls) == 1


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "..", ".", "tab\there", ""])
def test_static_bad_names_are_refused_at_composition(bad):
    def named():
        return 1

    named.__annotations__ = {"return": Annotated[int, bad]}
    named = step(named)

    @pipeline
    def p():
        named()

    with pytest.raises(ArtifactNameError, match=re.escape(repr(bad)) + ".*may not"):
        p()
    assert Client().list_pipeline_runs() == []


def test_dynamic_names_are_checked_when_the_step_runs():
    @step
    def dynamic() -> Annotated[int, "{kind}_data"]:
        return 1

    @pipeline
    def p():
        dynamic.with_options(substitutions={"kind": "../evil"})()

    with pytest.raises(ArtifactNameError, match=r"'\.\./evil_data'"):
        p()


def test_placeholders_date_time_and_substitutions():
    @step
    def extract_data(source: str) -> Annotated[str, "{dataset_type}_data"]:
        return source

    @step
    def stamped() -> Annotated[int, "run_{date}_{time}"]:
        return 1

    @pipeline(substitutions={"dataset_type": "default"})
    def data_pipeline():
        extract_data.with_options(substitutions={"dataset_type": "train"})(source="train_source")
        extract_data.with_options(substitutions={"dataset_type": "test"})(source="test_source")
        stamped()

    before = dt.datetime.now(dt.UTC)
    run = data_pipeline()
    client = Client()
    assert client.get_artifact_version("train_data").load() == "train_source"
    assert client.get_artifact_version("test_data").load() == "test_source"
    assert set(run.steps["extract_data"].outputs) == {"train_data"}
    [name] = run.steps["stamped"].outputs
    match = re.fullmatch(r"run_(\d{4}_\d{2}_\d{2})_(\d{2}_\d{2}_\d{2}_\d{6})", name)
    assert match and match.group(1) == before.strftime("%Y_%m_%d")


def test_pipeline_substitutions_apply_and_step_keys_win():
    @step
    def named() -> Annotated[int, "{a}_{b}"]:
        return 1

    @pipeline(substitutions={"a": "pipe", "b": "pipe"})
    def p():
        named.with_options(substitutions={"b": "step"})()

    assert list(p().steps["named"].outputs) == ["pipe_step"]


def test_unknown_placeholder_names_it_and_the_known_ones():
    @step
    def named() -> Annotated[int, "{unknown}_x"]:
        return 1

    @pipeline(substitutions={"known": "k"})
    def p():
        named()

    with pytest.raises(ArtifactNameError, match=r"\{unknown\}.*date, known, time"):
        p()


def test_save_and_load_artifact_outside_pipelines():
    av = save_artifact({"a": (1, 2)}, "manual", tags=["t"])
    assert (av.version, av.tags, av.origin) == ("1", ["t"], "saved")
    save_artifact([1], "manual", version="special")
    assert load_artifact("manual") == [1]
    assert load_artifact("manual", 1) == {"a": (1, 2)}
    with pytest.raises(ArtifactVersionExistsError, match="special"):
        save_artifact([2], "manual", version="special")
    with pytest.raises(ArtifactNameError):
        save_artifact(1, "no/slash")


def test_missing_artifacts_give_helpful_errors():
    save_artifact(1, "present")
    with pytest.raises(ArtifactNotFoundError, match=r"no artifact named 'presnt'.*'present'"):
        Client().get_artifact_version("presnt")
    with pytest.raises(ArtifactNotFoundError, match=r"no version '9' \(versions: 1\)"):
        Client().get_artifact_version("present", 9)


def test_register_folder_and_file_inside_the_store():
    prefix = Client().active_stack.artifact_store.path
    folder = os.path.join(prefix, "my_folder")
    os.makedirs(os.path.join(folder, "sub"))
    Path(folder, "model.pkl").write_bytes(b"weights")
    Path(folder, "sub", "notes.txt").write_text("hi")

    register_artifact(folder_or_file_uri=folder, name="my_folder_artifact")
    folder_path = Client().get_artifact_version("my_folder_artifact").load()
    assert isinstance(folder_path, Path) and os.path.isdir(folder_path)
    assert (folder_path / "sub" / "notes.txt").read_text() == "hi"
    assert str(folder_path) != folder  # a temporary copy

    register_artifact(folder_or_file_uri=os.path.join(prefix, "my_folder/model.pkl"),
                      name="my_model_artifact")
    file_path = Client().get_artifact_version("my_model_artifact").load()
    assert isinstance(file_path, Path) and not os.path.isdir(file_path)
    assert file_path.read_bytes() == b"weights"


def test_register_outside_the_store_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    with pytest.raises(StoreError) as info:
        register_artifact(str(outside), name="nope")
    assert str(outside) in str(info.value)
    assert Client().active_stack.artifact_store.path in str(info.value)
    with pytest.raises(StoreError, match="does not exist"):
        register_artifact(os.path.join(Client().active_stack.artifact_store.path, "ghost"), "g")


def test_changed_registered_file_is_detected():
    from zen_core.errors import IntegrityError

    prefix = Client().active_stack.artifact_store.path
    os.makedirs(prefix, exist_ok=True)
    path = os.path.join(prefix, "data.bin")
    Path(path).write_bytes(b"original")
    register_artifact(path, "watched")
    Path(path).write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=r"'watched'.*data.bin"):
        Client().get_artifact_version("watched").load()


def test_cross_pipeline_artifact_and_loading_inside_steps_are_lineage():
    @step
    def train() -> Annotated[dict, "trained_model"]:
        return {"w": 2}

    @pipeline
    def training():
        train()

    @step
    def best() -> Annotated[dict, "best_model"]:
        return {"w": 1}

    @pipeline
    def baseline():
        best()

    @step
    def use_trained_model(data: list, model) -> list:
        return [x * model["w"] for x in data]

    @step
    def evaluate_against_previous(model: dict) -> float:
        previous = Client().get_artifact_version("best_model")
        return float(model["w"] - previous.data["w"])

    @step
    def load_data() -> list:
        return [1, 2]

    @pipeline
    def inference_pipeline():
        data = load_data()
        model = Client().get_artifact_version("trained_model")
        use_trained_model(data=data, model=model)
        evaluate_against_previous(model=model)

    training()
    baseline()
    run = inference_pipeline()
    assert run.steps["use_trained_model"].outputs["output"].load() == [2, 4]
    assert run.steps["evaluate_against_previous"].outputs["output"].load() == 1.0
    trained = Client().get_artifact_version("trained_model")
    assert run.steps["use_trained_model"].inputs["model"].id == trained.id
    consumers = {s.name for s in trained.consumers}
    assert consumers == {"use_trained_model", "evaluate_against_previous"}
    best_model = Client().get_artifact_version("best_model")
    assert [s.name for s in best_model.consumers] == ["evaluate_against_previous"]
    assert trained.producer.name == "train" and trained.run.pipeline_name == "training"


def test_a_storage_failure_is_reported_as_the_store_s_not_the_materializer_s(tmp_path):
    from zen_core.artifact_stores.local import LocalArtifactStore, LocalArtifactStoreConfig
    from zen_core.artifacts.data import save_data
    from zen_core.errors import MaterializerError, StoreError
    from zen_core.materializers.builtin import BuiltInMaterializer

    class FlakyDisk(LocalArtifactStore):
        def place(self, staging_uri, content_hash, files=None):
            raise OSError("I/O error on the device")

    store = FlakyDisk(LocalArtifactStoreConfig(str(tmp_path / "store")))
    with pytest.raises(StoreError) as info:
        save_data(store, BuiltInMaterializer, 42, allow_pickle=False, label="'answer'")
    assert not isinstance(info.value, MaterializerError)
    message = str(info.value)
    assert message.startswith(f"the artifact store {store.path!r} failed to publish artifact "
                              f"'answer' (saved by BuiltInMaterializer): OSError: ")
    assert "I/O error on the device" in message and "Fix:" in message
    assert store.list_files(store.zen_root + "/staging") == {}  # nothing half-written is left

    class Broken(BuiltInMaterializer):
        def save(self, data):
            raise ValueError("cannot encode")

    with pytest.raises(MaterializerError, match=r"^Broken failed to save artifact 'answer'"):
        save_data(LocalArtifactStore(LocalArtifactStoreConfig(str(tmp_path / "ok"))), Broken,
                  42, allow_pickle=False, label="'answer'")


def test_the_install_hint_for_a_missing_plugin_names_the_normalized_distribution():
    from zen_core.errors import MaterializerNotFoundError
    from zen_core.materializers.registry import import_object

    with pytest.raises(MaterializerNotFoundError, match=r"Fix: pip install zen-polars-rival\.$"):
        import_object("zen_polars_rival.PolarsMaterializer", what="materializer")
def test_registering_the_store_root_itself_says_so():
    prefix = Client().active_stack.artifact_store.path
    os.makedirs(prefix, exist_ok=True)
    with pytest.raises(StoreError, match=r"it is the artifact store's root itself.*Fix: register "
                                         r"a file or folder under it"):
        register_artifact(prefix, "everything")


@pytest.mark.parametrize("layout", ["linked_file", "link_inside_folder", "linked_folder_on_path"])
def test_links_out_of_the_store_are_refused(tmp_path, layout):
    prefix = Path(Client().active_stack.artifact_store.path)
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    (outside / "sub" / "more.txt").write_text("secret")
    (prefix / "mine").mkdir(parents=True)
    (prefix / "mine" / "ok.txt").write_text("fine")
    if layout == "linked_file":
        target = prefix / "mine" / "link.txt"
        target.symlink_to(outside / "secret.txt")
        link = target
    elif layout == "link_inside_folder":
        link = prefix / "mine" / "escape"
        link.symlink_to(outside)
        target = prefix / "mine"
    else:
        link = prefix / "door"
        link.symlink_to(outside)
        target = prefix / "door" / "sub"
    with pytest.raises(StoreError) as info:
        register_artifact(str(target), "leak")
    assert "is a link to a place outside the artifact store" in str(info.value)
    assert str(link if layout != "linked_folder_on_path" else target) in str(info.value)
    assert Client().list_artifact_versions() == []


def test_links_inside_the_store_are_fine():
    prefix = Path(Client().active_stack.artifact_store.path)
    (prefix / "data").mkdir(parents=True)
    (prefix / "data" / "a.txt").write_text("a")
    (prefix / "alias").symlink_to(prefix / "data")
    assert register_artifact(str(prefix / "alias"), "aliased").load().joinpath("a.txt").read_text() == "a"


@pytest.mark.parametrize("where", ["staging", "write"])
@pytest.mark.parametrize("code, says, fix", [
    (30, "is read-only", "mount it writable"),  # EROFS
    (13, "may not be written by this user", "give this user write access"),  # EACCES
    (28, "is full", "free space there"),  # ENOSPC
])
def test_an_unwritable_store_is_a_store_error_naming_artifact_and_store(monkeypatch, where, code,
                                                                        says, fix):
    """The OS refusing writes (a read-only mount, permissions, a full disk) names the artifact
    and the store, not the materializer; injected, because root ignores permission bits."""
    from zen_core.artifact_stores.local import LocalArtifactStore
    from zen_core.errors import MaterializerError

    store = Client().active_stack.artifact_store

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), os.path.join(store.path, ".zen", "staging", "x"))

    if where == "staging":
        monkeypatch.setattr(LocalArtifactStore, "new_staging_uri", refuse)
    else:
        real_open = LocalArtifactStore.open
        monkeypatch.setattr(LocalArtifactStore, "open", lambda self, uri, mode="rb", **kw: (
            refuse() if "w" in mode else real_open(self, uri, mode, **kw)))
    with pytest.raises(StoreError) as info:
        save_artifact({"a": 1}, "settings")
    assert not isinstance(info.value, MaterializerError)
    message = str(info.value)
    kind = type(OSError(code, "")).__name__  # PermissionError for EACCES
    assert message.startswith(f"cannot save artifact 'settings': the artifact store "
                              f"{store.path!r} {says} ({kind}: [Errno {code}] ")
    assert f"Fix: {fix}" in message and "nothing was recorded" in message
    assert Client().list_artifacts() == []


def test_a_denied_read_of_the_users_own_file_is_not_blamed_on_the_store(tmp_path, monkeypatch):
    from zen_core.errors import MaterializerError

    target = tmp_path / "elsewhere.txt"
    target.write_text("x")
    real_open = open

    def denied(path, *args, **kwargs):
        if str(path) == str(target):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(MaterializerError, match="Permission denied"):
        save_artifact(target, "my_file")
