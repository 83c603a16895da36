"""The dask orchestrator passes the orchestrator contract on the session's cluster."""

import pytest

from zen_core.testing import OrchestratorContract


class TestDaskOrchestrator(OrchestratorContract):
    finishes_independent_steps = True  # steps not depending on a failure still run

    @pytest.fixture
    def orchestrator_stack(self, dask_stack):
        dask_stack()
