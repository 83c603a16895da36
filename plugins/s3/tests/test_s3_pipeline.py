"""The user guide's complete example on a stack whose artifact store is S3 (moto)."""

from zen_core.testing import ObjectStoreFixtures
from zen_core.testing.guide import GuideExampleContract


class TestGuideExampleOnS3(GuideExampleContract, ObjectStoreFixtures):
    pass
