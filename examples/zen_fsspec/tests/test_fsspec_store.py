"""zen-fsspec passes the artifact store contract on memory:// and on a real FTP server."""

import uuid

import pytest
from zen_fsspec import FsspecArtifactStore, FsspecArtifactStoreConfig

from zen_core.testing import ArtifactStoreContract


class TestInMemory(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self):
        return FsspecArtifactStore(FsspecArtifactStoreConfig(f"memory://zen-{uuid.uuid4().hex}"))


class TestOnFTP(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, ftp_table):
        return FsspecArtifactStore(FsspecArtifactStoreConfig(**ftp_table))


def test_a_pipeline_runs_on_an_ftp_stack(ftp_table, zen_home):
    from zen_core import pipeline, step
    from zen_core.testing import write_stack

    @step
    def numbers() -> list:
        return [1, 2, 3]

    @step
    def total(values: list) -> int:
        return sum(values)

    @pipeline
    def summed():
        total(numbers())

    write_stack(zen_home, "ftp", artifact_store={"flavor": "fsspec", **ftp_table})
    run = summed()
    output = run.steps["total"].outputs["output"]
    assert output.uri.startswith(ftp_table["path"] + "/.zen/objects/")
    assert output.load() == 6
    assert {s.status for s in summed().steps.values()} == {"cached"}


def test_entry_point_is_listed():
    from zen_core.plugins import list_plugins

    infos = {i.name: i for i in list_plugins()}
    assert "fsspec" in infos, "pip install -e examples/zen_fsspec to register the entry point"
    assert infos["fsspec"].provides == {"artifact_stores": ["fsspec"]}
