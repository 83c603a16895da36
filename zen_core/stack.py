"""Turning a stack's config into live components, by flavor name.

Live components (connections, filesystems) are kept per process and reused
by every pipeline call and Client that names the same configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.components import KIND_NAMES, KINDS, kind
from zen_core.config import (
    ComponentSpec,
    StackSpec,
    ZenConfig,
    freeze,
    mask_secrets,
    resolve_paths,
    structure,
)
from zen_core.errors import ConfigError, FlavorConflictError, UnknownFlavorError
from zen_core.plugins import call_each, collect, get_plugin_manager

__all__ = ["Stack", "build_component", "check_location", "check_plugin_tables", "close_all",
           "component_class", "flavor_conflicts", "flavors", "get_stack", "providers"]

if TYPE_CHECKING:
    from zen_core.components import Component


@attrs.frozen
class Stack:
    """Live components, one per kind; each kind is an attribute (``stack.artifact_store`` ...)."""

    name: str
    components: Mapping[str, Component]  # kind name -> component, in the order of KINDS
    spec: StackSpec

    def __getattr__(self, name: str) -> Any:
        if name in KIND_NAMES:
            return self.components[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **{k: c.describe() for k, c in self.components.items()}}


_live: dict[tuple, Any] = {}
_live_pid = os.getpid()


def providers(kind_name: str, pm: Any = None) -> dict[str, list[tuple[str, type]]]:
    """``{flavor: [(plugin_name, class), ...]}`` of one kind; two providers are a conflict."""
    found: dict[str, list[tuple[str, type]]] = {}
    for plugin_name, cls in collect(pm or get_plugin_manager(), kind(kind_name).hook):
        pairs = found.setdefault(cls.FLAVOR, [])
        if all(existing is not cls for _, existing in pairs):  # one class re-exported: no conflict
            pairs.append((plugin_name, cls))
    return found


def flavors(kind_name: str, pm: Any = None) -> dict[str, tuple[str, type]]:
    """``{flavor: (plugin_name, class)}``: what a stack's ``flavor = "..."`` may select.

    A flavor that two plugins provide is listed only qualified, once per plugin
    (``"<plugin>:<flavor>"``); any flavor may also be written qualified.
    """
    found = {}
    for flavor, pairs in providers(kind_name, pm).items():
        if len(pairs) == 1:
            found[flavor] = pairs[0]
        else:
            found.update({f"{plugin}:{flavor}": (plugin, cls) for plugin, cls in pairs})
    return found


def flavor_conflicts(pm: Any = None) -> dict[str, dict[str, list[str]]]:
    """``{kind: {flavor: [qualified spellings]}}`` of flavors several plugins provide."""
    conflicts: dict[str, dict[str, list[str]]] = {}
    for k in KINDS:
        for flavor, pairs in providers(k.name, pm).items():
            if len(pairs) > 1:
                conflicts.setdefault(k.name, {})[flavor] = [f"{p}:{flavor}" for p, _ in pairs]
    return conflicts


def component_class(spec: ComponentSpec, pm: Any = None) -> type:
    """The class a component table selects: ``flavor`` bare, or ``"<plugin>:<flavor>"``."""
    plugin, _, flavor = spec.flavor.rpartition(":")
    found = providers(spec.kind, pm)
    pairs = [(p, cls) for p, cls in found.get(flavor, []) if not plugin or p == plugin]
    if len(pairs) == 1:
        return pairs[0][1]
    where = f"{spec.source}: {spec.key_path}.flavor = {spec.flavor!r}"
    if pairs:
        spellings = " or ".join(f'flavor = "{p}:{flavor}"' for p, _ in pairs)
        raise FlavorConflictError(
            f"{where} is provided by {len(pairs)} plugins: {', '.join(p for p, _ in pairs)}. "
            f"Fix: name the one to use, {spellings} (or uninstall the others).",
            flavor=spec.flavor, kind=spec.kind, plugins=[p for p, _ in pairs])
    installed = ", ".join(sorted(flavors(spec.kind, pm)))
    if plugin and flavor in found:
        raise UnknownFlavorError(
            f"{where}: plugin {plugin!r} provides no {spec.kind} flavor {flavor!r} (it comes "
            f"from {', '.join(p for p, _ in found[flavor])}). Fix: write one of: {installed}.",
            flavor=spec.flavor, kind=spec.kind, provider=None)
    provider = kind(spec.kind).known_plugins.get(flavor)
    fix = (f"pip install {provider}" if provider
           else "install the plugin that provides it, or correct the spelling")
    raise UnknownFlavorError(
        f"{where} is not installed (installed {spec.kind} flavors: {installed}). Fix: {fix}.",
        flavor=spec.flavor, kind=spec.kind, provider=provider,
    )


def build_component(spec: ComponentSpec, pm: Any = None) -> Any:
    """The configured component for one ``[stacks.X.<kind>]`` table (reused per process)."""
    global _live_pid
    if _live_pid != os.getpid():
        _live.clear()
        _live_pid = os.getpid()
    cls = component_class(spec, pm)
    check_location(spec, cls, pm)
    options = resolve_paths(spec.options, cls.Config, spec.folder)
    key = (cls, freeze(options))  # another plugin manager may give the flavor another class
    if key in _live:
        return _live[key]
    config = structure(options, cls.Config, source=spec.source, path=spec.key_path)
    component = cls(config)
    _live[key] = component
    return component


def check_location(spec: ComponentSpec, cls: type, pm: Any = None) -> None:
    """Refuse a ``path``/``url`` whose URL scheme the flavor does not declare, suggesting
    the installed flavors that do (a local store given ``s3://...`` would write to a
    folder called ``s3:``). A plain path is left to the flavor's own validation."""
    schemes = getattr(cls, "URL_SCHEMES", None)
    key = "path" if "path" in spec.options else "url"
    value = spec.options.get(key)
    if schemes is None or not isinstance(value, str) or "://" not in value:
        return
    scheme = value.split("://", 1)[0].lower()
    if scheme in schemes:
        return
    handlers = [(flavor, plugin) for flavor, (plugin, other) in flavors(spec.kind, pm).items()
                if scheme in (getattr(other, "URL_SCHEMES", None) or ())]
    provider = kind(spec.kind).known_plugins.get(scheme)
    if handlers:
        fix = " or ".join(f'flavor = "{flavor}" (plugin {plugin})' for flavor, plugin in handlers)
        fix = f"use {fix} for {scheme}:// URLs"
    elif provider:
        fix = f"pip install {provider} and use its flavor for {scheme}:// URLs"
    else:
        fix = f"write {_schemes(schemes)}, or pick the flavor for this location"
    raise ConfigError(
        f"{spec.source}: {spec.key_path}.{key} = {mask_secrets(value)!r} is a {scheme}:// URL, "
        f"which flavor {spec.flavor!r} cannot use (it takes {_schemes(schemes)}). Fix: {fix}.",
        source=spec.source, key_path=f"{spec.key_path}.{key}", value=mask_secrets(value))


def _schemes(schemes: tuple[str, ...]) -> str:
    return " or ".join("a plain path" if not s else f"{s}:// URLs" for s in schemes)


def get_stack(config: ZenConfig, name: str | None = None, pm: Any = None) -> Stack:
    """The live stack ``name`` (the active one by default) built with ``pm``'s plugins."""
    pm = pm or get_plugin_manager()
    check_plugin_tables(config, pm)
    spec = config.stack(name)
    return Stack(spec.name, {k.name: build_component(spec.parts[k.name], pm) for k in KINDS},
                 spec)


def check_plugin_tables(config: ZenConfig, pm: Any = None) -> None:
    """Every ``[plugins.NAME]`` table must belong to an installed plugin and validate.

    The table of a plugin that failed is left unchecked: ``zen plugins list`` shows why.
    """
    if not config.plugins:
        return
    pm = pm or get_plugin_manager()
    sections: dict[str, type] = {}
    for _, result in call_each(pm, "zen_config_sections"):
        sections.update(result or {})
    source = ", ".join(config.sources)
    for name, table in config.plugins.items():
        if name in pm.broken:
            continue
        if name not in sections:
            known = ", ".join(sorted(sections)) or "none"
            raise ConfigError(
                f"{source}: [plugins.{name}] belongs to no installed plugin (plugins with a "
                f"config table: {known}). Fix: install the plugin or remove the table.",
                key_path=f"plugins.{name}")
        structure(table, sections[name], source=source, path=f"plugins.{name}")


def close_all() -> None:
    """Close every live component of this process (tests use it between ZEN_HOMEs)."""
    for component in list(_live.values()):
        close = getattr(component, "close", None)
        if close:
            close()
    _live.clear()
