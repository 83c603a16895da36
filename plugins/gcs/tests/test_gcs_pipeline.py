"""The user guide's complete example on a stack whose artifact store is GCS (gcp-storage-emulator)."""

from zen_core.testing import ObjectStoreFixtures
from zen_core.testing.guide import GuideExampleContract


class TestGuideExampleOnGCS(GuideExampleContract, ObjectStoreFixtures):
    pass
