"""Contract tests every component runs: the built-ins here, and each plugin in its own tests.

Subclass a contract in a test module and provide its fixtures::

    from zen_core.testing import MaterializerContract

    class TestDataFrame(MaterializerContract):
        materializer = DataFrameMaterializer

        @pytest.fixture
        def value(self):
            return pd.DataFrame({"a": [1, 2]})

        def assert_same(self, loaded, value):
            pd.testing.assert_frame_equal(loaded, value)

Like fsspec's ``tests/abstract``, the contracts pin down behaviour users rely
on (round trips, integrity checks, confinement to ``self.uri``, gap-free
versions) so a new plugin proves it in a few lines. One module per kind of
component; the user guide's whole example, which needs pandas, numpy and
scikit-learn, is :mod:`zen_core.testing.guide` and is not imported here.
"""

from zen_core.testing.artifact_stores import ArtifactStoreContract, MemoryArtifactStore
from zen_core.testing.concurrency import check_concurrent_pipelines, run_concurrent_pipelines
from zen_core.testing.isolation import isolate_zen_home, write_stack
from zen_core.testing.materializers import MaterializerContract, local_store
from zen_core.testing.metadata_stores import MetadataStoreContract, stored_data
from zen_core.testing.object_stores import (
    ObjectStoreContract,
    ObjectStoreFixtures,
    write_store_stack,
)
from zen_core.testing.orchestrators import OrchestratorContract
from zen_core.testing.services import free_port, modules_imported_at_startup, service_unavailable

__all__ = [
    "ArtifactStoreContract",
    "MaterializerContract",
    "MemoryArtifactStore",
    "MetadataStoreContract",
    "ObjectStoreContract",
    "ObjectStoreFixtures",
    "OrchestratorContract",
    "check_concurrent_pipelines",
    "free_port",
    "isolate_zen_home",
    "local_store",
    "modules_imported_at_startup",
    "run_concurrent_pipelines",
    "service_unavailable",
    "stored_data",
    "write_stack",
    "write_store_stack",
]
