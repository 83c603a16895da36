"""zen-gcs: an artifact store on Google Cloud Storage (or an emulator speaking its JSON API).

All I/O goes through gcsfs, imported only when the store is first used, so loading the
plugin stays cheap. Large writes stream as resumable uploads one block at a time; large
reads fill the caller's buffer from parallel ranged GETs; publishing a finished artifact
is a server-side rewrite (no second upload).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import attrs

from zen_core.artifact_stores import (
    SPOOL_LIMIT,
    MiB,
    ObjectStoreArtifactStore,
    check_spool_dir,
    check_spool_limit,
    check_uri,
    positive,
)
from zen_core.config import secret as secret_field
from zen_core.errors import StoreError
from zen_core.plugins import hookimpl

__all__ = ["GCSArtifactStore", "GCSArtifactStoreConfig"]

_PROTOCOLS = ("gs", "gcs")
_TOKEN_METHODS = ("google_default", "cache", "cloud", "anon")
_GCS_CHUNK = 256 * 1024  # resumable uploads move whole multiples of this
_SPOOL_CHUNK = 32 * MiB  # the chunk size of uploads from a spool


def _check_block_size(instance: Any, attribute: Any, value: int) -> None:
    if value < _GCS_CHUNK or value % _GCS_CHUNK:
        raise ValueError(f"block_size = {value!r} must be a positive multiple of 256 KiB "
                         f"({_GCS_CHUNK}), as GCS resumable uploads require. Fix: e.g. "
                         f"{16 * MiB} (16 MiB)")


@attrs.frozen
class GCSArtifactStoreConfig:
    """``[stacks.<name>.artifact_store]`` with ``flavor = "gcs"``.

    ``token``: unset for Google's default chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud
    login, the metadata server), a service-account JSON file, or one of
    ``google_default``, ``cloud``, ``anon``. ``anon = true`` is the same as ``token = "anon"``.
    """

    path: str = attrs.field(validator=check_uri(_PROTOCOLS, "a GCS", "gs"))
    endpoint_url: str | None = None
    project: str | None = None
    token: str | None = secret_field(default=None)
    anon: bool = False
    client_kwargs: dict[str, Any] = attrs.field(factory=dict)  # more gcsfs.GCSFileSystem kwargs
    retries: int = attrs.field(default=3, validator=positive)
    connect_timeout: float = attrs.field(default=5.0, validator=positive)
    read_timeout: float = attrs.field(default=60.0, validator=positive)
    block_size: int = attrs.field(default=8 * MiB, validator=_check_block_size)
    max_concurrency: int = attrs.field(default=4, validator=positive)
    spool_limit: int = attrs.field(default=SPOOL_LIMIT, validator=check_spool_limit)
    # local folder for spooled files (default: the temporary folder)
    spool_dir: str | None = attrs.field(default=None, validator=check_spool_dir)


@functools.cache
def _bounded_fs_class(retries: int) -> type:
    """gcsfs's filesystem with at most ``retries`` attempts per request (gcsfs fixes six,
    with back-off up to half a minute: an unreachable endpoint would hang for minutes)."""
    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import retry_request

    class ZenGCSFileSystem(GCSFileSystem):
        _request = retry_request(retries=retries)(GCSFileSystem._request.__wrapped__)
        _get_file_request = retry_request(retries=retries)(
            GCSFileSystem._get_file_request.__wrapped__)

    return ZenGCSFileSystem


class GCSArtifactStore(ObjectStoreArtifactStore):
    """Artifacts under ``gs://bucket/prefix``."""

    FLAVOR = "gcs"
    Config = GCSArtifactStoreConfig
    PROTOCOL = "gs"
    ALIASES = _PROTOCOLS
    SERVICE = "GCS"
    CREDENTIALS_FIX = ("set token to a service-account JSON file, set "
                       "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default "
                       "login`; use token = \"anon\" only for public buckets and emulators")

    def _token(self) -> Any:
        c = self.config
        if c.anon:
            return "anon"
        token = c.token
        if token is None or token in _TOKEN_METHODS:
            return token
        path = os.path.expanduser(token)
        if os.path.exists(path):
            return path
        if token.endswith(".json") or os.sep in token:
            raise StoreError(
                f"{self._where()}: the service-account file given as token does not exist: "
                f"{token!r}. Fix: correct the path, or leave token unset to use "
                f"GOOGLE_APPLICATION_CREDENTIALS / gcloud credentials.",
                store=self.path, reason="credentials")
        return token  # a raw OAuth access token: passed on, never printed

    def _make_fs(self) -> Any:
        import aiohttp

        c = self.config
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=c.connect_timeout,
                                        sock_read=c.read_timeout)
        kwargs: dict[str, Any] = {"project": c.project or "", "token": self._token(),
                                  "endpoint_url": c.endpoint_url, "block_size": c.block_size,
                                  "requests_timeout": timeout, "use_listings_cache": False,
                                  **c.client_kwargs}
        with self._errors("connect to", self.path):
            return _bounded_fs_class(int(c.retries))(**kwargs)

    def _secrets(self) -> list[str]:
        token = self.config.token
        return [token] if token and token not in _TOKEN_METHODS else []

    def _upload_block(self, size: int) -> int:
        """A spooled file goes up in chunks of up to 32 MiB: each chunk of a resumable
        upload is a request in turn (GCS recommends large ones; an emulator even copies
        what it holds at each), and the spool bounds what a chunk may cost in memory."""
        return max(self.block_size, min(_SPOOL_CHUNK, -(-size // _GCS_CHUNK) * _GCS_CHUNK))

    def _bucket_exists(self) -> bool | None:
        try:
            self.fs.call("GET", "b/{}", self.bucket, json_out=True)
            return True
        except FileNotFoundError:
            return False
        except Exception:
            return None


@hookimpl
def zen_artifact_stores() -> list[type[ObjectStoreArtifactStore]]:
    return [GCSArtifactStore]
