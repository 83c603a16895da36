"""Credentials and permissions, against a moto server that checks them (IAM).

(Missing buckets, unreachable endpoints, masked secrets and config errors are in the
object store contract.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from zen_core import pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import StoreError
from zen_core.testing import ObjectStoreFixtures, free_port, service_unavailable


@step(enable_cache=False)
def make_number() -> int:
    return 42


@pipeline(enable_cache=False)
def one_step():
    make_number()


def _nothing_recorded() -> None:
    assert Client().list_artifact_versions() == []


# -- a moto server that checks credentials (IAM), in its own process ------------------------


@pytest.fixture(scope="session")
def locked_s3():
    """A moto server enforcing IAM; bucket ``locked``; a user allowed only to read and list."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}  # the 4 setup calls below
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    service_unavailable(f"moto server with IAM checks did not start: {exc}")
                time.sleep(0.2)
        import boto3

        admin = dict(endpoint_url=endpoint, aws_access_key_id="admin",
                     aws_secret_access_key="admin", region_name="us-east-1")
        boto3.client("s3", **admin).create_bucket(Bucket="locked")
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                # Read and list, stated per resource. AWS checks s3:ListBucket on the bucket
                # for a listing and s3:GetObject on the object for GET and HEAD; moto 5.2.6
                # checks actions named after the API call (s3:ListObjectsV2, s3:HeadObject),
                # so the reader is granted both spellings, and still nothing that writes.
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListObjectsV2"],
                 "Resource": "arn:aws:s3:::locked"},
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:HeadObject"],
                 "Resource": "arn:aws:s3:::locked/*"},
            ]}))
        yield endpoint, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class TestCredentials(ObjectStoreFixtures):
    """Stacks on the IAM-checking server (fixture ``locked_s3``)."""

    def test_wrong_credentials(self, make_stack, locked_s3):
        endpoint, key, _ = locked_s3
        make_stack(endpoint_url=endpoint, path="s3://locked/zen", key=key,
                   secret="definitely-wrong-secret")
        with pytest.raises(StoreError) as info:
            save_artifact(b"data", name="blob")
        msg = str(info.value)
        assert info.value.reason == "credentials"
        assert "S3 artifact store 's3://locked/zen'" in msg and "SignatureDoesNotMatch" not in msg \
            or "signature" in msg.lower()
        assert "the credentials were rejected" in msg and "AWS_ACCESS_KEY_ID" in msg
        assert "definitely-wrong-secret" not in msg
        _nothing_recorded()

    def test_unknown_access_key(self, make_stack, locked_s3):
        endpoint, _, _ = locked_s3
        make_stack(endpoint_url=endpoint, path="s3://locked/zen", key="AKIANOTAKEY",
                   secret="whatever-secret")
        with pytest.raises(StoreError, match=r"Access Key Id you provided does not exist.*"
                                             r"the credentials were rejected") as info:
            save_artifact(b"data", name="blob")
        assert "whatever-secret" not in str(info.value)

    def test_permission_denied_on_write(self, make_stack, locked_s3):
        endpoint, key, secret = locked_s3
        make_stack(endpoint_url=endpoint, path="s3://locked/zen", key=key, secret=secret)
        with pytest.raises(StoreError) as info:
            one_step()
        msg = str(info.value)
        assert info.value.reason == "denied"
        assert "S3 artifact store 's3://locked/zen'" in msg and "could not write" in msg
        assert "s3://locked/zen/.zen/objects/" in msg and "Access Denied" in msg  # its upload
        assert "may not write under 's3://locked/zen'" in msg
        assert secret not in msg
        _nothing_recorded()
        # reading is allowed: the store still lists (nothing)
        assert Client().active_stack.artifact_store.list_files("s3://locked/zen") == {}
