"""Plugin manager: built-ins first, then every entry point of group ``zen_core``.

Built-in components register through the same hooks as external plugins, the
way pytest registers its own. A plugin that fails to import, or whose provider
hook raises, is recorded with its distribution, version and error, warned
about once and unregistered; the others keep working. An event hook that
raises is logged once per plugin and hook and changes nothing else.

zen_core calls hook implementations one by one (:func:`collect`,
:func:`notify`) rather than through pluggy's hook relay, so that a failure is
pinned on its plugin and each implementation receives only the arguments it
names: specs may gain keyword arguments without breaking older plugins.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import pluggy

from zen_core import hookspecs
from zen_core.components import KINDS, Component
from zen_core.errors import PluginLoadError
from zen_core.hookspecs import hookspec

__all__ = ["BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "EVENT_HOOKS", "KINDS", "PROVIDER_HOOKS",
           "Component", "PluginInfo", "ZenPluginManager", "call_each", "collect",
           "get_plugin_manager", "hookimpl", "hookspec", "list_plugins", "new_plugin_manager",
           "notify", "use"]

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
# Hooks that observe a run; one that raises is logged and changes nothing (see notify).
EVENT_HOOKS: tuple[str, ...] = ("zen_before_step_run", "zen_after_step_run",
                                "zen_after_artifact_saved", "zen_on_step_error")


@attrs.frozen
class PluginInfo:
    """What ``zen plugins list`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    provides: dict[str, list[str]] = attrs.field(factory=dict)
    error: str | None = None
    # materializer (qualified name, as [materializers] values name it) -> the types it claims
    claims: dict[str, list[str]] = attrs.field(factory=dict)


class ZenPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers plugins that failed, and where each came from."""

    SPECS: Any = hookspecs  # what a test may replace to try a spec that gained an argument

    def __init__(self) -> None:
        super().__init__("zen_core")
        self.add_hookspecs(self.SPECS)
        self.broken: dict[str, PluginLoadError] = {}
        self.distributions: dict[str, tuple[str, str]] = {}  # plugin name -> (dist, version)
        self.reported: set[tuple[str, str]] = set()  # (plugin, event hook) already logged

    def distribution(self, name: str) -> tuple[str | None, str | None]:
        """``(distribution, version)`` of a plugin; ``None`` for one registered by hand."""
        if name in BUILTIN_PLUGINS:
            return "zen-artifacts", _version("zen-artifacts")
        return self.distributions.get(name, (None, None))


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
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            try:
                pm.check_pending()  # a misspelled hook fails this plugin only
            except Exception:
                pm.unregister(plugin, name=ep.name)
                raise
        except Exception as exc:  # one broken plugin must not take the rest down
            _record_failure(pm, ep.name, dist, version, "failed to load", exc)
        else:
            pm.distributions[ep.name] = (dist, version)


def _record_failure(pm: ZenPluginManager, name: str, dist: str | None, version: str | None,
                    what: str, exc: Exception, hook: str | None = None) -> None:
    """Mark plugin ``name`` FAILED (``zen plugins list`` shows it) and warn once."""
    if dist:
        origin = f"from distribution {dist} {version or '(version unknown)'}"
        fix = f"reinstall or upgrade it (pip install -U {dist}), or uninstall it"
    else:
        origin, fix = "(registered without a distribution)", "correct it or unregister it"
    err = PluginLoadError(
        f"plugin {name!r} {origin} {what}: {type(exc).__name__}: {exc}. Fix: {fix}; "
        f"other plugins keep working.",
        plugin=name, distribution=dist, version=version, hook=hook, cause=exc,
    )
    pm.broken[name] = err
    warnings.warn(str(err), RuntimeWarning, stacklevel=4)


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


def _arguments(impl: pluggy.HookImpl, hook_name: str, kwargs: dict[str, Any]) -> list[Any]:
    """The caller's values for the arguments ``impl`` names (pluggy's ``argnames``)."""
    try:
        return [kwargs[name] for name in impl.argnames]
    except KeyError as exc:  # pluggy checked the name against the spec: the caller forgot it
        raise TypeError(f"{hook_name} was called without its argument {exc.args[0]!r}") from None


def _call(impl: pluggy.HookImpl, args: list[Any]) -> Any:
    if impl.hookwrapper or impl.wrapper:
        raise TypeError("zen_core calls hook implementations one by one: pluggy hook "
                        "wrappers (hookwrapper=True, wrapper=True) are not supported")
    return impl.function(*args)


def _materialize(result: Any) -> Any:
    """A list or dict of what a hook returned, so a lazy generator fails inside the ``try``."""
    if isinstance(result, Mapping):
        return dict(result)
    if isinstance(result, Iterable) and not isinstance(result, str | bytes):
        return list(result)
    return result


def call_each(pm: ZenPluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """``(plugin_name, result)`` of each implementation of a provider hook, in pluggy's
    registration order; a lazy result (a generator) is materialized into a list or dict.

    Each implementation is called in its own ``try`` with the keyword arguments it names.
    One that raises marks its plugin FAILED (warned once, shown by ``zen plugins list``)
    and unregisters it, so no hook of that plugin is called again; the rest carry on.
    """
    results = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        args = _arguments(impl, hook_name, kwargs)
        try:
            results.append((impl.plugin_name, _materialize(_call(impl, args))))
        except Exception as exc:
            _fail_plugin(pm, impl.plugin_name, hook_name, exc)
    return results


def collect(pm: ZenPluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """All classes of one provider hook as ``(plugin_name, cls)`` pairs (see :func:`call_each`)."""
    return [(name, cls) for name, classes in call_each(pm, hook_name, **kwargs)
            for cls in classes or ()]


def _fail_plugin(pm: ZenPluginManager, name: str, hook_name: str, exc: Exception) -> None:
    if name in pm.broken or not pm.has_plugin(name):  # another thread got there first
        return
    dist, version = pm.distribution(name)
    pm.unregister(name=name)
    _record_failure(pm, name, dist, version, f"failed in its hook {hook_name}", exc, hook_name)


def notify(pm: ZenPluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call an event hook: each implementation with the arguments it names, latest first.

    Event hooks observe; they never decide. One that raises is logged once per plugin and
    hook (naming both), later failures of that pair at debug level, and the run, its
    records and the remaining implementations go on as if it had returned.
    """
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    for impl in reversed(impls):  # pluggy's calling order
        args = _arguments(impl, hook_name, kwargs)
        try:
            _call(impl, args)
        except Exception as exc:
            from zen_core.logger import get_logger

            first = (impl.plugin_name, hook_name) not in pm.reported
            pm.reported.add((impl.plugin_name, hook_name))
            dist, version = pm.distribution(impl.plugin_name)
            (get_logger().error if first else get_logger().debug)(
                "plugin.hook_failed", plugin=impl.plugin_name, hook=hook_name,
                error=f"{type(exc).__name__}: {exc}", distribution=dist, version=version,
                fix=f"report it to the authors of {dist or 'the plugin'}; the run goes on "
                    f"without this hook",
                exc_info=exc if first else None)


def list_plugins(pm: ZenPluginManager | None = None) -> list[PluginInfo]:
    """Every registered plugin (built-ins first) and every one that failed.

    Asking each plugin what it provides may reveal a provider hook that raises:
    that plugin is then listed as failed, not registered.
    """
    from zen_core.materializers.base import qualified_name

    pm = pm or get_plugin_manager()
    provides: dict[str, dict[str, list[str]]] = {}
    claims: dict[str, dict[str, list[str]]] = {}
    for hook_name in PROVIDER_HOOKS:
        for plugin_name, cls in collect(pm, hook_name):
            label = getattr(cls, "FLAVOR", None) or cls.__name__
            provides.setdefault(plugin_name, {}).setdefault(
                hook_name.removeprefix("zen_"), []).append(label)
            if hook_name == "zen_materializers":
                claims.setdefault(plugin_name, {})[qualified_name(cls)] = [
                    t if isinstance(t, str) else qualified_name(t) for t in cls.ASSOCIATED_TYPES]
    for plugin_name, sections in call_each(pm, "zen_config_sections"):
        provides.setdefault(plugin_name, {})["config_sections"] = [
            f"plugins.{name}" for name in sections or ()]
    commands = {impl.plugin_name for impl in pm.hook.zen_register_commands.get_hookimpls()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        provided = provides.get(name, {})
        if name in commands:
            provided = {**provided, "commands": ["zen CLI commands"]}
        dist, version = pm.distribution(name)
        infos.append(PluginInfo(name, dist, version, name in BUILTIN_PLUGINS, provided,
                                claims=claims.get(name, {})))
    for name, err in pm.broken.items():
        where = f"{err.hook}: " if err.hook else ""
        infos.append(PluginInfo(name, err.distribution, err.version, name in BUILTIN_PLUGINS,
                                error=f"{where}{type(err.cause).__name__}: {err.cause}"))
    return infos


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
