"""The user guide's complete example on a stack whose artifact store is S3 (moto)."""

import pytest

from zen_core.testing.guide import GuideExampleContract


class TestGuideExampleOnS3(GuideExampleContract):
    @pytest.fixture
    def stack_root(self, s3_stack):
        assert s3_stack.startswith("s3://")
        return s3_stack
