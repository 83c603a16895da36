"""What is particular to GCS among errors: the service-account file.

(Missing buckets, unreachable endpoints, masked secrets and config errors are in the
object store contract.)
"""

from __future__ import annotations

import pytest

from zen_core import save_artifact
from zen_core.errors import StoreError
from zen_core.testing import ObjectStoreFixtures


class TestCredentials(ObjectStoreFixtures):
    def test_missing_service_account_file(self, make_stack, tmp_path):
        make_stack(token=str(tmp_path / "missing-sa.json"))
        with pytest.raises(StoreError, match=r"service-account file given as token does not "
                                             r"exist: '.*missing-sa.json'.*"
                                             r"GOOGLE_APPLICATION_CREDENTIALS"):
            save_artifact(b"data", name="blob")
