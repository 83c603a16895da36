"""The object store contract (the artifact store contract included) on a GCS emulator.

The emulator accepts any credentials and grants every permission, so "wrong credentials"
and "permission denied" cannot be produced here; their messages are built by the same code
as the S3 store's, which tests them against an IAM-checking server.
"""

from __future__ import annotations

from zen_core.testing import ObjectStoreContract

MiB = 2**20


class TestGCSArtifactStore(ObjectStoreContract):
    aliases = ("gcs",)
    small_block_size = MiB  # several resumable-upload chunks for a few MiB
    secrets = {"token": "ya29.raw-oauth-access-token"}
    config_errors = [
        ({"path": "s3://bucket/zen"}, "is a s3:// URL, which flavor 'gcs' cannot use (it takes "
                                      "gs:// URLs or gcs:// URLs). Fix: use flavor = \"s3\""),
        ({"path": "bucket/zen"}, "is not a GCS URI. Fix: write gs://BUCKET"),
        ({"block_size": 1000}, "block_size = 1000 must be a positive multiple of 256 KiB"),
        ({"connect_timeout": -1}, "connect_timeout = -1.0 must be greater than 0"),
        ({"secret": "x"}, "unknown key(s) 'secret'"),
        ({"spool_limit": -1}, "spool_limit = -1 must be a number of bytes, 0 or more"),
        ({"spool_dir": "/no/such/folder"}, "spool_dir = '/no/such/folder' is not an existing "
                                           "folder. Fix: create it"),
    ]
