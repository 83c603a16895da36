"""ZenML's ``fileio`` functions, on any fsspec URL (``/local/path``, ``s3://...``).

While a ZenML-style materializer saves or loads (see
:mod:`zen_core.materializers.base_materializer`), paths under its ``self.uri`` go
through it: what is written there is hashed and what is read is verified, and a path
elsewhere in the artifact store is refused. Any other path, such as a local temporary
directory, is plain file I/O.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Callable, Iterator
from typing import Any

from zen_core.errors import MaterializerError

__all__ = ["convert_to_str", "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir",
           "open", "remove", "rename", "rmtree", "size", "walk"]

_open = open  # the builtin, before this module's own open() shadows it


def convert_to_str(path: Any) -> str:
    value = os.fspath(path)
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _folder(path: Any) -> Any:
    """The view of the materializer at work when ``path`` lies in its folder, else
    ``None``; a path elsewhere in its artifact store is refused."""
    from zen_core.materializers.base_materializer import materializer_at_work

    mat = materializer_at_work()
    if mat is None:
        return None
    view = mat.artifact_store
    if view.contains(path):
        return view
    if mat._store.contains(convert_to_str(path)):
        raise MaterializerError(
            f"{type(mat).__name__} used fileio on {convert_to_str(path)!r}, inside the artifact "
            f"store but outside its own folder {mat.uri!r}; a materializer reads and writes "
            f"only under self.uri. Fix: build its paths with os.path.join(self.uri, ...).",
            path=convert_to_str(path), uri=mat.uri)
    return None


def _fs(path: Any) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(convert_to_str(path))


def _route(path: Any, method: str, plain: Callable[[Any, str], Any]) -> Any:
    """The materializer's own ``method`` for a path in its folder, else ``plain(fs, path)``."""
    view = _folder(path)
    if view is not None:
        return getattr(view, method)(path)
    return plain(*_fs(path))


def open(path: Any, mode: str = "r") -> Any:  # noqa: A001 - ZenML's name
    view = _folder(path)
    if view is not None:
        return view.open(path, mode)
    fs, p = _fs(path)
    if any(c in mode for c in "wax"):
        parent = posixpath.dirname(p)
        if parent:
            fs.makedirs(parent, exist_ok=True)
    return fs.open(p, mode)


def copy(src: Any, dst: Any, overwrite: bool = False) -> None:
    """Copy a file, between filesystems too (streamed)."""
    if not overwrite and exists(dst):
        raise FileExistsError(f"{convert_to_str(dst)} exists and overwrite is False")
    with open(src, "rb") as f, open(dst, "wb") as g:
        shutil.copyfileobj(f, g, 1 << 20)


def exists(path: Any) -> bool:
    return _route(path, "exists", lambda fs, p: fs.exists(p))


def isdir(path: Any) -> bool:
    return _route(path, "isdir", lambda fs, p: fs.isdir(p))


def listdir(path: Any, only_file_names: bool = True) -> list[str]:
    """The names in a folder (with ``only_file_names=False``: their full paths)."""
    names = _route(path, "listdir", lambda fs, p: sorted(
        posixpath.basename(e.rstrip("/")) for e in fs.ls(p, detail=False)))
    base = convert_to_str(path).rstrip("/")
    return names if only_file_names else [f"{base}/{n}" for n in names]


def glob(pattern: Any) -> list[str]:
    view = _folder(posixpath.dirname(convert_to_str(pattern)))
    if view is not None:
        return view.glob(pattern)
    fs, p = _fs(pattern)
    text = convert_to_str(pattern)
    protocol = text.split("://", 1)[0] + "://" if "://" in text else ""
    return [protocol + m if protocol and "://" not in m else m for m in sorted(fs.glob(p))]


def makedirs(path: Any) -> None:
    _route(path, "makedirs", lambda fs, p: fs.makedirs(p, exist_ok=True))


mkdir = makedirs


def remove(path: Any) -> None:
    _route(path, "remove", lambda fs, p: fs.rm_file(p))


def rmtree(path: Any) -> None:
    _route(path, "rmtree", lambda fs, p: fs.rm(p, recursive=True))


def rename(src: Any, dst: Any, overwrite: bool = False) -> None:
    if _folder(src) is not None or _folder(dst) is not None:
        copy(src, dst, overwrite)
        remove(src)
        return
    if not overwrite and exists(dst):
        raise FileExistsError(f"{convert_to_str(dst)} exists and overwrite is False")
    fs, p = _fs(src)
    fs.mv(p, _fs(dst)[1])


def size(path: Any) -> int | None:
    """Bytes in a file, or in every file under a folder (``None``: nothing there)."""
    return _route(path, "size", lambda fs, p: None if not fs.exists(p) else
                  fs.du(p) if fs.isdir(p) else fs.size(p))


def walk(top: Any, topdown: bool = True, onerror: Any = None
         ) -> Iterator[tuple[str, list[str], list[str]]]:
    view = _folder(top)
    if view is not None:
        yield from view.walk(top, topdown, onerror)
        return
    fs, p = _fs(top)
    yield from fs.walk(p, topdown=topdown, on_error=onerror or "omit")
