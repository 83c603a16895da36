"""Content hashes computed in the same pass as the I/O.

xxh3-128 runs at memory speed, so hashing while writing and verifying while
reading costs a few percent of the I/O instead of a second pass over the data.
A large buffer being written is hashed on a helper thread during the write
(xxhash releases the GIL). A large local read is done in pieces, each hashed
right after it is read, while it is still in the CPU cache: that costs less
than a pass over memory and needs no second core, where a helper thread lost
its head start on a busy machine (500 MB: +8 to +20 ms against +15 to +48 ms).
A file's entry in an artifact's manifest is ``[size, hex_digest]``; the
artifact's content hash is the hash of its sorted manifest.
"""

from __future__ import annotations

import concurrent.futures
import io
from collections.abc import Callable, Mapping
from typing import Any

import xxhash

__all__ = ["CHUNK", "HashingWriter", "VerifyingReader", "combine", "hash_stream", "new_hasher"]

CHUNK = 8 * 1024 * 1024
READ_PIECE = 4 * 1024 * 1024  # a local read is hashed in pieces this size: they stay in cache
_hashing_thread: concurrent.futures.ThreadPoolExecutor | None = None


def new_hasher() -> Any:
    return xxhash.xxh3_128()


def _in_background(hasher: Any, view: Any) -> concurrent.futures.Future:
    """``hasher.update(view)`` on the helper thread (one thread: updates keep their order)."""
    global _hashing_thread
    if _hashing_thread is None:
        _hashing_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="zen-hash")
    return _hashing_thread.submit(hasher.update, view)


def combine(files: Mapping[str, tuple[int, str] | list]) -> str:
    """The content hash of a whole artifact from its per-file manifest."""
    h = new_hasher()
    for rel in sorted(files):
        size, digest = files[rel]
        h.update(f"{rel}\0{size}\0{digest}\n".encode())
    return h.hexdigest()


def hash_stream(f: Any) -> tuple[int, str]:
    """``(size, digest)`` of a readable binary file object, read in chunks."""
    h = new_hasher()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    readinto = getattr(f, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            h.update(view[:n])
        else:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            n = len(chunk)
            h.update(chunk)
        size += n
    return size, h.hexdigest()


class HashingWriter(io.RawIOBase):
    """Wraps a writable file; hashes and counts every byte on its way through."""

    def __init__(self, raw: Any, on_close: Callable[[int, str], None]) -> None:
        self._raw = raw
        self._hasher = new_hasher()
        self._size = 0
        self._on_close = on_close

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1 or not view.c_contiguous:
            view = view.cast("B") if view.c_contiguous else memoryview(bytes(view))
        if view.nbytes >= 2 * CHUNK:
            hashed = _in_background(self._hasher, view)  # overlaps the write below
            try:
                self._raw.write(view)
            finally:
                hashed.result()
        else:
            self._hasher.update(view)
            self._raw.write(view)
        self._size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        if not getattr(self._raw, "closed", False):
            self._raw.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._raw.close()
        finally:
            super().close()
        self._on_close(self._size, self._hasher.hexdigest())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class VerifyingReader(io.RawIOBase):
    """Wraps a readable file; hashes what is read and checks it on close.

    Bytes are hashed whenever a read continues exactly where hashing stopped,
    so sequential readers cost nothing extra. Readers that jump around (a
    parquet footer first) or stop early leave a gap, which is read and hashed
    on close. A mismatch calls ``on_mismatch(expected, actual)``.
    """

    def __init__(self, raw: Any, expected: tuple[int, str],
                 on_mismatch: Callable[[tuple[int, str], tuple[int, str]], None]) -> None:
        self._raw = raw
        self._expected = (int(expected[0]), expected[1])
        self._hasher = new_hasher()
        self._hashed = 0  # bytes [0, _hashed) are in the hasher
        # Large local reads are split into READ_PIECE pieces, each hashed while in cache:
        # good for local files, not for remote readers that make a request per read.
        try:
            raw.fileno()
            self._local = True
        except Exception:
            self._local = False
        self._pos = 0
        self._on_mismatch = on_mismatch

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _consume(self, view: Any, n: int) -> None:
        if self._pos == self._hashed:
            self._hasher.update(view[:n])
            self._hashed += n
        self._pos += n

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._consume(memoryview(data), len(data))
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if view.nbytes >= 2 * READ_PIECE and self._pos == self._hashed and self._local:
            return self._readinto_pieces(view)
        n = self._raw_readinto(view)
        self._consume(view, n)
        return n

    def _raw_readinto(self, view: Any) -> int:
        raw_readinto = getattr(self._raw, "readinto", None)
        if raw_readinto is not None:
            return raw_readinto(view) or 0
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _readinto_pieces(self, view: Any) -> int:
        """Read a large buffer piece by piece, hashing each piece while it is in cache."""
        done = 0
        update = self._hasher.update
        while done < view.nbytes:
            piece = view[done : done + READ_PIECE]
            n = self._raw_readinto(piece)
            if not n:
                break
            update(piece[:n])
            done += n
        self._hashed += done
        self._pos += done
        return done

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self._raw.seek(offset, whence)
        self._pos = self._raw.tell() if pos is None else pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if self.closed:
            return
        try:
            actual = self._finish()
        finally:
            self._raw.close()
            super().close()
        if actual != self._expected:
            self._on_mismatch(self._expected, actual)

    def _finish(self) -> tuple[int, str]:
        if self._pos != self._hashed:
            self.seek(self._hashed)
        view = memoryview(bytearray(min(CHUNK, max(self._expected[0] - self._hashed, 0) + 1)))
        while self.readinto(view):
            pass
        return self._hashed, self._hasher.hexdigest()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)
