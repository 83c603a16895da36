"""ZenML-style materializers, unchanged: ``from zen_core.materializers.base_materializer
import BaseMaterializer`` (ZenML's module path) and a ZenML materializer runs as written.

:class:`BaseMaterializer` is a :class:`~zen_core.materializers.base.Materializer`, so
such a class still gets what every materializer gets: its files are hashed as they are
written and verified as they are read, and it is published under its content address.
What ZenML code calls is adapted onto that:

* ``self.artifact_store.open(os.path.join(self.uri, "data.txt"), "w")`` (and ``exists``,
  ``listdir``, ``makedirs``, ``copyfile``, ``remove``, ``rename``, ``rmtree``, ``glob``,
  ``isdir``, ``size``, ``walk``) work on paths under ``self.uri`` through ``self.open``;
  a path outside ``self.uri`` is refused, and ``load`` changes nothing;
* :mod:`zen_core.io.fileio` does the same for the materializer at work, and plain file
  I/O (fsspec) elsewhere, for instance in a local temporary directory;
* :meth:`BaseMaterializer.get_temporary_directory`, ``extract_full_metadata``,
  ``validate_save_type_compatibility`` and ``validate_load_type_compatibility``.

Like any materializer it is chosen by ``output_materializers=`` or provided by a plugin;
defining the class does not register it for its types (ZenML's does).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import fnmatch
import inspect
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from zen_core.errors import MaterializerError, MaterializerInterfaceError
from zen_core.materializers.base import ArtifactType, Materializer

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore

__all__ = ["BaseMaterializer", "BaseMaterializerMeta"]

# The ZenML-style materializer saving or loading right now: zen_core.io.fileio routes its
# paths under ``uri`` through it (hashing, verification, confinement).
_at_work: contextvars.ContextVar[BaseMaterializer | None] = contextvars.ContextVar(
    "zen_zenml_materializer", default=None)


def materializer_at_work() -> BaseMaterializer | None:
    return _at_work.get()


class BaseMaterializerMeta(type):
    """Checks a class as ZenML does when it is defined, and lets zen_core construct it with
    ZenML's ``(uri, artifact_store=None)`` signature even when a subclass overrides
    ``__init__`` with that signature."""

    def __new__(mcs, name: str, bases: tuple[type, ...], dct: dict[str, Any]
                ) -> BaseMaterializerMeta:
        cls: Any = super().__new__(mcs, name, bases, dct)
        if cls.SKIP_REGISTRATION:  # a base class; its subclasses are checked again
            cls.SKIP_REGISTRATION = False
            return cls
        where = f"materializer class {name!r}"
        if not cls.ASSOCIATED_TYPES:
            raise MaterializerInterfaceError(
                f"{where} lists no ASSOCIATED_TYPES. Fix: name at least one type it saves, "
                f"e.g. ASSOCIATED_TYPES = (MyClass,).", materializer=name)
        for associated in cls.ASSOCIATED_TYPES:
            if not inspect.isclass(associated):
                raise MaterializerInterfaceError(
                    f"{where}: ASSOCIATED_TYPES holds {associated!r}, which is not a class. "
                    f"Fix: list the classes themselves.", materializer=name, value=associated)
        try:
            cls.ASSOCIATED_ARTIFACT_TYPE = ArtifactType(cls.ASSOCIATED_ARTIFACT_TYPE)
        except ValueError:
            raise MaterializerInterfaceError(
                f"{where}: ASSOCIATED_ARTIFACT_TYPE = {cls.ASSOCIATED_ARTIFACT_TYPE!r} is not "
                f"an artifact type. Fix: use one of "
                f"{', '.join('ArtifactType.' + t.name for t in ArtifactType)}.",
                materializer=name, value=cls.ASSOCIATED_ARTIFACT_TYPE) from None
        return cls

    def __call__(cls, *args: Any, files: dict[str, Any] | None = None, allow_pickle: bool = True,
                 label: str | None = None, **kwargs: Any) -> Any:
        mat = super().__call__(*args, **kwargs)
        mat._expected = files
        mat.allow_pickle = allow_pickle
        mat._label = label or mat.uri
        return mat


class BaseMaterializer(Materializer, metaclass=BaseMaterializerMeta):
    """ZenML's materializer base class: subclass it, set ``ASSOCIATED_TYPES``, write
    ``save``/``load`` against ``self.uri`` and ``self.artifact_store``."""

    ASSOCIATED_ARTIFACT_TYPE: ClassVar[str] = ArtifactType.BASE
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    # True on a base class: skip the checks for it (its subclasses are checked); as in ZenML
    SKIP_REGISTRATION: ClassVar[bool] = True

    def __init__(self, uri: str, artifact_store: ArtifactStore | None = None) -> None:
        if artifact_store is None:  # as in ZenML: the active stack's
            from zen_core.client import Client

            artifact_store = Client().active_stack.artifact_store
        super().__init__(uri, artifact_store)
        self.expected_content_hash: str | None = None
        self._view: _FolderView | None = None

    @property
    def artifact_store(self) -> Any:
        """ZenML's artifact store interface, confined to ``self.uri``."""
        if self._view is None:
            self._view = _FolderView(self)
        return self._view

    def _io_scope(self) -> contextlib.AbstractContextManager[None]:
        return _working(self)

    # -- ZenML's helpers -------------------------------------------------------------------

    @classmethod
    def can_save_type(cls, data_type: type) -> bool:
        return any(issubclass(data_type, t) for t in cls.ASSOCIATED_TYPES)

    @classmethod
    def can_load_type(cls, data_type: type) -> bool:
        return any(issubclass(t, data_type) or issubclass(data_type, t)
                   for t in cls.ASSOCIATED_TYPES)

    def validate_save_type_compatibility(self, data_type: type) -> None:
        if not self.can_save_type(data_type):
            raise TypeError(f"{type(self).__name__} cannot save type {data_type}: it saves "
                            f"only {self.ASSOCIATED_TYPES}.")

    def validate_load_type_compatibility(self, data_type: type) -> None:
        if not self.can_load_type(data_type):
            raise TypeError(f"{type(self).__name__} cannot load type {data_type}: it loads "
                            f"only {self.ASSOCIATED_TYPES}.")

    def extract_full_metadata(self, data: Any) -> dict[str, Any]:
        """``storage_size`` of what was saved, then what ``extract_metadata`` returns."""
        return {"storage_size": sum(self.artifact_store._files().values()),
                **(self.extract_metadata(data) or {})}

    def compute_content_hash(self, data: Any) -> str | None:
        """zen_core hashes every stored file itself; nothing to compute here."""
        return None

    @contextlib.contextmanager
    def get_temporary_directory(self, delete_at_exit: bool,
                                delete_after_step_execution: bool = True) -> Iterator[str]:
        """A local temporary directory, removed when the ``with`` block ends
        (``delete_at_exit``) or else when the process exits; unlike ZenML, not right
        after the step."""
        folder = tempfile.mkdtemp(prefix="zen-")
        if not delete_at_exit and delete_after_step_execution:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        try:
            yield folder
        finally:
            if delete_at_exit:
                shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _working(mat: BaseMaterializer) -> Iterator[None]:
    token = _at_work.set(mat)
    try:
        yield
    finally:
        _at_work.reset(token)


class _FolderView:
    """ZenML's ``BaseArtifactStore`` methods on the paths under one materializer's
    ``uri``: reads are verified and writes hashed (``Materializer.open``)."""

    def __init__(self, mat: BaseMaterializer) -> None:
        self._mat = mat
        self._store = mat._store

    @property
    def path(self) -> str:
        return self._store.path

    # -- where a path lies -------------------------------------------------------------

    def contains(self, path: Any) -> bool:
        """Whether ``path`` is the materializer's folder or lies under it."""
        return self._relative(path) is not None

    def _relative(self, path: Any) -> str | None:
        text = _text(path).rstrip("/")
        root = self._mat.uri
        if text == root:
            return ""
        if not text.startswith(root + "/"):
            return None
        rel = posixpath.normpath(text[len(root) + 1 :])
        return None if rel == ".." or rel.startswith("../") else ("" if rel == "." else rel)

    def _rel(self, path: Any, op: str, *, writes: bool = False) -> str:
        rel = self._relative(path)
        if rel is None:
            raise MaterializerError(
                f"{type(self._mat).__name__} called {op}({_text(path)!r}), outside its artifact "
                f"folder {self._mat.uri!r}; a materializer reads and writes only under "
                f"self.uri. Fix: build its paths with os.path.join(self.uri, ...).",
                path=_text(path), uri=self._mat.uri)
        if writes and self._loading:
            raise MaterializerError(
                f"{type(self._mat).__name__} called {op}({_text(path)!r}) while loading; the "
                f"stored artifact is verified and never changed. Fix: write only in save(), "
                f"or to a temporary directory (self.get_temporary_directory).",
                path=_text(path), uri=self._mat.uri)
        return rel

    def _uri(self, rel: str) -> str:
        return self._mat.path(rel)

    @property
    def _loading(self) -> bool:
        return self._mat._expected is not None

    def _files(self) -> dict[str, int]:
        """``{relative path: size}`` of every file in the folder: the manifest while
        loading, the folder itself while saving."""
        if self._loading:
            return {rel: int(entry[0]) for rel, entry in self._mat._expected.items()}
        if not self._store.exists(self._mat.uri):
            return {}
        return self._store.list_files(self._mat.uri)

    def _under(self, rel: str) -> dict[str, int]:
        """The files at or below ``rel``, relative to ``rel``."""
        if not rel:
            return self._files()
        return {f[len(rel) + 1 :]: n for f, n in self._files().items()
                if f.startswith(rel + "/")}

    # -- ZenML's BaseArtifactStore interface -----------------------------------------------

    def open(self, path: Any, mode: str = "r") -> Any:
        rel = self._rel(path, "open", writes=any(c in mode for c in "wax+"))
        return self._mat.open(rel, mode)

    def exists(self, path: Any) -> bool:
        rel = self._rel(path, "exists")
        if not rel:
            return True
        return rel in self._files() or self.isdir(path)

    def isdir(self, path: Any) -> bool:
        rel = self._rel(path, "isdir")
        if not self._loading:
            return self._store.isdir(self._uri(rel))
        return not rel or any(f.startswith(rel + "/") for f in self._files())

    def listdir(self, path: Any) -> list[str]:
        rel = self._rel(path, "listdir")
        if not self._loading and self._store.isdir(self._uri(rel)):
            return sorted(posixpath.basename(p.rstrip("/"))
                          for p in self._store.fs.ls(self._fs_path(rel), detail=False))
        return sorted({f.split("/", 1)[0] for f in self._under(rel)})

    def _fs_path(self, rel: str) -> str:
        return self._store.fs._strip_protocol(self._uri(rel))

    def size(self, path: Any) -> int:
        rel = self._rel(path, "size")
        files = self._files()
        return files[rel] if rel in files else sum(self._under(rel).values())

    def glob(self, pattern: Any) -> list[str]:
        """Files matching ``pattern``; as in a shell, ``*`` stays within one folder."""
        self._rel(posixpath.dirname(_text(pattern)), "glob")
        wanted = _text(pattern).split("/")
        return sorted(uri for uri in (self._uri(f) for f in self._files())
                      if len(parts := uri.split("/")) == len(wanted)
                      and all(map(fnmatch.fnmatchcase, parts, wanted)))

    def walk(self, top: Any, topdown: bool = True, onerror: Any = None
             ) -> Iterator[tuple[str, list[str], list[str]]]:
        rel = self._rel(top, "walk")
        folders: dict[str, tuple[set[str], list[str]]] = {"": (set(), [])}
        for f in sorted(self._under(rel)):
            parts = f.split("/")
            for depth in range(len(parts) - 1):
                parent, child = "/".join(parts[:depth]), "/".join(parts[: depth + 1])
                folders.setdefault(parent, (set(), []))[0].add(parts[depth])
                folders.setdefault(child, (set(), []))
            folders["/".join(parts[:-1])][1].append(parts[-1])
        order = sorted(folders, key=lambda d: (d.count("/") + bool(d), d), reverse=not topdown)
        for folder in order:
            dirs, files = folders[folder]
            base = self._uri(f"{rel}/{folder}".strip("/"))
            yield base, sorted(dirs), files

    def makedirs(self, path: Any) -> None:
        self._store.makedirs(self._uri(self._rel(path, "makedirs", writes=True)))

    mkdir = makedirs

    def remove(self, path: Any) -> None:
        self._store.delete(self._uri(self._rel(path, "remove", writes=True)))

    rmtree = remove

    def copyfile(self, src: Any, dst: Any, overwrite: bool = False) -> None:
        source = self._rel(src, "copyfile")
        target = self._rel(dst, "copyfile", writes=True)
        if not overwrite and target in self._files():
            raise FileExistsError(f"{_text(dst)} exists and overwrite is False")
        with self._mat.open(source, "rb") as f, self._mat.open(target, "wb") as g:
            shutil.copyfileobj(f, g, 1 << 20)

    def rename(self, src: Any, dst: Any, overwrite: bool = False) -> None:
        self.copyfile(src, dst, overwrite)
        self.remove(src)


def _text(path: Any) -> str:
    value = os.fspath(path)
    return value.decode() if isinstance(value, bytes) else value
