"""Configuration: ``ZEN_HOME/config.toml`` overridden by the nearest ``zen.toml``.

TOML is parsed into frozen attrs classes through one cattrs converter that
forbids unknown keys, so every mistake is reported with the file, the key
path, the bad value and what is accepted.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
import typing
from collections.abc import Mapping, MutableSequence, Sequence
from pathlib import Path
from typing import Any, NewType, get_args, get_origin

import attrs
import cattrs

from zen_core.components import KIND_NAMES, KINDS
from zen_core.errors import ConfigError, StackNotFoundError

__all__ = ["CONFIG_FILE", "PROJECT_FILE", "ComponentSpec", "ConfigPath", "StackSpec", "ZenConfig",
           "at_most", "converter", "default_stack", "find_project_file", "load_config",
           "mask_secrets", "positive", "secret", "structure", "zen_home"]

CONFIG_FILE = "config.toml"
PROJECT_FILE = "zen.toml"
COMPONENT_KINDS = KIND_NAMES
TOP_LEVEL_KEYS = ("active_stack", "allow_pickle", "trusted_modules", "progress", "run_lease_s",
                  "run_lease_renew_s", "stacks", "materializers", "plugins")
PROGRESS_MODES = ("auto", "on", "off")  # see zen_core.progress

ConfigPath = NewType("ConfigPath", str)
ConfigPath.__doc__ = """A file or folder in a ``Config`` class: ``path: ConfigPath``.

A relative value is resolved against the folder of the config file that sets it
(``ZEN_HOME`` for ``config.toml``, the project for ``zen.toml``) and ``~`` is
expanded; a URL (``scheme://...``) is kept as written. The value stays a ``str``.
"""

_SEQUENCES = (list, tuple, set, frozenset, Sequence, MutableSequence)


# TOML values are typed: a value of another type is a mistake to report, never to convert
# (cattrs would turn 42 into "42", a path relative to wherever the process happens to run).
def _strict(expected: str, check: typing.Callable[[Any], bool],
            convert: typing.Callable[[Any], Any] = lambda v: v) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if not check(value):
            raise TypeError(f"expected {expected}, got {type(value).__name__} {value!r}")
        return convert(value)

    return structure


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _new_converter() -> cattrs.Converter:
    """A converter that refuses unknown keys and values of the wrong type."""
    made = cattrs.Converter(forbid_extra_keys=True)
    made.register_structure_hook(str, _strict("a string", lambda v: isinstance(v, str)))
    made.register_structure_hook(bool, _strict("true or false", lambda v: isinstance(v, bool)))
    made.register_structure_hook(int, _strict(
        "a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)))
    made.register_structure_hook(float, _strict("a finite number", _finite, float))
    made.register_structure_hook(ConfigPath, _strict(
        "a non-empty path", lambda v: isinstance(v, str) and bool(v.strip())))
    return made


converter = _new_converter()


@converter.register_structure_hook_factory(lambda t: (get_origin(t) or t) in _SEQUENCES)
def _strict_sequence(t: Any) -> Any:
    """cattrs would turn ``"abc"`` into ``["a", "b", "c"]`` for a ``list[str]``: refuse it."""
    inner = _new_converter().get_structure_hook(t)

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, str | bytes | Mapping):
            raise TypeError(f"expected a list, got {type(value).__name__} {value!r}")
        return inner(value, t)

    return structure


def positive(instance: Any, attribute: Any, value: float | None) -> None:
    """An attrs validator for config fields: greater than 0 (``None`` passes, for optional
    fields)."""
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} = {value!r} must be greater than 0")


def at_most(limit: float) -> typing.Callable[[Any, Any, Any], None]:
    """An attrs validator for config fields: at most ``limit``, so a typo like ``1e30`` is
    reported here instead of overflowing where the value is used."""

    def check(instance: Any, attribute: Any, value: float | None) -> None:
        if value is not None and value > limit:
            raise ValueError(f"{attribute.name} = {value!r} must be at most {limit:g}")

    return check


def zen_home() -> Path:
    """``$ZEN_HOME``, else the per-user data directory (e.g. ``~/.local/share/zen``)."""
    env = os.environ.get("ZEN_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("zen", appauthor=False))


@attrs.frozen
class ComponentSpec:
    """One component of a stack as written in TOML: a flavor plus its options."""

    kind: str
    flavor: str
    options: Mapping[str, Any] = attrs.field(repr=lambda options: repr(mask_secrets(dict(options))))
    source: str  # the file that defined it, for error messages
    key_path: str  # e.g. "stacks.team.artifact_store"
    folder: Path | None = None  # relative ConfigPath values are relative to it


@attrs.frozen
class StackSpec:
    """A stack as configured: one :class:`ComponentSpec` per kind of component.

    Each kind is also an attribute (``spec.artifact_store`` ...).
    """

    name: str
    parts: Mapping[str, ComponentSpec]  # kind name -> spec, in the order of KINDS

    def __getattr__(self, name: str) -> ComponentSpec:
        if name in KIND_NAMES:
            return self.parts[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def components(self) -> tuple[ComponentSpec, ...]:
        return tuple(self.parts[k] for k in KIND_NAMES)


@attrs.frozen
class ZenConfig:
    """The merged configuration of one process at one moment."""

    home: Path
    active_stack: str
    allow_pickle: bool
    stacks: Mapping[str, StackSpec]
    materializers: Mapping[str, str]
    plugins: Mapping[str, Mapping[str, Any]]
    sources: tuple[str, ...]
    active_source: str  # where active_stack came from ("ZEN_STACK", a file, or "default")
    # the file that set each [materializers] and [plugins.NAME] key, by key path
    # ('materializers."fractions.Fraction"', 'plugins.sklearn.trusted_types')
    origins: Mapping[str, str] = attrs.field(factory=dict)
    progress: str = "auto"  # a run's live progress line (ZEN_PROGRESS overrides it)
    # Modules whose classes a stored record may name and zen_core may import to load it.
    trusted_modules: tuple[str, ...] = ()
    # A running run whose process has not renewed its lease for run_lease_s counts as crashed.
    run_lease_s: float = 120.0
    run_lease_renew_s: float = 30.0

    def origin(self, key_path: str) -> str:
        """The file that set ``key_path``, for messages (all files read when unknown)."""
        return self.origins.get(key_path) or ", ".join(self.sources) or "the built-in defaults"

    def stack(self, name: str | None = None) -> StackSpec:
        name = name or self.active_stack
        try:
            return self.stacks[name]
        except KeyError:
            raise StackNotFoundError(
                f"{self.active_source}: stack {name!r} is not defined "
                f"(defined: {', '.join(sorted(self.stacks))}). Fix: add a [stacks.{name}] "
                f"table to {self.home / CONFIG_FILE} or a zen.toml, or choose another with "
                f"`zen stack set NAME` / ZEN_STACK=NAME.",
                stack=name,
            ) from None

    def plugin_section(self, name: str, cls: type | None = None) -> Any:
        """This plugin's ``[plugins.<name>]`` table, validated into ``cls`` when given."""
        table = dict(self.plugins.get(name, {}))
        if cls is None:
            return table
        table = resolve_paths(table, cls, lambda key: Path(
            self.origin(f"plugins.{name}.{key}")).parent)
        return structure(table, cls, source=", ".join(self.sources), path=f"plugins.{name}")


def default_stack(home: Path) -> StackSpec:
    """The embedded default: local files, SQLite and the in-process orchestrator."""
    src = "built-in default stack"
    return StackSpec("default", {
        k.name: ComponentSpec(k.name, k.default_flavor, dict(k.default_options(home)), src,
                              f"stacks.default.{k.name}")
        for k in KINDS})


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest ``zen.toml`` in ``start`` (default: cwd) or any parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_config(cwd: Path | None = None) -> ZenConfig:
    """Read ``ZEN_HOME/config.toml`` and the nearest ``zen.toml``; merge key by key."""
    home = zen_home()
    files = [home / CONFIG_FILE]
    project = find_project_file(cwd)
    if project is not None:
        files.append(project)

    active: tuple[str, str] = ("default", "default")
    allow_pickle = True
    progress = "auto"
    trusted: tuple[str, ...] = ()
    lease = {"run_lease_s": 120.0, "run_lease_renew_s": 30.0}
    stacks: dict[str, StackSpec] = {"default": default_stack(home)}
    materializers: dict[str, str] = {}
    plugins: dict[str, dict[str, Any]] = {}
    origins: dict[str, str] = {}
    sources = []
    for path in files:
        data = _read_toml(path)
        if data is None:
            continue
        sources.append(str(path))
        src = str(path)
        _check_keys(data, TOP_LEVEL_KEYS, src, "")
        if "active_stack" in data:
            active = (_expect(data["active_stack"], str, src, "active_stack"), src)
        if "allow_pickle" in data:
            allow_pickle = _expect(data["allow_pickle"], bool, src, "allow_pickle")
        if "progress" in data:
            progress = _expect(data["progress"], str, src, "progress")
            if progress not in PROGRESS_MODES:
                raise ConfigError(f"{src}: progress = {progress!r} is not a progress mode "
                                  f"(accepted: {', '.join(PROGRESS_MODES)}).",
                                  source=src, key_path="progress")
        if "trusted_modules" in data:
            trusted = _module_names(data["trusted_modules"], src)
        for key in lease.keys() & data.keys():
            lease[key] = _seconds(data[key], src, key)
        for name, table in _expect(data.get("stacks", {}), dict, src, "stacks").items():
            stacks[name] = _parse_stack(name, table, src, path.parent, home, stacks.get(name))
        for type_path, mat_path in _expect(data.get("materializers", {}), dict, src,
                                           "materializers").items():
            key_path = f"materializers.{type_path!r}"
            materializers[type_path] = _expect(mat_path, str, src, key_path)
            origins[key_path] = src
        for name, table in _expect(data.get("plugins", {}), dict, src, "plugins").items():
            table = _expect(table, dict, src, f"plugins.{name}")
            plugins.setdefault(name, {}).update(table)
            origins.update({f"plugins.{name}.{key}": src for key in table})
    env_stack = os.environ.get("ZEN_STACK")
    if env_stack:
        active = (env_stack, "ZEN_STACK")
    if lease["run_lease_renew_s"] >= lease["run_lease_s"]:
        raise ConfigError(
            f"{', '.join(sources)}: run_lease_renew_s = {lease['run_lease_renew_s']} must be "
            f"shorter than run_lease_s = {lease['run_lease_s']}, or live runs would count as "
            f"crashed. Fix: renew a few times per lease, e.g. 30 and 120.",
            key_path="run_lease_renew_s")
    return ZenConfig(home, active[0], allow_pickle, stacks, materializers, plugins,
                     tuple(sources), active[1], origins=origins, progress=progress,
                     trusted_modules=trusted, **lease)


def _seconds(value: Any, src: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise ConfigError(f"{src}: {key} = {value!r} must be a number of seconds greater than 0.",
                          source=src, key_path=key)
    return float(value)


_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _module_names(value: Any, src: str) -> tuple[str, ...]:
    names = _expect(value, list, src, "trusted_modules")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _MODULE_NAME.fullmatch(name):
            raise ConfigError(
                f"{src}: trusted_modules[{i}] = {name!r} is not a module name. Fix: list "
                f"importable module or package names, e.g. trusted_modules = [\"my_project\"].",
                source=src, key_path=f"trusted_modules[{i}]")
    return tuple(names)


def structure(table: Mapping[str, Any], cls: type, *, source: str, path: str) -> Any:
    """Validate a TOML table into an attrs class; errors name file, key path and value."""
    try:
        return converter.structure(dict(table), cls)
    except Exception as exc:  # cattrs raises ClassValidationError / ForbiddenExtraKeysError
        problems = _describe_structure_error(exc, table, cls)
        fields = ", ".join(f.name for f in attrs.fields(cls))
        raise ConfigError(
            f"{source}: invalid [{path}]: {problems}. Accepted keys: {fields}.",
            source=source, key_path=path,
        ) from exc


def resolve_paths(table: Mapping[str, Any], cls: type,
                  folder: Path | None | typing.Callable[[str], Path | None]) -> dict[str, Any]:
    """``table`` with each relative value of a :data:`ConfigPath` field of ``cls`` resolved.

    ``folder`` is the folder of the file that set the table, or a function giving it for
    a key (a plugin's table merges keys from several files); ``None`` leaves values alone.
    """
    table = dict(table)
    for key in _config_path_fields(cls):
        value = table.get(key)
        base = folder(key) if callable(folder) else folder
        if isinstance(value, str) and "://" not in value and base is not None:
            table[key] = str((base / Path(value).expanduser()).resolve())
    return table


@functools.cache  # asked each time a stack is built
def _config_path_fields(cls: type) -> list[str]:
    if not attrs.has(cls):
        return []
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: cattrs reports it when structuring
        return []
    return [name for name, hint in hints.items()
            if hint is ConfigPath or ConfigPath in get_args(hint)]


def _describe_structure_error(exc: Exception, table: Mapping[str, Any], cls: type) -> str:
    parts, told = [], set()
    for leaf, key in _leaves(exc):
        if isinstance(leaf, cattrs.ForbiddenExtraKeysError):
            parts.append("unknown key(s) " + ", ".join(repr(k) for k in sorted(leaf.extra_fields)))
            continue
        if key in table:
            if key not in told:  # the first problem of a key, however many of its items fail
                told.add(key)
                parts.append(f"{key} = {table[key]!r} is invalid ({type(leaf).__name__}: {leaf})")
        elif key:
            parts.append(f"required key {key!r} is missing")
        else:
            parts.append(f"{type(leaf).__name__}: {leaf}")
    return "; ".join(parts) or f"{type(exc).__name__}: {exc}"


def _leaves(exc: BaseException, key: str | None = None) -> list[tuple[BaseException, str | None]]:
    """Each failure with the config key it belongs to (noted on it, or on the group that
    holds it: an item of a list carries only its index)."""
    note = next((n for n in getattr(exc, "__notes__", []) if hasattr(n, "name")), None)
    key = getattr(note, "name", None) or key
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub, key)]
    return [(exc, key)]


def _parse_stack(name: str, table: Any, src: str, base: Path, home: Path,
                 earlier: StackSpec | None) -> StackSpec:
    """A stack table; components it leaves out come from an earlier file, else the default."""
    path = f"stacks.{name}"
    table = _expect(table, dict, src, path)
    _check_keys(table, COMPONENT_KINDS, src, path + ".")
    defaults = earlier or default_stack(home)
    parts = {}
    for kind in COMPONENT_KINDS:
        if kind not in table:
            parts[kind] = defaults.parts[kind]
            continue
        comp = dict(_expect(table[kind], dict, src, f"{path}.{kind}"))
        flavor = comp.pop("flavor", None)
        if not isinstance(flavor, str) or not flavor:
            raise ConfigError(
                f"{src}: {path}.{kind}.flavor is missing or not a string (got {flavor!r}). "
                f"Fix: add flavor = \"...\" to the table, e.g. flavor = "
                f"\"{getattr(defaults, kind).flavor}\".",
                source=src, key_path=f"{path}.{kind}.flavor",
            )
        if isinstance(comp.get("path"), str) and not comp["path"].strip():
            raise ConfigError(
                f"{src}: {path}.{kind}.path = {comp['path']!r} is empty, which would mean the "
                f"folder of the config file itself. Fix: name a file, folder or URL (a "
                f"relative path is relative to {base}).",
                source=src, key_path=f"{path}.{kind}.path")
        if isinstance(comp.get("path"), str) and "://" not in comp["path"]:
            # every store's root: resolved here for any Config class (as ConfigPath is)
            comp["path"] = str((base / Path(comp["path"]).expanduser()).resolve())
        parts[kind] = ComponentSpec(kind, flavor, comp, src, f"{path}.{kind}", base)
    return StackSpec(name, parts)


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}). Fix: save the file as UTF-8, as "
                          f"TOML requires.", source=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Fix the syntax at that line.",
                          source=str(path)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: nested too deeply to read (arrays or tables inside each "
                          f"other hundreds of levels deep). Fix: flatten the structure.",
                          source=str(path)) from exc


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], src: str, prefix: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{src}: unknown key {prefix}{unknown[0]} = "
            f"{mask_secrets(data[unknown[0]], unknown[0])!r}. "
            f"Accepted keys here: {', '.join(allowed)}.",
            source=src, key_path=prefix + unknown[0],
        )


def _expect(value: Any, typ: type, src: str, key_path: str) -> Any:
    if not isinstance(value, typ):
        kind = {dict: "a table", str: "a string", bool: "true or false",
                list: "a list"}.get(typ, typ.__name__)
        shown = mask_secrets(value, key_path.rsplit(".", 1)[-1])
        raise ConfigError(f"{src}: {key_path} = {shown!r} must be {kind}.",
                          source=src, key_path=key_path)
    return value


def freeze(value: Any) -> Any:
    """A hashable form of a TOML value, so equal settings share one live component."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


_SECRET_WORDS = ("secret", "password", "token", "key", "credential")


def secret(**kwargs: Any) -> Any:
    """An attrs field whose value never shows in ``repr``/``str`` (credentials, tokens, URLs
    with a password): ``key: str | None = secret(default=None)``."""
    return attrs.field(repr=_masked_repr, **kwargs)


def _masked_repr(value: Any) -> str:
    if isinstance(value, str) and "://" in value:
        return repr(mask_secrets(value))  # only the password of a URL is secret
    return "'***'" if value else repr(value)


def mask_secrets(value: Any, key: str = "") -> Any:
    """Replace values of secret-looking keys (and passwords in URLs) with ``***``."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v, key) for v in value]
    lowered = key.lower()
    if value and any(word in lowered for word in _SECRET_WORDS) and lowered not in ("key_path",):
        if isinstance(value, bool):
            return value
        return "***"
    if isinstance(value, str) and "://" in value and "@" in value:
        return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", value)
    return value
