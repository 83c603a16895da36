"""Failures name the store, the URI and the cause, record nothing, and never print secrets.

The emulator accepts any credentials and grants every permission, so "wrong credentials"
and "permission denied" cannot be produced here; their messages are built by the same code
as the S3 store's, which tests them against an IAM-checking server.
"""

from __future__ import annotations

import json

import pytest

from zen_core import pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import ConfigError, StoreError
from zen_core.testing import free_port


@step(enable_cache=False)
def make_number() -> int:
    return 42


@pipeline(enable_cache=False)
def one_step():
    make_number()


def test_missing_bucket(make_gcs_stack):
    make_gcs_stack(path="gs://no-such-bucket/zen")
    with pytest.raises(StoreError) as info:
        save_artifact(b"data", name="blob")
    msg = str(info.value)
    assert "GCS artifact store 'gs://no-such-bucket/zen'" in msg
    assert "gs://no-such-bucket/zen/.zen/staging/" in msg
    assert "bucket 'no-such-bucket' does not exist" in msg and "Fix:" in msg
    assert Client().list_artifact_versions() == []


def test_missing_bucket_fails_the_run(make_gcs_stack):
    make_gcs_stack(path="gs://no-such-bucket/zen")
    with pytest.raises(StoreError, match=r"no-such-bucket.*does not exist"):
        one_step()
    [run] = Client().list_pipeline_runs()
    assert run.status == "failed"
    assert Client().list_artifact_versions() == []


def test_unreachable_endpoint_fails_fast_with_a_clear_error(make_gcs_stack):
    make_gcs_stack(endpoint_url=f"http://127.0.0.1:{free_port()}", retries=1,
                   connect_timeout=1.0)
    with pytest.raises(StoreError) as info:
        save_artifact(b"data", name="blob")
    msg = str(info.value)
    assert info.value.reason == "unreachable"
    assert "GCS artifact store 'gs://zen-test/" in msg and "could not write" in msg
    assert "http://127.0.0.1:" in msg and "retries = 1" in msg


def test_missing_service_account_file(make_gcs_stack, tmp_path):
    make_gcs_stack(token=str(tmp_path / "missing-sa.json"))
    with pytest.raises(StoreError, match=r"service-account file given as token does not exist: "
                                         r"'.*missing-sa.json'.*GOOGLE_APPLICATION_CREDENTIALS"):
        save_artifact(b"data", name="blob")


def test_describe_masks_the_token(make_gcs_stack):
    root = make_gcs_stack(token="ya29.raw-oauth-access-token")
    described = Client().active_stack.describe()["artifact_store"]
    assert described["flavor"] == "gcs" and described["path"] == root
    assert described["token"] == "***"
    assert "raw-oauth" not in json.dumps(described)


@pytest.mark.parametrize("options, fragment", [
    ({"path": "s3://bucket/zen"}, "is not a GCS URI. Fix: write gs://BUCKET"),
    ({"block_size": 1000}, "block_size = 1000 must be a positive multiple of 256 KiB"),
    ({"connect_timeout": -1}, "connect_timeout = -1.0 must be greater than 0"),
    ({"secret": "x"}, "unknown key(s) 'secret'"),
])
def test_config_errors_name_file_key_and_value(make_gcs_stack, zen_home, options, fragment):
    make_gcs_stack(**options)
    with pytest.raises(ConfigError) as info:
        Client().active_stack  # noqa: B018
    msg = str(info.value)
    assert fragment in msg
    assert str(zen_home / "config.toml") in msg and "stacks.cloud.artifact_store" in msg
