"""The user guide's complete example on a stack whose artifact store is GCS (gcp-storage-emulator)."""

import pytest

from zen_core.testing.guide import GuideExampleContract


class TestGuideExampleOnGCS(GuideExampleContract):
    @pytest.fixture
    def stack_root(self, gcs_stack):
        assert gcs_stack.startswith("gs://")
        return gcs_stack
