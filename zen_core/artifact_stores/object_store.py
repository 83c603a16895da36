"""A base for artifact stores on object storage (zen-s3, zen-gcs and the like).

Canonical URIs, streaming ranged reads, server-side publish, and errors that
name the store, the URI and the cause. Subclasses build the fsspec filesystem
and map their backend's error codes; nothing here imports s3fs or gcsfs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from zen_core.artifact_stores.base import (
    ZEN_DIR,
    ArtifactStore,
    Placement,
    StagingEntry,
    _as_timestamp,
    holds,
    manifest_sizes,
)
from zen_core.config import mask_secrets
from zen_core.errors import StoreError, ZenError

MiB = 2**20

# Exception class names (anywhere in the cause chain) that mean "could not talk to the service".
_UNREACHABLE = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                "ConnectionClosedError", "ClientConnectorError", "ServerDisconnectedError",
                "ServerTimeoutError", "ConnectionRefusedError", "ConnectionResetError",
                "TimeoutError", "FSTimeoutError", "ClientOSError", "ProxyConnectionError")
_NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError",
                   "RefreshError", "CredentialRetrievalError")
_BAD_CREDENTIALS_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                          "InvalidToken", "TokenRefreshRequired", "AuthFailure", "401")


# -- config validators the object-store plugins share ------------------------------------------


def check_uri(protocols: tuple[str, ...], service: str, example: str) -> Callable[..., None]:
    """An attrs validator for ``path``: a URI with one of ``protocols`` and a bucket."""

    def check(instance: Any, attribute: Any, value: str) -> None:
        proto, sep, rest = value.partition("://")
        if not sep or proto not in protocols or not rest.strip("/"):
            raise ValueError(
                f"path = {value!r} is not {service} URI. Fix: write {example}://BUCKET or "
                f"{example}://BUCKET/PREFIX, e.g. '{example}://my-bucket/zen'")

    return check


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _error_code(exc: BaseException) -> str:
    """The service's error code (``NoSuchBucket``, ``AccessDenied``, ``403`` ...) if any."""
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code"):
            return str(response["Error"]["Code"])
        code = getattr(e, "code", None)
        if isinstance(code, int):
            return str(code)
    return ""


class ObjectStoreArtifactStore(ArtifactStore):
    """An artifact store on a bucket of an object store reached through an fsspec filesystem.

    Subclasses set the class constants, build the filesystem and may override
    :meth:`_open_write` and :meth:`_bucket_exists`.
    """

    PROTOCOL: ClassVar[str]  # canonical protocol of URIs we return, e.g. "s3"
    ALIASES: ClassVar[tuple[str, ...]]  # protocols accepted in config and URIs
    SERVICE: ClassVar[str]  # "S3", "GCS": for messages
    CREDENTIALS_FIX: ClassVar[str]  # how to give credentials, for messages

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "ALIASES" in cls.__dict__ and "URL_SCHEMES" not in cls.__dict__:
            cls.URL_SCHEMES = tuple(cls.ALIASES)  # what the stack's path may start with

    @property
    def block_size(self) -> int:
        return int(self.config.block_size)

    @property
    def max_concurrency(self) -> int:
        return int(self.config.max_concurrency)

    # -- URIs ---------------------------------------------------------------------------------

    def _normalize_root(self, path: str) -> str:  # type: ignore[override]
        return self._canonical(path)

    def _canonical(self, uri: str) -> str:
        """``<protocol>://bucket/key`` whatever alias (or none) ``uri`` was written with."""
        uri = str(uri)
        for alias in self.ALIASES:
            if uri.startswith(alias + "://"):
                uri = uri[len(alias) + 3 :]
                break
        return f"{self.PROTOCOL}://{uri.strip('/')}"

    def _strip(self, uri: str) -> str:
        return self._canonical(uri)

    def _as_uri(self, fs_path: str) -> str:
        return self._canonical(fs_path)

    def _key(self, uri: str) -> str:
        """The filesystem path ``bucket/key`` of a URI."""
        return self._canonical(uri)[len(self.PROTOCOL) + 3 :]

    _fs_path = _key

    @property
    def bucket(self) -> str:
        return self._key(self.path).split("/", 1)[0]

    # -- errors -------------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        return []

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)

    def _where(self) -> str:
        endpoint = getattr(self.config, "endpoint_url", None)
        at = f" at {mask_secrets(endpoint, 'endpoint_url')}" if endpoint else ""
        return f"{self.SERVICE} artifact store {self.path!r}{at}"

    def _bucket_exists(self) -> bool | None:
        """Whether the bucket exists (None: cannot tell). Called only on the error path."""
        return None

    def translate(self, exc: BaseException, action: str, uri: str) -> BaseException:
        """The exception to raise for ``exc``: a :class:`StoreError` naming store, URI and cause
        for failures of the store itself, ``exc`` unchanged for a missing object (the core
        turns that into "data missing") and for anything it cannot classify."""
        if isinstance(exc, ZenError) or not isinstance(exc, Exception):
            return exc
        names = {type(e).__name__ for e in _chain(exc)}
        code = _error_code(exc)
        cause = self._scrub(f"{type(exc).__name__}: {exc}")
        where = f"{self._where()}: could not {action} {uri!r}"
        endpoint = getattr(self.config, "endpoint_url", None)
        kind = None
        if names & set(_UNREACHABLE):
            kind = "unreachable"
            fix = (f"check that the service is running and reachable from this machine"
                   f"{' (endpoint_url = ' + repr(mask_secrets(endpoint, 'endpoint_url')) + ')' if endpoint else ''}"
                   f", and the network/proxy settings; retries = {self.config.retries} and the "
                   f"timeouts bound how long zen_core waits")
        elif names & set(_NO_CREDENTIALS):
            kind = "credentials"
            fix = f"no usable credentials were found; {self.CREDENTIALS_FIX}"
        elif code in _BAD_CREDENTIALS_CODES or "Invalid Credentials" in str(exc):
            kind = "credentials"
            fix = f"the credentials were rejected; {self.CREDENTIALS_FIX}"
        elif code == "NoSuchBucket" or (isinstance(exc, FileNotFoundError) and (
                "w" in action or "publish" in action or self._bucket_exists() is False)):
            kind = "bucket"
            fix = (f"bucket {self.bucket!r} does not exist: create it, or correct "
                   f"the path in the stack's artifact_store config")
        elif isinstance(exc, PermissionError) or code in ("AccessDenied", "403", "AllAccessDisabled") \
                or str(exc).startswith("Forbidden"):
            kind = "denied"
            fix = (f"the credentials in use may not {action.split()[0]} under {self.path!r}; grant "
                   f"them read, write, list and delete on the bucket (prefix), or use others")
        if kind is None:
            return exc
        return StoreError(f"{where}: {cause}. Fix: {fix}.", uri=uri, store=self.path,
                          reason=kind, cause=exc)

    @contextmanager
    def _errors(self, action: str, uri: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            translated = self.translate(exc, action, uri)
            if translated is exc:
                raise
            raise translated from exc

    # -- operations ---------------------------------------------------------------------------

    def open(self, uri: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode and not any(c in mode for c in "wa+"):
            with self._errors("read", uri):
                size = int(self.fs.info(self._key(uri))["size"])
            return _RangeReader(self, self._key(uri), size, uri)
        with self._errors("write", uri):
            return self._open_write(uri, mode, **kwargs)

    def _open_write(self, uri: str, mode: str, **kwargs: Any) -> Any:
        raw = self.fs.open(self._key(uri), mode, block_size=self.block_size, **kwargs)
        return _ChunkingWriter(self, raw, uri, self.block_size)

    def exists(self, uri: str) -> bool:
        with self._errors("check", uri):
            return bool(self.fs.exists(self._key(uri)))

    def isdir(self, uri: str) -> bool:
        with self._errors("check", uri):
            return bool(self.fs.isdir(self._key(uri)))

    def makedirs(self, uri: str) -> None:
        """Object stores have no folders: a prefix exists once an object is under it."""

    def delete(self, uri: str) -> None:
        with self._errors("delete", uri):
            paths = self._find(uri)
            if paths:
                self.fs.rm(sorted(paths))

    def _find(self, uri: str) -> dict[str, dict[str, Any]]:
        """``{fs_path: info}`` of every object at or under ``uri``."""
        key = self._key(uri)
        found = self.fs.find(key, detail=True)
        return {p: info for p, info in found.items() if info.get("type") != "directory"}

    def modified(self, uri: str) -> float | None:
        """The newest modification time of the objects under ``uri`` (folders have none)."""
        with self._errors("list", uri):
            found = self._find(uri)
        times = [_as_timestamp(info.get("mtime") or info.get("LastModified")
                               or info.get("updated")) for info in found.values()]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def list_files(self, uri: str) -> dict[str, int]:
        with self._errors("list", uri):
            base = self._key(uri)
            out = {}
            for path, info in self._find(uri).items():
                rel = path[len(base) + 1 :] if path.startswith(base + "/") else path.rsplit("/", 1)[-1]
                out[rel] = int(info.get("size") or 0)
            return out

    def place(self, staging_uri: str, content_hash: str,
              files: dict[str, list] | None = None) -> Placement:
        """One listing of the content address decides: reuse it, or copy what is missing."""
        final = self.object_uri(content_hash)
        with self._errors("publish", staging_uri):
            present = self.list_files(final)
            staged = None if files is not None else self.list_files(staging_uri)
            if holds(present, manifest_sizes(files) if files is not None else staged):
                return Placement(final, staging_uri)
            self._copy_in(staging_uri, final, present, staged)
        return Placement(final, None)

    def publish(self, staging_uri: str, content_hash: str) -> str:
        """Server-side copy of the staged objects to the content address, then delete staging.

        Objects already at the address with the right size are kept (identical content, or
        a publish cut short earlier), so publishing is idempotent and nothing is uploaded twice.
        """
        final = self.object_uri(content_hash)
        with self._errors("publish", staging_uri):
            self._copy_in(staging_uri, final, self.list_files(final))
        return final

    def _copy_in(self, source: str, final: str, present: dict[str, int],
                 staged: dict[str, int] | None = None) -> None:
        """Copy the files under ``source`` that ``final`` lacks (or holds with another size),
        then delete ``source``."""
        staged = self.list_files(source) if staged is None else staged
        todo = sorted(rel for rel, size in staged.items() if present.get(rel) != size)
        if todo:
            self.fs.copy([self._key(f"{source}/{rel}") for rel in todo],
                         [self._key(f"{final}/{rel}") for rel in todo])
        if staged:
            self.fs.rm(sorted(self._key(f"{source}/{rel}") for rel in staged))

    def move_aside(self, uri: str, area: str) -> str | None:
        """Server-side copies to ``.zen/<area>/``, then the originals are deleted."""
        target = self.aside_uri(uri, area)
        with self._errors("move", uri):
            files = self.list_files(uri)
            if not files:
                return None
            self.fs.copy([self._key(f"{uri}/{rel}") for rel in sorted(files)],
                         [self._key(f"{target}/{rel}") for rel in sorted(files)])
            self.fs.rm(sorted(self._key(f"{uri}/{rel}") for rel in files))
        return target

    def iter_aside(self, area: str) -> Iterator[tuple[str, str]]:
        root = self.join(ZEN_DIR, area)
        base = self._key(root)
        with self._errors("list", root):
            paths = sorted(self._find(root))
        seen: set[str] = set()
        for path in paths:
            name = path[len(base) + 1 :].split("/", 1)[0]
            if name not in seen:
                seen.add(name)
                yield name.rsplit("-", 1)[0], self._canonical(f"{base}/{name}")

    def iter_objects(self) -> Iterator[tuple[str, str]]:
        """One listing of ``.zen/objects`` (instead of one per shard and object)."""
        root = self.join(ZEN_DIR, "objects")
        base = self._key(root)
        seen: set[str] = set()
        with self._errors("list", root):
            paths = sorted(self._find(root))
        for path in paths:
            parts = path[len(base) + 1 :].split("/")
            if len(parts) >= 3 and parts[1] not in seen:
                seen.add(parts[1])
                yield parts[1], self._canonical(f"{base}/{parts[0]}/{parts[1]}")

    def iter_staging(self) -> Iterator[StagingEntry]:
        """Staging folders with the newest modification time of their objects (object
        stores have no folder times; prune uses it to spare writers on other hosts)."""
        root = self.join(ZEN_DIR, "staging")
        base = self._key(root)
        folders: dict[str, float | None] = {}
        with self._errors("list", root):
            found = self._find(root)
        for path, info in found.items():
            name = path[len(base) + 1 :].split("/", 1)[0]
            mtime = _as_timestamp(info.get("mtime") or info.get("LastModified")
                                  or info.get("updated"))
            old = folders.get(name)
            folders[name] = mtime if old is None else max(old, mtime or old)
        for name, mtime in sorted(folders.items()):
            yield StagingEntry.parse(self._canonical(f"{base}/{name}"), mtime)

    def to_local(self, uri: str, target: str) -> None:
        import os

        with self._errors("download", uri):
            key = self._key(uri)
            files = self._find(uri)
            if list(files) == [key]:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                self.fs.get_file(key, target)
                return
            if not files:
                raise FileNotFoundError(uri)
            remote = sorted(files)
            local = [os.path.join(target, *p[len(key) + 1 :].split("/")) for p in remote]
            for path in local:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            self.fs.get(remote, local)

    # -- streaming reads ----------------------------------------------------------------------

    def _fetch_ranges(self, path: str, view: memoryview, offset: int) -> None:
        """Fill ``view`` with the bytes at ``offset``, ``block_size`` ranges in flight at once."""
        import asyncio

        from fsspec.asyn import sync

        block = self.block_size
        ranges = [(i, min(i + block, len(view))) for i in range(0, len(view), block)]

        async def fill() -> None:
            limit = asyncio.Semaphore(self.max_concurrency)

            async def one(lo: int, hi: int) -> None:
                async with limit:
                    data = await self.fs._cat_file(path, start=offset + lo, end=offset + hi)
                if len(data) != hi - lo:
                    raise OSError(f"short read of {path} at {offset + lo}: got {len(data)} of "
                                  f"{hi - lo} bytes")
                view[lo:hi] = data

            await asyncio.gather(*(one(lo, hi) for lo, hi in ranges))

        sync(self.fs.loop, fill)


class _RangeReader(io.RawIOBase):
    """Reads an object by byte ranges.

    A large ``readinto`` fills the caller's buffer directly (several ranges in
    flight, no intermediate copy of the whole object); small reads are served
    from a read-ahead block that grows while the reader moves forward.
    """

    _MIN_READAHEAD = MiB

    def __init__(self, store: ObjectStoreArtifactStore, path: str, size: int, uri: str) -> None:
        self._store = store
        self._path = path
        self._size = size
        self._uri = uri
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._readahead = self._MIN_READAHEAD

    @property
    def name(self) -> str:
        return self._uri

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        pos = base + offset
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        if pos != self._pos:
            self._readahead = self._MIN_READAHEAD
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self._size - self._pos))
        if n == 0:
            return 0
        done = 0
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= self._pos < buf_end:
            off = self._pos - self._buf_start
            done = min(n, buf_end - self._pos)
            view[:done] = self._buf[off : off + done]
        rest = n - done
        if rest >= self._store.block_size:
            with self._store._errors("read", self._uri):
                self._store._fetch_ranges(self._path, view[done:n], self._pos + done)
        elif rest:
            start = self._pos + done
            length = min(max(rest, self._readahead), self._size - start)
            with self._store._errors("read", self._uri):
                self._buf = self._store.fs.cat_file(self._path, start=start, end=start + length)
            self._buf_start = start
            self._readahead = min(self._readahead * 2, self._store.block_size)
            view[done:n] = self._buf[:rest]
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(0, self._size - self._pos)
        n = remaining if size is None or size < 0 else min(size, remaining)
        out = bytearray(n)
        got = self.readinto(out)
        return bytes(out[:got]) if got != n else bytes(out)

    def readall(self) -> bytes:
        return self.read(-1)


class _ChunkingWriter(io.RawIOBase):
    """Hands a buffered fsspec file at most one block at a time, so a single huge ``write``
    never builds a second in-memory copy of the whole payload; errors name the store."""

    def __init__(self, store: ObjectStoreArtifactStore, raw: Any, uri: str, block: int) -> None:
        self._store = store
        self._raw = raw
        self._uri = uri
        self._block = block
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        with self._store._errors("write", self._uri):
            for i in range(0, len(view), self._block):
                self._raw.write(view[i : i + self._block])
        self._size += len(view)
        return len(view)

    def tell(self) -> int:
        return self._size

    def close(self) -> None:
        if self.closed:
            return
        try:
            with self._store._errors("write", self._uri):
                self._raw.close()
        except BaseException:
            call_quietly(getattr(self._raw, "discard", None))
            raise
        finally:
            super().close()


def call_quietly(fn: Callable[[], Any] | None) -> None:
    if fn is None:
        return
    try:
        fn()
    except Exception:  # cleanup after a failure must not hide that failure
        pass
