"""A moto S3 server on 127.0.0.1 for the whole session, and stores/stacks on fresh prefixes."""

from __future__ import annotations

import logging
import uuid

import pytest

import zen_core.testing

BUCKET = "zen-test"
KEY, SECRET = "zen-test-key", "zen-test-secret-value"


@pytest.fixture(scope="session")
def s3_endpoint():
    """``http://127.0.0.1:<port>`` of a moto server with the bucket ``zen-test``."""
    try:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                     aws_secret_access_key=SECRET, region_name="us-east-1"
                     ).create_bucket(Bucket=BUCKET)
    except Exception as exc:
        zen_core.testing.service_unavailable(
            f"moto S3 server could not start: {type(exc).__name__}: {exc}")
    yield endpoint
    server.stop()


def s3_options(endpoint: str, prefix: str | None = None, **extra) -> dict:
    return {"path": f"s3://{BUCKET}/{prefix or uuid.uuid4().hex}", "endpoint_url": endpoint,
            "key": KEY, "secret": SECRET, "region": "us-east-1", **extra}


@pytest.fixture
def s3_store(s3_endpoint):
    from zen_s3 import S3ArtifactStore, S3ArtifactStoreConfig

    return S3ArtifactStore(S3ArtifactStoreConfig(**s3_options(s3_endpoint)))


def write_stack(zen_home, endpoint: str, **extra) -> str:
    """Make a S3 stack the active one in ``$ZEN_HOME/config.toml``; return its root URI."""
    opts = s3_options(endpoint, **extra)
    zen_core.testing.write_stack(
        zen_home, "cloud", artifact_store={"flavor": "s3", **opts},
        metadata_store={"flavor": "sqlite", "path": str(zen_home / "zen.db")})
    return opts["path"]


@pytest.fixture
def make_s3_stack(zen_home, s3_endpoint):
    """``make(**options)``: write an active S3 stack with these store options; returns
    the root URI."""
    return lambda **extra: write_stack(zen_home, extra.pop("endpoint_url", s3_endpoint), **extra)


@pytest.fixture
def s3_stack(make_s3_stack):
    """The active stack stores artifacts on S3 (metadata in SQLite); yields the root URI."""
    return make_s3_stack()
