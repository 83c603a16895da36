"""zen-s3: an artifact store on Amazon S3 or any S3-compatible service (MinIO, Ceph, R2 ...).

All I/O goes through s3fs, imported only when the store is first used, so loading the
plugin stays cheap. Large writes stream as multipart uploads with several parts in
flight; large reads fill the caller's buffer from parallel ranged GETs; publishing a
finished artifact is a server-side copy (no second upload).
"""

from __future__ import annotations

import concurrent.futures
import io
from collections import deque
from collections.abc import Iterator
from typing import Any

import attrs

from zen_core.artifact_stores import (
    SPOOL_LIMIT,
    IncompleteUpload,
    MiB,
    ObjectStoreArtifactStore,
    call_quietly,
    check_spool_dir,
    check_spool_limit,
    check_uri,
    positive,
)
from zen_core.config import secret as secret_field
from zen_core.plugins import hookimpl

__all__ = ["S3ArtifactStore", "S3ArtifactStoreConfig"]

_PROTOCOLS = ("s3", "s3a")


def _check_block_size(instance: Any, attribute: Any, value: int) -> None:
    if value < 5 * MiB:
        raise ValueError(f"block_size = {value!r} is below S3's minimum multipart part size "
                         f"of 5 MiB ({5 * MiB}). Fix: use at least {5 * MiB}")


@attrs.frozen
class S3ArtifactStoreConfig:
    """``[stacks.<name>.artifact_store]`` with ``flavor = "s3"``.

    Credentials: ``key``/``secret``/``token`` here, else ``profile``, else the standard
    AWS chain (environment, ``~/.aws``, instance or container role). ``anon = true``
    sends unsigned requests.
    """

    path: str = attrs.field(validator=check_uri(_PROTOCOLS, "an S3", "s3"))
    endpoint_url: str | None = None
    region: str | None = None
    key: str | None = secret_field(default=None)
    secret: str | None = secret_field(default=None)
    token: str | None = secret_field(default=None)
    profile: str | None = None
    anon: bool = False
    client_kwargs: dict[str, Any] = attrs.field(factory=dict)  # botocore client (verify, ...)
    config_kwargs: dict[str, Any] = attrs.field(factory=dict)  # botocore Config (addressing ...)
    s3_additional_kwargs: dict[str, Any] = attrs.field(factory=dict)  # e.g. ServerSideEncryption
    retries: int = attrs.field(default=3, validator=positive)
    connect_timeout: float = attrs.field(default=5.0, validator=positive)
    read_timeout: float = attrs.field(default=60.0, validator=positive)
    block_size: int = attrs.field(default=8 * MiB, validator=_check_block_size)
    max_concurrency: int = attrs.field(default=4, validator=positive)
    spool_limit: int = attrs.field(default=SPOOL_LIMIT, validator=check_spool_limit)
    # local folder for spooled files (default: the temporary folder)
    spool_dir: str | None = attrs.field(default=None, validator=check_spool_dir)


class S3ArtifactStore(ObjectStoreArtifactStore):
    """Artifacts under ``s3://bucket/prefix``."""

    FLAVOR = "s3"
    Config = S3ArtifactStoreConfig
    PROTOCOL = "s3"
    ALIASES = _PROTOCOLS
    SERVICE = "S3"
    CREDENTIALS_FIX = ("set key/secret (and token) in the artifact_store config, a profile, "
                       "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment")

    def _make_fs(self) -> Any:
        import s3fs

        c = self.config
        client_kwargs = dict(c.client_kwargs)
        if c.region:
            client_kwargs.setdefault("region_name", c.region)
        config_kwargs = {"connect_timeout": c.connect_timeout, "read_timeout": c.read_timeout,
                         "retries": {"max_attempts": c.retries, "mode": "standard"},
                         **c.config_kwargs}
        fs = s3fs.S3FileSystem(
            key=c.key, secret=c.secret, token=c.token, profile=c.profile, anon=c.anon,
            endpoint_url=c.endpoint_url, client_kwargs=client_kwargs,
            config_kwargs=config_kwargs, s3_additional_kwargs=dict(c.s3_additional_kwargs),
            default_block_size=c.block_size, max_concurrency=c.max_concurrency,
            # other processes write to the same bucket: never answer from a stale listing
            use_listings_cache=False,
        )
        fs.retries = c.retries  # s3fs's own retry loop for throttling and dropped reads
        return fs

    def _secrets(self) -> list[str]:
        return [s for s in (self.config.secret, self.config.token, self.config.key) if s]

    def _bucket_exists(self) -> bool | None:
        try:
            self.fs.call_s3("head_bucket", Bucket=self.bucket)
            return True
        except FileNotFoundError:
            return False
        except Exception:
            return None

    def _fetch_ranges(self, path: str, view: memoryview, offset: int) -> None:
        """Stream ``max_concurrency`` ranged GETs straight into ``view`` (each body is read
        into its slice as it arrives: no per-range buffer, few requests)."""
        import asyncio

        from fsspec.asyn import sync

        bucket, key = path.split("/", 1)
        span = max(self.block_size, -(-len(view) // self.max_concurrency))
        retries = max(1, int(self.config.retries))

        async def one(lo: int, hi: int) -> None:
            pos = lo
            for attempt in range(retries):
                try:
                    resp = await self.fs._call_s3(
                        "get_object", Bucket=bucket, Key=key,
                        Range=f"bytes={offset + pos}-{offset + hi - 1}")
                    body = resp["Body"]
                    try:
                        while pos < hi:
                            got = await body.readinto(view[pos:hi])
                            if not got:
                                raise OSError(f"{path}: the stream ended {hi - pos} bytes early")
                            pos += got
                    finally:
                        body.close()
                    return
                except Exception as exc:  # a dropped stream resumes where it stopped
                    if attempt == retries - 1 or not _resumable(exc):
                        raise

        async def fill() -> None:
            await asyncio.gather(*(one(lo, min(lo + span, len(view)))
                                   for lo in range(0, len(view), span)))

        sync(self.fs.loop, fill)

    def iter_incomplete_uploads(self) -> Iterator[IncompleteUpload]:
        """Multipart uploads under ``.zen/`` - staging, and content addresses that spooled
        files upload to - (one listing per 1,000)."""
        owned = self.zen_root
        prefix = self._key(owned).split("/", 1)[1] + "/"
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        with self._errors("list uploads under", owned):
            while True:
                page = self.fs.call_s3("list_multipart_uploads", **params)
                for upload in page.get("Uploads", []):
                    initiated = upload.get("Initiated")
                    yield IncompleteUpload(
                        self._canonical(f"{self.bucket}/{upload['Key']}"), upload["UploadId"],
                        initiated.timestamp() if initiated is not None else None)
                if not page.get("IsTruncated"):
                    return
                params.update(KeyMarker=page.get("NextKeyMarker"),
                              UploadIdMarker=page.get("NextUploadIdMarker"))

    def abort_upload(self, upload: IncompleteUpload) -> None:
        with self._errors("abort the upload of", upload.uri):
            self.fs.call_s3("abort_multipart_upload", Bucket=self.bucket,
                            Key=self._key(upload.uri).split("/", 1)[1], UploadId=upload.upload_id)

    def _open_write(self, uri: str, mode: str, **kwargs: Any) -> Any:
        if mode not in ("wb", "xb"):
            return super()._open_write(uri, mode, **kwargs)
        return _MultipartWriter(self, uri)


def _resumable(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in (
        "ResponseStreamingError", "AioReadTimeoutError", "ReadTimeoutError",
        "ClientPayloadError", "IncompleteRead")


class _MultipartWriter(io.RawIOBase):
    """Streams to one S3 object: a single PUT when small, else a multipart upload with up
    to ``max_concurrency`` parts of ``block_size`` in flight (memory stays bounded by that,
    whatever the object's size). Nothing is visible at the key until ``close`` completes."""

    def __init__(self, store: S3ArtifactStore, uri: str) -> None:
        self._store = store
        self._uri = uri
        self._bucket, self._key = store._key(uri).split("/", 1)
        self._part = bytearray()  # the part being filled, up to one block
        self._upload_id: str | None = None
        self._pending: deque[concurrent.futures.Future] = deque()
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._extra = dict(store.config.s3_additional_kwargs)
        self._failed = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        try:
            with self._store._errors("write", self._uri):
                pos = 0
                if (isinstance(data, bytes) and not self._part
                        and len(data) == self._part_size()):
                    self._send_part(data)  # a whole part as given (a spool's block): no copy
                    pos = len(view)
                while pos < len(view):
                    size = self._part_size()
                    take = min(size - len(self._part), len(view) - pos)
                    self._part += view[pos : pos + take]
                    pos += take
                    if len(self._part) == size:
                        self._send_part()
        except BaseException:
            self._failed = True  # close() then aborts instead of publishing a partial object
            self._abort()
            raise
        self._size += len(view)
        return len(view)

    def _part_size(self) -> int:
        # S3 allows 10,000 parts: doubling the size every 1,000 parts reaches its 5 TiB limit
        number = len(self._parts) + len(self._pending) + 1
        return self._store.block_size << ((number - 1) // 1000)

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self._store.fs.call_s3(method, Bucket=self._bucket, Key=self._key, **kwargs)

    def _send_part(self, whole: bytes | None = None) -> None:
        import asyncio

        if self._upload_id is None:
            self._upload_id = self._call("create_multipart_upload", **self._extra)["UploadId"]
        number = len(self._parts) + len(self._pending) + 1
        # immutable bytes: aiohttp copies a bytearray body when sending, but not bytes
        if whole is not None:
            body = whole
        else:
            body, self._part = bytes(self._part), bytearray()
        coro = self._store.fs._call_s3("upload_part", Bucket=self._bucket, Key=self._key,
                                       PartNumber=number, UploadId=self._upload_id, Body=body)
        future = asyncio.run_coroutine_threadsafe(coro, self._store.fs.loop)
        future.number = number  # type: ignore[attr-defined]
        self._pending.append(future)
        while len(self._pending) >= self._store.max_concurrency:
            self._collect_one()  # bounds memory: at most max_concurrency blocks in flight

    def _collect_one(self) -> None:
        future = self._pending.popleft()
        out = future.result()
        self._parts.append({"PartNumber": future.number, "ETag": out["ETag"]})

    def close(self) -> None:
        if self.closed:
            return
        if self._failed:
            self._part = bytearray()
            super().close()
            return
        try:
            with self._store._errors("write", self._uri):
                if self._upload_id is None:
                    self._call("put_object", Body=bytes(self._part), **self._extra)
                else:
                    if self._part:
                        self._send_part()
                    while self._pending:
                        self._collect_one()
                    self._call("complete_multipart_upload", UploadId=self._upload_id,
                               MultipartUpload={"Parts": sorted(
                                   self._parts, key=lambda p: p["PartNumber"])})
        except BaseException:
            self._abort()
            raise
        finally:
            self._part = bytearray()
            super().close()

    def _abort(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            call_quietly(lambda: self._call("abort_multipart_upload", UploadId=upload_id))


@hookimpl
def zen_artifact_stores() -> list[type[ObjectStoreArtifactStore]]:
    return [S3ArtifactStore]
