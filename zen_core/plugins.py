"""Plugin manager: built-ins first, then every entry point of group ``zen_core``.

Built-in components register through the same hooks as external plugins, the
way pytest registers its own. A plugin that fails to import is recorded with
its distribution and error, warned about once, and the others keep working.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import pluggy

from zen_core import hookspecs
from zen_core.components import KINDS, Component
from zen_core.errors import PluginLoadError
from zen_core.hookspecs import hookspec

__all__ = ["BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "KINDS", "PROVIDER_HOOKS", "Component",
           "PluginInfo", "ZenPluginManager", "collect", "get_plugin_manager", "hookimpl",
           "hookspec", "list_plugins", "new_plugin_manager", "use"]

hookimpl = pluggy.HookimplMarker("zen_core")

ENTRY_POINT_GROUP = "zen_core"

BUILTIN_PLUGINS = (
    "zen_core.materializers.builtin",
    "zen_core.materializers.path",
    "zen_core.artifact_stores.local",
    "zen_core.metadata_stores.sqlite",
    "zen_core.orchestrators.local",
)

# The provider hooks: materializers, then one per kind of stack component.
PROVIDER_HOOKS: tuple[str, ...] = ("zen_materializers", *(k.hook for k in KINDS))


@attrs.frozen
class PluginInfo:
    """What ``zen plugins list`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    provides: dict[str, list[str]] = attrs.field(factory=dict)
    error: str | None = None


class ZenPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers plugins that failed to load."""

    def __init__(self) -> None:
        super().__init__("zen_core")
        self.add_hookspecs(hookspecs)
        self.broken: dict[str, PluginLoadError] = {}
        self.distributions: dict[str, tuple[str, str]] = {}


def new_plugin_manager(*, entry_points: bool = True) -> ZenPluginManager:
    """Build a fresh manager: specs, built-ins, then each installed plugin."""
    pm = ZenPluginManager()
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        _load_entry_points(pm)
    pm.check_pending()  # a misspelled hook name fails here, naming the plugin
    return pm


def _load_entry_points(pm: ZenPluginManager) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.has_plugin(ep.name) or ep.name in pm.broken:
            continue
        dist = ep.dist.name if ep.dist else "unknown distribution"
        version = ep.dist.version if ep.dist else "?"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            try:
                pm.check_pending()  # a misspelled hook fails this plugin only
            except Exception:
                pm.unregister(plugin, name=ep.name)
                raise
        except Exception as exc:  # one broken plugin must not take the rest down
            err = PluginLoadError(
                f"plugin {ep.name!r} from distribution {dist} {version} failed to load: "
                f"{type(exc).__name__}: {exc}. Fix: reinstall or upgrade it "
                f"(pip install -U {dist}), or uninstall it; other plugins keep working.",
                plugin=ep.name,
                distribution=dist,
                cause=exc,
            )
            pm.broken[ep.name] = err
            warnings.warn(str(err), RuntimeWarning, stacklevel=2)
        else:
            pm.distributions[ep.name] = (dist, version)


_current: ZenPluginManager | None = None


def get_plugin_manager() -> ZenPluginManager:
    """The process-wide manager, built on first use (never at import)."""
    global _current
    if _current is None:
        _current = new_plugin_manager()
    return _current


@contextlib.contextmanager
def use(pm: ZenPluginManager) -> Iterator[ZenPluginManager]:
    """Make ``pm`` the process-wide manager inside the ``with`` block (tests, embedding).

    Every pipeline call, Client and CLI command started inside it works with
    ``pm``'s plugins only; the previous manager is back afterwards::

        with plugins.use(new_plugin_manager(entry_points=False)) as pm:
            pm.register(my_plugin, name="mine")
            my_pipeline()
    """
    global _current
    previous, _current = _current, pm
    try:
        yield pm
    finally:
        _current = previous


def collect(pm: pluggy.PluginManager, hook_name: str) -> list[tuple[str, Any]]:
    """All classes of one provider hook as ``(plugin_name, cls)`` pairs."""
    hook = getattr(pm.hook, hook_name)
    pairs = []
    for impl in hook.get_hookimpls():
        for cls in impl.function() or ():
            pairs.append((impl.plugin_name, cls))
    return pairs


def list_plugins(pm: ZenPluginManager | None = None) -> list[PluginInfo]:
    """Every registered plugin (built-ins first) and every one that failed to load."""
    pm = pm or get_plugin_manager()
    provides: dict[str, dict[str, list[str]]] = {}
    for hook_name in PROVIDER_HOOKS:
        for plugin_name, cls in collect(pm, hook_name):
            label = getattr(cls, "FLAVOR", None) or cls.__name__
            provides.setdefault(plugin_name, {}).setdefault(
                hook_name.removeprefix("zen_"), []).append(label)
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        provided = provides.get(name, {})
        if pm.hook.zen_register_commands.get_hookimpls() and any(
            impl.plugin_name == name for impl in pm.hook.zen_register_commands.get_hookimpls()
        ):
            provided = {**provided, "commands": ["zen CLI commands"]}
        if name in BUILTIN_PLUGINS:
            infos.append(PluginInfo(name, "zen-artifacts", _version("zen-artifacts"), True, provided))
        else:
            dist, version = pm.distributions.get(name, (None, None))
            infos.append(PluginInfo(name, dist, version, False, provided))
    for name, err in pm.broken.items():
        infos.append(
            PluginInfo(name, err.distribution, None, False, {}, error=str(err.cause) or repr(err.cause))
        )
    return infos


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
