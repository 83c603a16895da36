"""A gcp-storage-emulator on 127.0.0.1 for the whole session, and stores/stacks on fresh prefixes."""

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


def gcs_options(endpoint: str, prefix: str | None = None, **extra) -> dict:
    return {"path": f"gs://{BUCKET}/{prefix or uuid.uuid4().hex}", "endpoint_url": endpoint,
            "token": "anon", "project": "zen-test", "retries": 2, **extra}


@pytest.fixture
def gcs_store(gcs_endpoint):
    from zen_gcs import GCSArtifactStore, GCSArtifactStoreConfig

    return GCSArtifactStore(GCSArtifactStoreConfig(**gcs_options(gcs_endpoint)))


def write_stack(zen_home, endpoint: str, **extra) -> str:
    """Make a GCS stack the active one in ``$ZEN_HOME/config.toml``; return its root URI."""
    opts = gcs_options(endpoint, **extra)
    zen_core.testing.write_stack(
        zen_home, "cloud", artifact_store={"flavor": "gcs", **opts},
        metadata_store={"flavor": "sqlite", "path": str(zen_home / "zen.db")})
    return opts["path"]


@pytest.fixture
def make_gcs_stack(zen_home, gcs_endpoint):
    """``make(**options)``: write an active GCS stack with these store options; returns
    the root URI."""
    return lambda **extra: write_stack(zen_home, extra.pop("endpoint_url", gcs_endpoint), **extra)


@pytest.fixture
def gcs_stack(make_gcs_stack):
    """The active stack stores artifacts on GCS (metadata in SQLite); yields the root URI."""
    return make_gcs_stack()
