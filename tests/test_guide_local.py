"""The guide's complete example on the default local stack (where pandas, numpy, sklearn exist)."""

import pytest

pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from zen_core.client import Client  # noqa: E402
from zen_core.testing.guide import GuideExampleContract  # noqa: E402


class TestGuideExampleOnLocalStore(GuideExampleContract):
    @pytest.fixture
    def stack_root(self):
        return Client().active_stack.artifact_store.path
