"""A gcp-storage-emulator on 127.0.0.1 for the whole session, and store tables on fresh
prefixes."""

from __future__ import annotations

import logging
import uuid

import pytest

import zen_core.testing

BUCKET = "zen-test"


@pytest.fixture(scope="session")
def gcs_endpoint():
    """``http://127.0.0.1:<port>`` of an in-memory GCS emulator with the bucket ``zen-test``."""
    try:
        from gcp_storage_emulator.server import create_server

        logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
        port = zen_core.testing.free_port()
        server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
        server.start()
    except Exception as exc:
        zen_core.testing.service_unavailable(
            f"GCS emulator could not start: {type(exc).__name__}: {exc}")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def store_options(gcs_endpoint):
    """``options(**overrides)``: a GCS store's config table on a fresh prefix of the bucket
    (what zen_core.testing's ObjectStoreContract and ObjectStoreFixtures build on)."""
    return lambda **overrides: {
        "flavor": "gcs", "path": f"gs://{BUCKET}/{uuid.uuid4().hex}",
        "endpoint_url": gcs_endpoint, "token": "anon", "project": "zen-test", "retries": 2,
        **overrides}
