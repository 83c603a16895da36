"""A moto S3 server on 127.0.0.1 for the whole session, and store tables on fresh prefixes."""

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


@pytest.fixture
def store_options(s3_endpoint):
    """``options(**overrides)``: an S3 store's config table on a fresh prefix of the bucket
    (what zen_core.testing's ObjectStoreContract and ObjectStoreFixtures build on)."""
    return lambda **overrides: {
        "flavor": "s3", "path": f"s3://{BUCKET}/{uuid.uuid4().hex}", "endpoint_url": s3_endpoint,
        "key": KEY, "secret": SECRET, "region": "us-east-1", **overrides}
