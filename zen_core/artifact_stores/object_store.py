"""A base for artifact stores on object storage (zen-s3, zen-gcs and the like).

Canonical URIs, streaming ranged reads, publishing without a second copy, and errors
that name the store, the URI and the cause. Subclasses build the fsspec filesystem
and map their backend's error codes; nothing here imports s3fs or gcsfs.

Why files written to staging are spooled locally: an object store cannot rename, and an
artifact's content address is known only once all its files are written, so a file
uploaded to staging must be copied to its address afterwards (S3 ``CopyObject``, GCS
``rewrite``) - server-side, but at the cost of a second pass over every byte on the
service (as long as the upload itself on moto; minutes for large objects on S3). So what
a save writes through :meth:`open` goes to a local spool (memory up to ``block_size``,
then an unlinked temporary file, which the OS frees if the process dies) while it is
hashed; :meth:`place` then uploads each file once, straight to its content address (each
upload completes atomically, so no reader sees part of a file; metadata points at the
object only after all are there). A file larger than ``spool_limit``, or one the spool
cannot hold (disk full), streams to staging instead and is copied server-side as before.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import time
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
SPOOL_LIMIT = 8 * 2**30  # default spool_limit: larger files stream to staging

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


def check_spool_limit(instance: Any, attribute: Any, value: int) -> None:
    """An attrs validator for ``spool_limit``: bytes, 0 (never spool) or more."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} = {value!r} must be a number of bytes, 0 or more "
                         f"(0 never spools: files stream to staging and are copied "
                         f"server-side). Fix: e.g. {8 * 2**30} (8 GiB)")


def check_spool_dir(instance: Any, attribute: Any, value: str | None) -> None:
    """An attrs validator for ``spool_dir``: unset, or a folder that exists (a missing one
    would make every save fall back to streaming and a server-side copy, unnoticed)."""
    if value is not None and not os.path.isdir(os.path.expanduser(value)):
        raise ValueError(f"{attribute.name} = {value!r} is not an existing folder. Fix: create "
                         f"it, or leave {attribute.name} out to spool in the temporary folder")


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

    @property
    def spool_limit(self) -> int:
        """The largest file a save spools locally (0: none); see the module's docstring."""
        return int(getattr(self.config, "spool_limit", 0))

    @property
    def spool_dir(self) -> str | None:
        folder = getattr(self.config, "spool_dir", None)
        return os.path.expanduser(folder) if folder else None

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_spools": {}}  # spools stay in their process

    # -- spooled staging files ----------------------------------------------------------------

    @property
    def _spool_table(self) -> dict[str, dict[str, _Spool]]:
        """``{staging folder URI: {relative path: spool}}`` of files written but not uploaded."""
        return self.__dict__.setdefault("_spools", {})

    def _staging_file(self, uri: str) -> tuple[str, str] | None:
        """``(staging folder URI, relative path)`` of a file URI inside a staging folder."""
        prefix = self.join(ZEN_DIR, "staging") + "/"
        uri = self._canonical(uri)
        if not uri.startswith(prefix):
            return None
        name, _, rel = uri[len(prefix):].partition("/")
        return (prefix + name, rel) if name and rel else None

    def _spool_of(self, uri: str) -> _Spool | None:
        where = self._staging_file(uri)
        return None if where is None else self._spool_table.get(where[0], {}).get(where[1])

    def _spools_under(self, uri: str) -> dict[str, _Spool]:
        """``{canonical file URI: spool}`` of the spooled files at or under ``uri``."""
        with _SPOOL_LOCK:
            return self._spools_under_locked(uri)

    def _keep_spool(self, folder: str, rel: str, spool: _Spool) -> None:
        with _SPOOL_LOCK:
            old = self._spool_table.setdefault(folder, {}).pop(rel, None)
            self._spool_table[folder][rel] = spool
        if old is not None:
            old.close()

    def _drop_spools(self, uri: str) -> None:
        """Free the spools at or under ``uri`` (a staging folder or one of its files)."""
        dropped = []
        with _SPOOL_LOCK:
            for full in self._spools_under_locked(uri):
                folder, rel = self._staging_file(full)  # type: ignore[misc]
                dropped.append(self._spool_table[folder].pop(rel))
                if not self._spool_table[folder]:
                    del self._spool_table[folder]
        for spool in dropped:
            spool.close()

    def _spools_under_locked(self, uri: str) -> dict[str, _Spool]:
        base = self._canonical(uri)
        return {full: spool for folder, files in self._spool_table.items()
                for rel, spool in files.items() for full in (f"{folder}/{rel}",)
                if full == base or full.startswith(base + "/")}

    def _upload(self, spool: _Spool, uri: str) -> None:
        """Upload one spooled file to ``uri`` (each block read once from the spool)."""
        size = self._upload_block(spool.size)
        with self._errors("write", uri):
            writer = self._open_write(uri, "wb", block_size=size)
            try:
                for block in spool.blocks(size):
                    writer.write(block)
            except BaseException:
                call_quietly(getattr(writer, "_abort", None))
                raise
            writer.close()

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
            spool = self._spool_of(uri)
            if spool is not None:
                return spool.reader(uri)
            with self._errors("read", uri):
                size = int(self.fs.info(self._key(uri))["size"])
            return _RangeReader(self, self._key(uri), size, uri)
        where = self._staging_file(uri) if mode in ("wb", "xb") and self.spool_limit else None
        if where is not None and not kwargs:
            return _SpoolWriter(self, uri, *where)
        with self._errors("write", uri):
            return self._open_write(uri, mode, **kwargs)

    def _open_write(self, uri: str, mode: str, **kwargs: Any) -> Any:
        block = int(kwargs.pop("block_size", self.block_size))
        raw = self.fs.open(self._key(uri), mode, block_size=block, **kwargs)
        return _ChunkingWriter(self, raw, uri, block)

    def _upload_block(self, size: int) -> int:
        """The block a spooled file of ``size`` bytes is uploaded in (read from the spool
        and handed to :meth:`_open_write` as ``block_size``)."""
        return self.block_size

    def exists(self, uri: str) -> bool:
        if self._spools_under(uri):
            return True
        with self._errors("check", uri):
            return bool(self.fs.exists(self._key(uri)))

    def isdir(self, uri: str) -> bool:
        with self._errors("check", uri):
            return bool(self.fs.isdir(self._key(uri)))

    def makedirs(self, uri: str) -> None:
        """Object stores have no folders: a prefix exists once an object is under it."""

    def delete(self, uri: str) -> None:
        self._drop_spools(uri)
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
        """Stored files, and the files this process spooled under ``uri`` (what a save wrote
        to staging and has not uploaded yet), which take precedence."""
        out = self._list_stored(uri)
        base = self._canonical(uri)
        for full, spool in self._spools_under(uri).items():
            out[full[len(base) + 1:] if full != base else full.rsplit("/", 1)[-1]] = spool.size
        return out

    def _list_stored(self, uri: str) -> dict[str, int]:
        with self._errors("list", uri):
            base = self._key(uri)
            out = {}
            for path, info in self._find(uri).items():
                rel = path[len(base) + 1 :] if path.startswith(base + "/") else path.rsplit("/", 1)[-1]
                out[rel] = int(info.get("size") or 0)
            return out

    def place(self, staging_uri: str, content_hash: str,
              files: dict[str, list] | None = None) -> Placement:
        """One listing of the content address decides: reuse it, or put what is missing there
        (spooled files uploaded straight to it, stored staging files copied server-side).

        On reuse the staging folder is kept (``kept_staging``) in the store itself, since
        the save may be settled by another process: spooled files are uploaded to it.
        """
        final = self.object_uri(content_hash)
        with self._errors("publish", staging_uri):
            present = self._list_stored(final)
            expected = manifest_sizes(files) if files is not None else self.list_files(staging_uri)
            if holds(present, expected):
                self._store_spools(staging_uri)
                return Placement(final, staging_uri)
            self._fill(staging_uri, final, present)
        return Placement(final, None)

    def publish(self, staging_uri: str, content_hash: str) -> str:
        """Put a staging folder (or a moved-aside object) at its content address, then
        delete the source.

        Files already at the address with the right size are kept (identical content, or
        a publish cut short earlier), so publishing is idempotent and nothing is uploaded twice.
        """
        final = self.object_uri(content_hash)
        with self._errors("publish", staging_uri):
            self._fill(staging_uri, final, self._list_stored(final))
        return final

    def _fill(self, source: str, final: str, present: dict[str, int]) -> None:
        """Upload the spooled files under ``source`` and copy its stored ones that ``final``
        lacks (or holds with another size), then delete ``source``."""
        spools = {full[len(self._canonical(source)) + 1:]: spool
                  for full, spool in self._spools_under(source).items()}
        try:
            stored = self._list_stored(source)
            for rel, spool in sorted(spools.items()):
                if present.get(rel) != spool.size:
                    self._upload(spool, f"{final}/{rel}")
            todo = sorted(rel for rel, size in stored.items()
                          if rel not in spools and present.get(rel) != size)
            if todo:
                self.fs.copy([self._key(f"{source}/{rel}") for rel in todo],
                             [self._key(f"{final}/{rel}") for rel in todo])
            if stored:
                self.fs.rm(sorted(self._key(f"{source}/{rel}") for rel in stored))
        finally:
            self._drop_spools(source)

    def _store_spools(self, staging_uri: str) -> None:
        """Upload the spooled files of a staging folder to the folder itself."""
        for full, spool in sorted(self._spools_under(staging_uri).items()):
            self._upload(spool, full)
        self._drop_spools(staging_uri)

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
        with _SPOOL_LOCK:  # this process's writes in progress, held in its spool
            spooled = [folder.rsplit("/", 1)[-1] for folder in self._spool_table]
        for name in spooled:
            folders.setdefault(name, time.time())
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


class _PositionalReader(io.RawIOBase):
    """A read-only, seekable file of known ``size`` read by position; subclasses fill
    ``readinto`` from ``self._pos``."""

    def __init__(self, size: int, uri: str) -> None:
        self._size, self._pos, self._uri = size, 0, uri

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
        pos = {0: 0, 1: self._pos, 2: self._size}[whence] + offset
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos


class _RangeReader(_PositionalReader):
    """Reads an object by byte ranges.

    A large ``readinto`` fills the caller's buffer directly (several ranges in
    flight, no intermediate copy of the whole object); small reads are served
    from a read-ahead block that grows while the reader moves forward.
    """

    _MIN_READAHEAD = MiB

    def __init__(self, store: ObjectStoreArtifactStore, path: str, size: int, uri: str) -> None:
        super().__init__(size, uri)
        self._store = store
        self._path = path
        self._buf = b""
        self._buf_start = 0
        self._readahead = self._MIN_READAHEAD

    def seek(self, offset: int, whence: int = 0) -> int:
        before = self._pos
        pos = super().seek(offset, whence)
        if pos != before:
            self._readahead = self._MIN_READAHEAD
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

    def _abort(self) -> None:
        """Give up the upload: nothing appears at the key."""
        if not self.closed:
            call_quietly(getattr(self._raw, "discard", None))
            super().close()

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


# -- the local spool of files written to staging ---------------------------------------------

_SPOOL_LOCK = threading.Lock()


class _Spool:
    """One finished file of a save, held locally until it is uploaded: ``bytes`` (small), or
    an unlinked temporary file (nothing to clean up after a crash)."""

    def __init__(self, data: bytes | None, file: Any, size: int) -> None:
        self._data = data
        self._file = file
        self.size = size

    def blocks(self, block: int) -> Iterator[bytes]:
        """The content in blocks of ``block`` bytes (each a fresh ``bytes``: uploads may keep
        them while in flight)."""
        if self._file is None:
            yield self._data or b""
            return
        fd = self._file.fileno()
        for offset in range(0, self.size, block):
            data = os.pread(fd, min(block, self.size - offset), offset)
            if len(data) != min(block, self.size - offset):
                raise OSError(f"the local spool file ended at {offset + len(data)} of "
                              f"{self.size} bytes")
            yield data

    def reader(self, uri: str) -> Any:
        if self._file is None:
            return io.BytesIO(self._data or b"")
        return io.BufferedReader(_SpoolReader(self._file.fileno(), self.size, uri))

    def close(self) -> None:
        self._data = None
        if self._file is not None:
            self._file.close()
            self._file = None


class _SpoolReader(_PositionalReader):
    """Reads a spooled file by position (its writer's file offset is left alone)."""

    def __init__(self, fd: int, size: int, uri: str) -> None:
        super().__init__(size, uri)
        self._fd = fd

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = os.preadv(self._fd, [view[: max(0, min(len(view), self._size - self._pos))]],
                      self._pos) if self._pos < self._size else 0
        self._pos += n
        return n


class _SpoolWriter(io.RawIOBase):
    """Where a save's ``open(staging/rel, "wb")`` writes: memory up to one block, then an
    unlinked temporary file; past ``spool_limit`` bytes, or when the local disk refuses
    more, what was spooled moves to a streaming upload to the staging key and the rest
    follows it there (that file is then copied server-side at publish, as without a spool).
    On ``close`` a spooled file is handed to the store, which uploads it at publish."""

    def __init__(self, store: ObjectStoreArtifactStore, uri: str, folder: str, rel: str) -> None:
        self._store = store
        self._uri = uri
        self._folder = folder
        self._rel = rel
        self._memory = bytearray()
        self._file: Any = None
        self._stream: Any = None
        self._size = 0  # bytes written so far
        self._written = 0  # of which in the spool file

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if self._stream is None and self._size + n > self._store.spool_limit:
            self._to_stream()
        if self._stream is not None:
            self._stream.write(view)
        elif self._file is None and len(self._memory) + n <= self._store.block_size:
            self._memory += view
        else:
            try:
                self._spool(view)
            except OSError:  # the local disk is full: what is not in the file streams
                self._to_stream()
                self._stream.write(view[max(0, self._written - self._size):])
        self._size += n
        return n

    def _spool(self, view: memoryview) -> None:
        """Append the bytes held in memory, then ``view``, to the spool file; ``_written``
        counts what the file holds (so a failure part-way loses nothing)."""
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._store.spool_dir, buffering=0)
        if self._memory:
            self._write_all(memoryview(self._memory))
            self._memory = bytearray()
        self._write_all(view)

    def _write_all(self, view: memoryview) -> None:
        while len(view):
            done = self._file.write(view)
            self._written += done
            view = view[done:]

    def _to_stream(self) -> None:
        """Start a streaming upload to the staging key with the bytes written before the
        current ``write``: the spool file's, then those still in memory."""
        with self._store._errors("write", self._uri):
            stream = self._store._open_write(self._uri, "wb")
        try:
            if self._file is not None:
                spool = _Spool(None, self._file, self._written)
                self._file = None
                try:
                    for block in spool.blocks(self._store.block_size):
                        stream.write(block)
                finally:
                    spool.close()
            held = self._size - len(self._memory)  # where the bytes in memory start
            stream.write(memoryview(self._memory)[max(0, self._written - held):])
        except BaseException:
            call_quietly(getattr(stream, "_abort", None))
            raise
        self._memory = bytearray()
        self._stream = stream

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._stream is not None:
                with self._store._errors("write", self._uri):
                    self._stream.close()
            elif self._file is not None:
                self._store._keep_spool(self._folder, self._rel,
                                        _Spool(None, self._file, self._written))
            else:
                self._store._keep_spool(self._folder, self._rel,
                                        _Spool(bytes(self._memory), None, self._size))
            self._file, self._memory = None, bytearray()
        finally:
            super().close()
