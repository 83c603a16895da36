"""Which materializer handles which type.

Resolution walks the type's MRO: the most specific class that some
materializer claims wins. A materializer may name its types as strings
(``"numpy.ndarray"``) so that neither listing plugins nor building the
registry imports heavy libraries: a string claim is resolved only once its
top-level module has been imported (no value of that type can exist before). Two materializers claiming that same class is a
conflict, reported when the type is resolved (naming both and how to
choose); a ``[materializers]`` config entry settles it. A type nobody claims
falls back to pickle when the config allows it.

``[materializers]`` keys name a type the way it is defined
(``polars.dataframe.frame.DataFrame``) or the way it is imported
(``polars.DataFrame``): the first matches by name at once, the second is
resolved, like a string claim, once its top-level module has been imported.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zen_core.errors import ConfigError, MaterializerConflictError, MaterializerNotFoundError
from zen_core.materializers.base import (
    Materializer,
    claimed_packages,
    defined_materializer,
    qualified_name,
    stored_type,
)

if TYPE_CHECKING:
    from zen_core.config import ZenConfig


class MaterializerRegistry:
    def __init__(self, materializers: list[tuple[str, type[Materializer]]],
                 overrides: Mapping[str, str] | None = None,
                 trusted_modules: Sequence[str] = ()) -> None:
        self._claims: dict[type, list[tuple[str, type[Materializer]]]] = {}
        self._lazy: dict[str, list[tuple[str, type[Materializer]]]] = {}  # "module.Name" claims
        for plugin_name, mat in materializers:
            for t in mat.ASSOCIATED_TYPES:
                target = self._lazy if isinstance(t, str) else self._claims
                pairs = target.setdefault(t, [])
                if all(existing is not mat for _, existing in pairs):
                    pairs.append((plugin_name, mat))
        self._overrides = dict(overrides or {})  # type name (either spelling) -> materializer
        self._override_types: dict[type, str] = {}  # keys resolved to their class
        self._lazy_overrides = dict(self._overrides)  # keys not resolved yet
        self._by_name = {qualified_name(cls): cls for _, cls in materializers}
        self._by_shape = [(p, m) for p, m in materializers if m.claims_type.__func__
                          is not Materializer.claims_type.__func__]
        self._cache: dict[type, type[Materializer]] = {}
        self.trusted_modules = tuple(trusted_modules)

    @classmethod
    def from_plugins(cls, pm: Any, overrides: Mapping[str, str] | None = None,
                     trusted_modules: Sequence[str] = ()) -> MaterializerRegistry:
        from zen_core.plugins import collect

        return cls(collect(pm, "zen_materializers"), overrides, trusted_modules)

    @property
    def materializers(self) -> list[type[Materializer]]:
        return list(self._by_name.values())

    def for_type(self, data_type: type, *, allow_pickle: bool = True) -> type[Materializer]:
        """The materializer for ``data_type`` (most specific MRO match), else pickle."""
        mat = self.claimed(data_type)
        if mat is not None:
            return mat
        if allow_pickle and data_type is not object:
            from zen_core.materializers.builtin import PickleMaterializer

            return PickleMaterializer  # not cached: callers warn on each use
        raise MaterializerNotFoundError(
            f"no materializer handles type {qualified_name(data_type)} and the pickle fallback "
            f"is disabled (allow_pickle = false). Fix: install the plugin for this type (e.g. "
            f"zen-numpy, zen-pandas), write a materializer (see docs/plugins.md), or pass "
            f"output_materializers= to the step.",
            data_type=data_type,
        )

    def claimed(self, data_type: type) -> type[Materializer] | None:
        """The materializer that claims ``data_type`` (a class in its MRO, else its shape:
        :meth:`Materializer.claims_type`), or ``None`` when only pickle would take it."""
        cached = self._cache.get(data_type)
        if cached is not None:
            return cached
        if self._lazy or self._lazy_overrides:
            self._resolve_lazy_claims()
        for klass in getattr(data_type, "__mro__", (data_type,)):
            override = self._overrides.get(qualified_name(klass)) or self._override_types.get(klass)
            if override:
                return self._remember(data_type, self.by_name(override))
            pairs = self._claims.get(klass)
            if not pairs:
                continue
            return self._remember(data_type, self._one(klass, pairs))
        by_shape = [(p, m) for p, m in self._by_shape if m.claims_type(data_type)]
        if by_shape:
            return self._remember(data_type, self._one(data_type, by_shape))
        return None

    @staticmethod
    def _one(klass: type, pairs: list[tuple[str, type[Materializer]]]) -> type[Materializer]:
        if len(pairs) > 1:
            names = " and ".join(f"{qualified_name(m)} (plugin {p})" for p, m in pairs)
            raise MaterializerConflictError(
                f"type {qualified_name(klass)} is claimed by {names}. Fix: choose one in "
                f"the config, e.g. [materializers] \"{qualified_name(klass)}\" = "
                f"\"{qualified_name(pairs[0][1])}\", or pass output_materializers= to the step.",
                data_type=klass, candidates=[m for _, m in pairs],
            )
        return pairs[0][1]

    def _resolve_lazy_claims(self) -> None:
        for path in list(self._lazy):
            if path.split(".", 1)[0] not in sys.modules:
                continue
            try:
                klass = import_object(path, what="type")
            except MaterializerNotFoundError:
                continue
            for pair in self._lazy.pop(path):
                pairs = self._claims.setdefault(klass, [])
                if all(existing is not pair[1] for _, existing in pairs):
                    pairs.append(pair)
        for path in list(self._lazy_overrides):
            if path.split(".", 1)[0] not in sys.modules:
                continue
            name = self._lazy_overrides.pop(path, None)  # tried once: misses are reported
            if name is None:  # by `zen plugins list`; None: another thread took this key
                continue
            try:
                klass = import_object(path, what="type")
            except MaterializerNotFoundError:
                continue
            if isinstance(klass, type):
                self._override_types[klass] = name

    def claims(self) -> dict[str, list[str]]:
        """``{type name: [materializer names]}`` as claimed, without importing anything."""
        claims: dict[str, list[str]] = {}
        for key, pairs in [*self._claims.items(), *self._lazy.items()]:
            name = key if isinstance(key, str) else qualified_name(key)
            claims.setdefault(name, []).extend(qualified_name(m) for _, m in pairs)
        return claims

    def conflicts(self) -> dict[str, list[str]]:
        """``{type name: ["materializer (plugin plugin_name)", ...]}`` of the types several
        materializers claim and no ``[materializers]`` entry settles (string claims
        count once their module is imported)."""
        self._resolve_lazy_claims()
        found = {}
        for key, pairs in [*self._claims.items(), *self._lazy.items()]:
            name = key if isinstance(key, str) else qualified_name(key)
            if len(pairs) > 1 and name not in self._overrides and key not in self._override_types:
                found[name] = [f"{qualified_name(m)} (plugin {p})" for p, m in pairs]
        return found

    def unknown_override_keys(self) -> list[str]:
        """``[materializers]`` keys that name no type. Unlike resolving, this imports the
        modules the keys name: ``zen plugins list`` uses it to diagnose the config."""
        claimed = self.claims()
        unknown = []
        for key in self._overrides:
            if key in claimed:
                continue
            try:
                if isinstance(import_object(key, what="type"), type):
                    continue
            except MaterializerNotFoundError:
                pass
            unknown.append(key)
        return unknown

    def _remember(self, data_type: type, mat: type[Materializer]) -> type[Materializer]:
        self._cache[data_type] = mat
        return mat

    def by_name(self, name: str) -> type[Materializer]:
        """A materializer class from its recorded qualified name.

        The name comes from a record, so nothing it names is imported unless trusted: it
        resolves to a built-in or plugin materializer, a Materializer subclass this program
        has defined, or a class in a ``trusted_modules`` module; anything else is refused.
        """
        mat = self._by_name.get(name) or defined_materializer(name)
        if mat is not None:
            return mat
        if self.trusts(name):
            return import_object(name, what="materializer")
        module = name.rpartition(".")[0]
        top = name.split(".", 1)[0]
        if top.startswith("zen_") and top != "zen_core":
            dist = distribution_name(top)
            message = (f"materializer {name!r} recorded with this artifact comes from the plugin "
                       f"{dist}, which is not installed. Fix: pip install {dist}.")
        elif module == "__main__" or module.startswith("__main__."):
            message = (f"materializer {name!r} recorded with this artifact was defined in the "
                       f"script that saved it, which cannot be imported by name. Fix: define the "
                       f"materializer in an importable module and import it before loading.")
        else:
            message = (f"materializer {name!r} recorded with this artifact is neither built in, "
                       f"nor provided by an installed plugin, nor defined in this program, and "
                       f"zen_core imports no module a record names unless told to trust it. Fix: "
                       f"import {module} in this program before loading, or trust its package: "
                       f"trusted_modules = [{top!r}] in the config.")
        raise MaterializerNotFoundError(message, path=name)

    def trusts(self, name: str) -> bool:
        """Whether ``name`` lies in a module of the config's ``trusted_modules``."""
        return any(name == t or name.startswith(t + ".") for t in self.trusted_modules)

    def resolve_type(self, path: str, mat: type[Materializer]) -> Any:
        """The type recorded as ``path`` for loading with ``mat``: a class this process has
        stored values of, else imported only when its top-level package is loaded already,
        claimed by ``mat``, or trusted."""
        if path == "builtins.NoneType":
            return type(None)
        top = path.split(".", 1)[0]
        if top in sys.modules or top in claimed_packages(mat) or self.trusts(path):
            found = import_type(path)
            if found is object:  # not importable by name (exec'd code, a function's class)
                found = stored_type(path) or object
            return found
        stored = stored_type(path)  # this process stored a value of it: nothing to import
        if stored is not None:
            return stored
        if not mat.NEEDS_RECORDED_TYPE:
            return object
        raise MaterializerNotFoundError(
            f"the artifact's recorded type {path!r} is in package {top!r}, which is not loaded, "
            f"not claimed by its materializer {qualified_name(mat)} and not trusted; zen_core "
            f"imports no module a record names unless told to. Fix: import {top} before "
            f"loading, or trust it: trusted_modules = [{top!r}] in the config.", path=path)


def import_object(path: str, *, what: str) -> Any:
    """Import ``package.module.Qual.Name``; a clear error names the missing plugin."""
    module_name, _, attr = path.rpartition(".")
    tried = []
    while module_name:
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            tried.append(f"{module_name} ({exc})")
            module_name, _, head = module_name.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj
        except AttributeError:
            break
    top = path.split(".", 1)[0]
    hint = (f"pip install {distribution_name(top)}" if top.startswith("zen_") and top != "zen_core"
            else f"install the package that provides {top!r}")
    raise MaterializerNotFoundError(
        f"cannot import {what} {path!r} recorded with this artifact. Fix: {hint}.",
        path=path,
    )


def distribution_name(module: str) -> str:
    """The normalized distribution name of a plugin module: ``zen_polars_rival`` ->
    ``zen-polars-rival`` (PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``)."""
    return re.sub(r"[-_.]+", "-", module).lower()


def check_overrides(config: ZenConfig, registry: MaterializerRegistry) -> None:
    """Each ``[materializers]`` value must name a registered materializer (nothing imported)."""
    names = sorted(qualified_name(m) for m in registry.materializers)
    for type_key, name in config.materializers.items():
        if name in names:
            continue
        key_path = f"materializers.{type_key!r}"
        same_class = [n for n in names if n.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]]
        fix = (f"write its qualified name, {same_class[0]!r}" if same_class else
               f"write the qualified name of an installed one ({', '.join(names)})")
        raise ConfigError(
            f"{config.origin(key_path)}: [materializers] {type_key!r} = {name!r} names no "
            f"installed materializer. Fix: {fix}, as `zen plugins list --json` shows under "
            f"\"claims\", or install the plugin that provides it.",
            source=config.origin(key_path), key_path=key_path, value=name)


_type_cache: dict[str, Any] = {}


def import_type(path: str) -> Any:
    """The class recorded as ``module.QualName``; ``object`` if it cannot be imported."""
    typ = _type_cache.get(path)
    if typ is None:
        try:
            typ = import_object(path, what="type")
        except MaterializerNotFoundError:
            typ = object
        _type_cache[path] = typ
    return typ


@functools.cache
def _registry_for(pm: Any, overrides: tuple[tuple[str, str], ...],
                  trusted: tuple[str, ...]) -> MaterializerRegistry:
    return MaterializerRegistry.from_plugins(pm, dict(overrides), trusted)


def get_registry(overrides: Mapping[str, str] | None = None, pm: Any = None,
                 trusted_modules: Sequence[str] = ()) -> MaterializerRegistry:
    """The registry of this process's plugin manager (built once per override set)."""
    from zen_core.plugins import get_plugin_manager

    return _registry_for(pm or get_plugin_manager(), tuple(sorted((overrides or {}).items())),
                         tuple(trusted_modules))
