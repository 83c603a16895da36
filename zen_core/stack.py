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
from zen_core.config import ComponentSpec, StackSpec, ZenConfig, structure
from zen_core.errors import ConfigError, UnknownFlavorError
from zen_core.plugins import collect, get_plugin_manager

__all__ = ["Stack", "build_component", "check_plugin_tables", "close_all", "flavors", "get_stack"]

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


def flavors(kind_name: str, pm: Any = None) -> dict[str, tuple[str, type]]:
    """``{flavor: (plugin_name, class)}`` of one component kind."""
    found: dict[str, tuple[str, type]] = {}
    for plugin_name, cls in collect(pm or get_plugin_manager(), kind(kind_name).hook):
        if cls.FLAVOR in found and found[cls.FLAVOR][1] is not cls:
            other = found[cls.FLAVOR][0]
            raise ConfigError(
                f"{kind_name} flavor {cls.FLAVOR!r} is provided by two plugins: {other} and "
                f"{plugin_name}. Fix: uninstall one of them.", flavor=cls.FLAVOR)
        found[cls.FLAVOR] = (plugin_name, cls)
    return found


def build_component(spec: ComponentSpec, pm: Any = None) -> Any:
    """The configured component for one ``[stacks.X.<kind>]`` table (reused per process)."""
    global _live_pid
    if _live_pid != os.getpid():
        _live.clear()
        _live_pid = os.getpid()
    available = flavors(spec.kind, pm)
    if spec.flavor not in available:
        installed = ", ".join(sorted(available))
        provider = kind(spec.kind).known_plugins.get(spec.flavor)
        fix = (f"pip install {provider}" if provider
               else "install the plugin that provides it, or correct the spelling")
        raise UnknownFlavorError(
            f"{spec.source}: {spec.key_path}.flavor = {spec.flavor!r} is not installed "
            f"(installed {spec.kind} flavors: {installed}). Fix: {fix}.",
            flavor=spec.flavor, kind=spec.kind, provider=provider,
        )
    cls = available[spec.flavor][1]
    key = (cls, spec.freeze())  # another plugin manager may give the flavor another class
    if key in _live:
        return _live[key]
    config = structure(spec.options, cls.Config, source=spec.source, path=spec.key_path)
    component = cls(config)
    _live[key] = component
    return component


def get_stack(config: ZenConfig, name: str | None = None, pm: Any = None) -> Stack:
    """The live stack ``name`` (the active one by default) built with ``pm``'s plugins."""
    pm = pm or get_plugin_manager()
    check_plugin_tables(config, pm)
    spec = config.stack(name)
    return Stack(spec.name, {k.name: build_component(spec.parts[k.name], pm) for k in KINDS},
                 spec)


def check_plugin_tables(config: ZenConfig, pm: Any = None) -> None:
    """Every ``[plugins.NAME]`` table must belong to an installed plugin and validate."""
    if not config.plugins:
        return
    sections: dict[str, type] = {}
    for result in (pm or get_plugin_manager()).hook.zen_config_sections():
        sections.update(result or {})
    source = ", ".join(config.sources)
    for name, table in config.plugins.items():
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
