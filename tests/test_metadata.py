"""Run metadata and tags: log_metadata, log_artifact_metadata, ArtifactConfig, save_artifact,
add_tags/remove_tags, list filters, and where a step's writes go."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Annotated

import pytest

from zen_core import (
    ArtifactConfig,
    add_tags,
    log_artifact_metadata,
    log_metadata,
    pipeline,
    remove_tags,
    save_artifact,
    step,
)
from zen_core.client import Client
from zen_core.errors import ArtifactNotFoundError, MetadataError, RunNotFoundError
from zen_core.metadata import DType, Path, StorageSize, Uri

# -- inside a step --------------------------------------------------------------------------


@step
def trainer() -> Annotated[dict, "model"]:
    log_metadata({"epochs": 3, "source": Uri("s3://bucket/train.csv")})  # the step run
    log_metadata({"accuracy": 0.93}, infer_artifact=True)  # the only output
    add_tags(["experiment"])  # the run
    add_tags("candidate", infer_artifact=True)
    return {"weights": [1, 2]}


@step
def two_outputs() -> tuple[Annotated[int, "left"], Annotated[int, "right"]]:
    log_metadata({"side": "right"}, artifact_name="right", infer_artifact=True)
    log_artifact_metadata({"side": "left"}, artifact_name="left")
    return 1, 2


@pipeline
def training():
    trainer()
    two_outputs()


def test_a_step_logs_for_its_step_run_its_outputs_and_its_run():
    run = training()
    step_run = run.steps["trainer"]
    assert step_run.run_metadata == {"epochs": 3, "source": "s3://bucket/train.csv"}
    assert type(step_run.run_metadata["source"]) is Uri
    model = step_run.outputs["model"]
    # the materializer's metadata, storage_size, then what was logged
    assert model.run_metadata == {"length": 1, "storage_size": model.size, "accuracy": 0.93}
    assert type(model.run_metadata["storage_size"]) is StorageSize
    assert model.metadata == {"length": 1}  # .metadata stays the materializer's
    assert model.tags == ["candidate"]
    assert run.tags == ["experiment"]
    outputs = run.steps["two_outputs"].outputs
    assert outputs["left"].run_metadata["side"] == "left"
    assert outputs["right"].run_metadata["side"] == "right"
    # read again from the store, by another Client
    again = Client().get_pipeline_run(run.id)
    assert again.tags == ["experiment"]
    assert again.steps["trainer"].outputs["model"].run_metadata["accuracy"] == 0.93


def test_metadata_never_changes_a_content_hash_or_a_cache_key():
    logged = iter([0.1, 0.2])

    @step(enable_cache=False)
    def measured() -> int:
        log_metadata({"noise": next(logged)}, infer_artifact=True)
        return 5

    @pipeline
    def measuring():
        measured()

    first, second = (measuring().steps["measured"] for _ in range(2))
    a, b = first.outputs["output"], second.outputs["output"]
    assert (a.run_metadata["noise"], b.run_metadata["noise"]) == (0.1, 0.2)
    assert a.content_hash == b.content_hash and a.uri == b.uri
    assert first.cache_key == second.cache_key


def test_a_step_that_fails_records_none_of_its_metadata():
    @step
    def breaks() -> int:
        log_metadata({"before": 1})
        add_tags(["doomed"])
        raise RuntimeError("boom")

    @pipeline
    def failing():
        breaks()

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    run = Client().list_pipeline_runs(pipeline_name="failing")[0]
    assert run.status == "failed"
    assert run.tags == [] and run.steps["breaks"].run_metadata == {}


def test_a_step_logging_for_an_unknown_target_fails_naming_step_and_target():
    @step
    def misdirected() -> int:
        log_metadata({"k": 1}, artifact_name="no_such_artifact", artifact_version="3")
        return 1

    @pipeline
    def misdirecting():
        misdirected()

    with pytest.raises(MetadataError, match=r"step 'misdirected' logged metadata for artifact "
                                            r"'no_such_artifact' version '3'.*no artifact named"):
        misdirecting()
    run = Client().list_pipeline_runs(pipeline_name="misdirecting")[0]
    assert run.steps["misdirected"].status == "failed"
    assert Client().list_artifact_versions("misdirecting::misdirected::output") == []


def test_infer_artifact_needs_one_output_or_its_name():
    @step
    def pair() -> tuple[Annotated[int, "a"], Annotated[int, "b"]]:
        log_metadata({"k": 1}, infer_artifact=True)
        return 1, 2

    @step
    def nothing() -> None:
        add_tags(["t"], infer_artifact=True)

    @step
    def wrong_name() -> int:
        log_metadata({"k": 1}, artifact_name="b", infer_artifact=True)
        return 1

    for body, message in ((pair, r"in step 'pair': the step has 2 outputs \('a', 'b'\).*"
                                 r"Fix: pass artifact_name="),
                          (nothing, r"in step 'nothing': the step has no outputs to attach "
                                    r"to\. Fix: annotate its return type"),
                          (wrong_name, r"has no output 'b'; its outputs are 'output'")):
        @pipeline(name=f"infer_{body.name}")
        def p(body=body):
            body()

        with pytest.raises(Exception, match=message):
            p()


# -- outside a step -------------------------------------------------------------------------


def test_after_the_run_metadata_goes_to_runs_steps_and_versions_by_name_or_id():
    run = training()
    log_metadata({"reviewed": True}, run_id_name_or_prefix=run.name)
    log_metadata({"owner": "ml"}, run_id_name_or_prefix=run.id[:24])  # a unique id prefix
    log_metadata({"note": "slow"}, step_name="trainer", run_id_name_or_prefix=run.id)
    step_run = run.steps["trainer"]
    log_metadata({"gpu": "a100"}, step_id=uuid.UUID(step_run.id))  # a UUID works too
    model = step_run.outputs["model"]
    log_metadata({"size": StorageSize(10)}, artifact_name="model", artifact_version=1)
    log_metadata({"path": Path("/m")}, artifact_version_id=str(uuid.UUID(model.id)))
    log_artifact_metadata({"dtype": DType("float32")}, artifact_name="model")  # latest

    fresh = Client().get_pipeline_run(run.id)
    assert fresh.run_metadata == {"reviewed": True, "owner": "ml"}
    assert fresh.steps["trainer"].run_metadata == {
        "epochs": 3, "source": "s3://bucket/train.csv", "note": "slow", "gpu": "a100"}
    logged = Client().get_artifact_version("model", "1").run_metadata
    assert {k: logged[k] for k in ("accuracy", "size", "path", "dtype")} == {
        "accuracy": 0.93, "size": 10, "path": "/m", "dtype": "float32"}
    assert type(logged["dtype"]) is DType and type(logged["path"]) is Path


def test_metadata_logged_by_another_process_is_visible(zen_home):
    save_artifact(1, "shared")
    code = ("from zen_core import log_metadata\n"
            "log_metadata({'by': 'other process'}, artifact_name='shared', artifact_version='1')")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
    assert Client().get_artifact_version("shared").run_metadata["by"] == "other process"


def test_outside_a_step_a_target_is_required():
    with pytest.raises(MetadataError, match=r"log_metadata\(\) without a target was called "
                                            r"outside a running step.*Fix: call it inside"):
        log_metadata({"k": 1})
    with pytest.raises(MetadataError, match=r"infer_artifact=True.*outside a running step"):
        log_metadata({"k": 1}, infer_artifact=True)
    with pytest.raises(MetadataError, match=r"incomplete target: step_name needs "
                                            r"run_id_name_or_prefix"):
        log_metadata({"k": 1}, step_name="trainer")
    with pytest.raises(MetadataError, match=r"add_tags\(\) without a target.*outside"):
        add_tags(["t"])
    with pytest.raises(MetadataError, match=r"log_artifact_metadata\(\) needs artifact_name"):
        log_artifact_metadata({"k": 1})


def test_unknown_targets_and_bad_values_are_refused_and_nothing_is_recorded():
    av = save_artifact(1, "known")
    with pytest.raises(ArtifactNotFoundError, match="'unknown'"):
        log_metadata({"k": 1}, artifact_name="unknown", artifact_version="1")
    with pytest.raises(RunNotFoundError, match="'no-such-run'"):
        add_tags(["t"], run="no-such-run")
    with pytest.raises(MetadataError, match=r"no artifact version ff+ in the metadata store"):
        log_metadata({"k": 1}, artifact_version_id="f" * 32)
    with pytest.raises(MetadataError, match=r"no pipeline 'nope': no run of it"):
        add_tags(["t"], pipeline="nope")
    with pytest.raises(MetadataError, match=r"metadata 'model' = <object object at .*> is a "
                                            r"builtins.object.*store objects as artifacts"):
        log_metadata({"fine": 1, "model": object()}, artifact_version_id=av.id)
    with pytest.raises(MetadataError, match=r"metadata key 3 is not a non-empty string"):
        log_metadata({3: 1}, artifact_version_id=av.id)
    with pytest.raises(MetadataError, match=r"tag '' cannot be used"):
        add_tags(["ok", ""], artifact_version_id=av.id)
    with pytest.raises(MetadataError, match=r"exactly one target, got run=, "
                                            r"artifact_version_id="):
        add_tags(["t"], run="x", artifact_version_id=av.id)
    fresh = Client().get_artifact_version("known")
    assert fresh.run_metadata == {"value": 1, "storage_size": fresh.size} and fresh.tags == []


def test_numbers_of_other_libraries_are_stored_as_numbers():
    np = pytest.importorskip("numpy")
    av = save_artifact(1, "numbers", user_metadata={"f": np.float64(0.5), "i": np.int64(3),
                                                    "b": np.bool_(True)})
    logged = Client().get_artifact_version("numbers").run_metadata
    assert (logged["f"], logged["i"], logged["b"]) == (0.5, 3, True)
    assert (type(logged["f"]), type(logged["i"]), type(logged["b"])) == (float, int, bool)
    assert av.run_metadata["f"] == 0.5


# -- ArtifactConfig and save_artifact -------------------------------------------------------------


def test_artifact_config_records_metadata_tags_and_type():
    @step
    def make() -> tuple[
            Annotated[dict, ArtifactConfig(name="clf", tags=["prod"],
                                           run_metadata={"framework": "none"},
                                           artifact_type="model")],
            Annotated[int, ArtifactConfig(name="deployed", is_deployment_artifact=True)]]:
        log_metadata({"framework": "logged"}, artifact_name="clf", infer_artifact=True)
        return {"w": 1}, 2

    @pipeline
    def configured():
        make()

    outputs = configured().steps["make"].outputs
    clf = outputs["clf"]
    # ArtifactConfig's metadata wins a clash with what the step logged, as in ZenML
    assert (clf.artifact_type, clf.tags, clf.run_metadata["framework"]) == (
        "model", ["prod"], "none")
    assert outputs["deployed"].artifact_type == "service"
    assert ArtifactConfig(is_model_artifact=True).artifact_type == "model"


def test_artifact_config_refuses_bad_types_and_values():
    with pytest.raises(MetadataError, match=r"ArtifactConfig\(artifact_type='weights'\) is not "
                                            r"an artifact type.*'data', 'data_analysis', 'model'"):
        ArtifactConfig(artifact_type="weights")
    with pytest.raises(MetadataError, match="a model or a deployment, not both"):
        ArtifactConfig(is_model_artifact=True, is_deployment_artifact=True)
    with pytest.raises(MetadataError, match=r"ArtifactConfig\(run_metadata=\): metadata 'f'"):
        ArtifactConfig(run_metadata={"f": lambda: 1})


def test_save_artifact_takes_user_metadata_tags_and_artifact_type():
    av = save_artifact({"w": 1}, "saved_model", tags=["prod"], artifact_type="model",
                       user_metadata={"source": Uri("https://example.com")})
    fresh = Client().get_artifact_version("saved_model")
    assert (fresh.artifact_type, fresh.tags) == ("model", ["prod"])
    assert fresh.run_metadata["source"] == "https://example.com"
    assert av.run_metadata == fresh.run_metadata
    with pytest.raises(MetadataError, match=r"save_artifact\(artifact_type='nope'\)"):
        save_artifact(1, "refused", artifact_type="nope")
    with pytest.raises(MetadataError, match=r"save_artifact\(user_metadata=\): metadata 'x'"):
        save_artifact(1, "refused", user_metadata={"x": [1, object()]})
    with pytest.raises(ArtifactNotFoundError):
        Client().get_artifact_version("refused")  # nothing stored


# -- tags -----------------------------------------------------------------------------------------


def test_tags_on_versions_and_runs_and_the_list_filters():
    first = training()
    second = training()  # all cached: its steps ran no code, so tagged nothing
    assert (first.tags, second.tags) == (["experiment"], [])
    add_tags(["best", "reviewed"], artifact_name="model", artifact_version="1")
    add_tags("reviewed", run=second.name)
    add_tags(["experiment"], run=second.id[:24])  # a unique id prefix
    remove_tags(["experiment"], run=first.id)
    add_tags(["team-a"], pipeline="training")
    client = Client()
    assert client.get_artifact_version("model", "1").tags == ["candidate", "best", "reviewed"]
    assert client.get_pipeline_run(first.id).tags == []
    assert client.get_pipeline_run(second.id).tags == ["reviewed", "experiment"]
    assert [r.id for r in client.list_pipeline_runs(tags="reviewed")] == [second.id]
    assert [r.id for r in client.list_pipeline_runs(tags=["experiment", "reviewed"])] == [
        second.id]
    assert [(v.name, v.version) for v in client.list_artifact_versions(tags=["best"])] == [
        ("model", "1")]
    assert [v.version for v in client.list_artifact_versions("model", tags="candidate")] == ["1"]
    assert client.list_artifact_versions(tags=["best", "nope"]) == []
    store = client.active_stack.metadata_store
    assert store.get_tags("pipeline", ["training"]) == {"training": ["team-a"]}


# -- storage --------------------------------------------------------------------------------------


def test_the_schema_upgrade_moves_existing_artifact_tags_into_the_tags_table(tmp_path):
    import sqlite3

    from zen_core.metadata_stores.sql import MIGRATIONS
    from zen_core.metadata_stores.sqlite import SQLiteMetadataStore, SQLiteMetadataStoreConfig

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE zen_schema (version INTEGER NOT NULL)")
    for statement in (s for version in MIGRATIONS[:2] for s in version):
        conn.execute(statement.format(seq_pk="INTEGER PRIMARY KEY", float="REAL"))
    conn.execute("INSERT INTO zen_schema VALUES (2)")
    conn.execute(
        "INSERT INTO artifact_versions (id, name, version, uri, type, artifact_type, "
        "materializer, materializer_version, content_hash, size, files, created, tags, "
        "metadata, visualizations, origin) VALUES ('a1', 'old', '1', 'u', 't', 'data', 'm', "
        "'1', 'h', 0, '{}', 0, '[\"prod\",\"v1\"]', '{}', '{}', 'saved')")
    conn.commit()
    conn.close()
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(path)))
    try:
        assert store.get_tags("artifact_version", ["a1"]) == {"a1": ["prod", "v1"]}
        assert [v.id for v in store.list_artifact_versions(tags=["v1"])] == ["a1"]
    finally:
        store.close()


def test_artifact_types_as_zenml_code_imports_them():
    from zen_core.enums import ArtifactType

    assert ArtifactConfig(artifact_type=ArtifactType.MODEL).artifact_type == "model"
