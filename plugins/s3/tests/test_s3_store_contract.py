"""The object store contract (the artifact store contract included) on a moto S3 server."""

from __future__ import annotations

from zen_core.testing import ObjectStoreContract

MiB = 2**20


class TestS3ArtifactStore(ObjectStoreContract):
    aliases = ("s3a",)
    small_block_size = 5 * MiB  # S3's smallest part
    secrets = {"key": "zen-test-key", "secret": "zen-test-secret-value"}  # conftest's
    lists_incomplete_uploads = True  # a killed writer's multipart upload: prune aborts it
    config_errors = [
        ({"path": "my-bucket/zen"}, "my-bucket/zen' is not an S3 URI"),
        ({"path": "gs://bucket/zen"}, "is a gs:// URL, which flavor 's3' cannot use (it takes "
                                      "s3:// URLs or s3a:// URLs). Fix: use flavor = \"gcs\""),
        ({"block_size": 1024}, "block_size = 1024 is below S3's minimum"),
        ({"retries": 0}, "retries = 0 must be greater than 0"),
        ({"colour": "blue"}, "unknown key(s) 'colour'"),
        ({"spool_limit": -1}, "spool_limit = -1 must be a number of bytes, 0 or more"),
        ({"spool_dir": "/no/such/folder"}, "spool_dir = '/no/such/folder' is not an existing "
                                           "folder. Fix: create it"),
    ]
