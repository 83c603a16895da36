"""The materializer base class: how one Python type becomes files and back.

A materializer reads and writes only under its own ``self.uri`` through
``self.open`` (or ``self.fs``, the store's fsspec filesystem). Files opened
with ``self.open`` are hashed while they are written and verified while they
are read, so plugins write only the happy path: the framework wraps their
failures in :class:`~zen_core.errors.MaterializerError` naming the artifact
and URI.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import posixpath
import re
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

from zen_core.errors import IntegrityError, MaterializerError, UnsafeArtifactError

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore


_helper: concurrent.futures.ThreadPoolExecutor | None = None
_NO_SCOPE = contextlib.nullcontext()  # reusable: what most materializers' _io_scope returns


class ArtifactType(enum.StrEnum):
    DATA = "data"
    DATA_ANALYSIS = "data_analysis"
    MODEL = "model"
    SCHEMA = "schema"
    STATISTICS = "statistics"
    SERVICE = "service"
    BASE = "base"

    @classmethod
    def _missing_(cls, value: object) -> ArtifactType | None:
        """ZenML's spellings (``"ModelArtifact"``) name the same types."""
        if isinstance(value, str) and value.endswith("Artifact"):
            words = re.findall(r"[A-Z][a-z]*", value[: -len("Artifact")])
            return cls.__members__.get("_".join(words).upper())
        return None


class VisualizationType(enum.StrEnum):
    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    IMAGE = "image"
    JSON = "json"


class Materializer:
    """Base class: subclass it, list ``ASSOCIATED_TYPES`` and write ``save``/``load``.

    ``VERSION`` enters the cache key of every step whose outputs it writes:
    bump it when the stored format changes.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type | str, ...]] = ()  # classes or "module.Name"
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[str] = ArtifactType.DATA
    VERSION: ClassVar[str] = "1"
    # Whether load() needs the recorded type itself. A recorded type is imported only when
    # that is safe (see MaterializerRegistry.resolve_type); a materializer that can load
    # without it (pickle; one that reads its class from its own stored files) says False
    # and then receives ``object`` instead of an error.
    NEEDS_RECORDED_TYPE: ClassVar[bool] = True
    # True when save() and save_visualizations() write every file through self.open
    # (never self.fs, self.uri with other libraries, or files left in place): the manifest
    # is then complete as written, and saving skips listing the folder. Not inherited: a
    # subclass that overrides save may write otherwise, so it says so itself.
    WRITES_ONLY_THROUGH_OPEN: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "WRITES_ONLY_THROUGH_OPEN" not in cls.__dict__:
            cls.WRITES_ONLY_THROUGH_OPEN = False
        _defined[qualified_name(cls)] = cls

    def __init__(self, uri: str, artifact_store: ArtifactStore, *,
                 files: dict[str, Any] | None = None, allow_pickle: bool = True,
                 label: str | None = None) -> None:
        self.uri = uri.rstrip("/")
        self._store = artifact_store
        self.allow_pickle = allow_pickle
        self._label = label or self.uri
        self._expected = files  # manifest to verify against when loading
        self.written: dict[str, list] = {}  # manifest built while saving
        self._open_files: list[Any] = []

    # -- what subclasses implement -------------------------------------------

    def load(self, data_type: type) -> Any:
        """Read the artifact back from ``self.uri`` as an instance of ``data_type``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement load()")

    def save(self, data: Any) -> None:
        """Write ``data`` under ``self.uri``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement save()")

    def save_visualizations(self, data: Any) -> dict[str, str]:
        """Write visualizations under ``self.uri``; return ``{uri: VisualizationType}``."""
        return {}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """Cheap, JSON-serializable facts about ``data`` (shape, dtype, rows ...)."""
        return {}

    def _io_scope(self) -> contextlib.AbstractContextManager[None]:
        """Entered around each call of ``save``, ``load``, ``save_visualizations`` and
        ``extract_metadata``: ZenML-style materializers route ``zen_core.io.fileio`` through
        themselves in it (:mod:`zen_core.materializers.base_materializer`)."""
        return _NO_SCOPE

    @classmethod
    def claims_type(cls, data_type: type) -> bool:
        """Whether this materializer takes ``data_type`` by its shape (say, any dataclass)
        rather than by a class in ``ASSOCIATED_TYPES``; asked only for types no class of
        whose MRO is claimed, before falling back to pickle. Keep it cheap."""
        return False

    @classmethod
    def can_handle_type(cls, data_type: type) -> bool:
        names = {qualified_name(k) for k in getattr(data_type, "__mro__", ())}
        return any(t in names if isinstance(t, str) else
                   isinstance(data_type, type) and issubclass(data_type, t)
                   for t in cls.ASSOCIATED_TYPES)

    # -- helpers for subclasses ---------------------------------------------

    @property
    def artifact_store(self) -> ArtifactStore:
        """The artifact store the data lives in (do I/O through ``self.open``/``self.fs``)."""
        return self._store

    @property
    def fs(self) -> Any:
        """The artifact store's fsspec filesystem, confined: calls that write, move or delete
        anywhere but under ``self.uri`` are refused (reads are not limited)."""
        return _ConfinedFileSystem(self._store.fs, self.uri, type(self).__name__)

    def path(self, relative_path: str = "") -> str:
        """The URI of ``relative_path`` under ``self.uri``; refuses to leave it."""
        rel = posixpath.normpath(relative_path.replace("\\", "/")) if relative_path else ""
        if rel in ("", "."):
            return self.uri
        if rel.startswith("/") or rel == ".." or rel.startswith("../"):
            raise MaterializerError(
                f"{type(self).__name__} tried to use {relative_path!r}, which is outside its "
                f"artifact folder {self.uri!r}. Fix: use a path relative to self.uri without '..'.",
                path=relative_path, uri=self.uri,
            )
        return f"{self.uri}/{rel}"

    def open(self, relative_path: str, mode: str = "rb", **kwargs: Any) -> Any:
        """Open a file under ``self.uri``; writes are hashed, reads verified."""
        from zen_core.hashing import HashingWriter, VerifyingReader

        uri = self.path(relative_path)
        rel = uri[len(self.uri) + 1 :]
        if "b" not in mode:
            import io

            encoding = kwargs.pop("encoding", "utf-8")
            binary = self.open(relative_path, mode.replace("t", "") + "b", **kwargs)
            return io.TextIOWrapper(binary, encoding=encoding)
        if any(c in mode for c in "wax+"):
            def record(size: int, digest: str) -> None:
                self.written[rel] = [size, digest]

            return HashingWriter(self._store.open(uri, mode, **kwargs), record)
        if self._expected is None:  # reading back during save: nothing recorded yet
            return self._store.open(uri, mode, **kwargs)
        expected = self._expected.get(rel)
        if expected is None:
            raise IntegrityError(
                f"artifact {self._label}: {type(self).__name__} reads {rel!r}, which is not among "
                f"the files stored with it ({', '.join(sorted(self._expected)) or 'none'}). Its "
                f"record was changed, or the materializer reads a file its save did not write "
                f"through self.open. Fix: rerun the step that produced it (enable_cache=False).",
                uri=uri, file=rel)
        raw = self._store.open(uri, mode, **kwargs)
        reader = VerifyingReader(raw, expected, self._integrity_failure(uri))
        self._open_files.append(reader)
        return reader

    def save_pickled(self, relative_path: str, data: Any) -> None:
        """Pickle ``data`` into a file under ``self.uri``: the fallback for values no safe
        format holds. Decide first whether that is allowed (``self.allow_pickle``)."""
        import pickle

        with self.open(relative_path, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load_pickled(self, relative_path: str, what: str = "was stored with pickle") -> Any:
        """Unpickle a file under ``self.uri``, or raise :class:`UnsafeArtifactError` when
        ``allow_pickle`` is false; ``what`` says in that message what the artifact is."""
        if not self.allow_pickle:
            raise UnsafeArtifactError(
                f"artifact {self._label} {what}, and loading it would run code from the store; "
                f"allow_pickle = false forbids that. Fix: set allow_pickle = true if you trust "
                f"this store.",
                uri=self.uri,
            )
        import pickle

        with self.open(relative_path, "rb") as f:
            return pickle.load(f)

    @staticmethod
    def in_background(fn: Any, *args: Any) -> concurrent.futures.Future:
        """Run ``fn(*args)`` on a helper thread; ``.result()`` returns or re-raises.

        For work that can overlap the write in ``save`` (say, rendering a
        visualization while the data is encoded): I/O and most native libraries
        release the GIL.
        """
        global _helper
        if _helper is None:
            _helper = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="zen-render")
        return _helper.submit(fn, *args)

    def exists(self, relative_path: str) -> bool:
        if self._expected is not None:
            return relative_path in self._expected
        return self._store.exists(self.path(relative_path))

    def _integrity_failure(self, uri: str) -> Any:
        def fail(expected: tuple[int, str], actual: tuple[int, str]) -> None:
            raise IntegrityError(
                f"artifact {self._label} is corrupt: {uri} has {actual[0]} bytes with hash "
                f"{actual[1]}, but {expected[0]} bytes with hash {expected[1]} were stored. "
                f"The data was changed or damaged after it was saved; rerun the step that "
                f"produced it (with enable_cache=False) to store it again.",
                uri=uri, expected=expected, actual=actual,
            )

        return fail

    def _close_reads(self) -> None:
        """Close (and so verify) every file a load left open."""
        files, self._open_files = self._open_files, []
        for f in files:
            f.close()


class _ConfinedFileSystem:
    """An fsspec filesystem as a materializer sees it: changes stay under its folder."""

    # fsspec methods that change the store, and the parameters naming what they change
    _CHANGES: ClassVar[dict[str, tuple[str, ...]]] = {
        **dict.fromkeys(("pipe", "pipe_file", "touch", "mkdir", "makedirs", "mkdirs", "rm",
                         "rm_file", "rmdir", "delete", "write_text", "write_bytes"), ("path",)),
        **dict.fromkeys(("put", "put_file"), ("rpath",)),
        **dict.fromkeys(("mv", "move", "rename"), ("path1", "path2")),
        **dict.fromkeys(("copy", "cp", "cp_file"), ("path2",)),
    }

    def __init__(self, fs: Any, root: str, owner: str) -> None:
        self._fs = fs
        self._root = posixpath.normpath(fs._strip_protocol(root))
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._fs, name)
        if name == "open":
            def open_(path: Any, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
                if any(c in mode for c in "wax+"):
                    self._check(path, name)
                return attr(path, mode, *args, **kwargs)

            return open_
        changed = self._CHANGES.get(name)
        if changed is None:
            return attr

        def changing(*args: Any, **kwargs: Any) -> Any:
            import inspect

            bound = inspect.signature(attr).bind_partial(*args, **kwargs).arguments
            for param in changed:
                if param in bound:
                    self._check(bound[param], name)
            return attr(*args, **kwargs)

        return changing

    def _check(self, paths: Any, method: str) -> None:
        for path in paths if isinstance(paths, list | tuple) else [paths]:
            stripped = posixpath.normpath(self._fs._strip_protocol(str(path)))
            if stripped != self._root and not stripped.startswith(self._root + "/"):
                raise MaterializerError(
                    f"{self._owner} called self.fs.{method} on {str(path)!r}, outside its "
                    f"artifact folder {self._root!r}; a materializer may change only its own "
                    f"folder. Fix: write under self.uri (self.path(relative_path) gives a URI "
                    f"there).", path=str(path), uri=self._root)


# Every Materializer subclass this process has defined, by qualified name: a class a record
# names may be used when the program defined it, without importing anything the record names.
_defined: weakref.WeakValueDictionary[str, type[Materializer]] = weakref.WeakValueDictionary()


def defined_materializer(name: str) -> type[Materializer] | None:
    """The materializer class called ``name`` if this process has defined it."""
    return _defined.get(name)


# The classes of the values this process has stored, by qualified name: loading one back
# needs no import, even where its module cannot be imported by name (a notebook, exec'd code).
_stored_types: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def remember_stored_type(data_type: type) -> str:
    """Note that this process stored a value of ``data_type``; return its qualified name."""
    name = qualified_name(data_type)
    if data_type.__module__ != "builtins" and _stored_types.get(name) is not data_type:
        try:
            _stored_types[name] = data_type
        except TypeError:  # a class that cannot be weakly referenced is not remembered
            pass
    return name


def stored_type(name: str) -> type | None:
    """The class called ``name`` whose values this process has stored, if any."""
    return _stored_types.get(name)


def claimed_packages(mat: type[Materializer]) -> set[str]:
    """Top-level packages of the types ``mat`` claims (``{"pandas"}`` for ``"pandas.DataFrame"``)."""
    return {(t if isinstance(t, str) else t.__module__).split(".", 1)[0]
            for t in mat.ASSOCIATED_TYPES}


def qualified_name(obj: Any) -> str:
    """``module.QualName`` of a class or function: how types and materializers are recorded."""
    return f"{obj.__module__}.{obj.__qualname__}"
