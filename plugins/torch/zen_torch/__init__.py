"""zen-torch: torch tensors, state dicts and modules as zen_core artifacts.

Tensors and state dicts are stored with safetensors (no code runs on load);
what safetensors cannot express goes through ``torch.save`` and is read back
with ``torch.load(weights_only=True)``. Modules are stored as their class
path plus their state dict and rebuilt on load (see
:func:`register_module_factory`). :mod:`zen_torch.checkpoints` registers
checkpoint files written during training as versions of one artifact.

Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from zen_core.materializers import Materializer, qualified_name
from zen_core.plugins import hookimpl

__all__ = ["TorchConfig", "register_module_factory", "unregister_module_factory"]


@attrs.frozen
class TorchConfig:
    """The ``[plugins.torch]`` config table."""

    # Where loaded tensors, state dicts and modules go; tensors saved on a GPU
    # come back on the CPU unless this names another device (e.g. "cuda:0").
    map_location: str = "cpu"
    # {"package.module.ModuleClass" = "package.module:factory"}: how to build modules
    # whose class needs constructor arguments (a factory registered in code wins).
    module_factories: dict[str, str] = attrs.field(factory=dict)


def plugin_config() -> TorchConfig:
    """This process's ``[plugins.torch]`` table (read when called, like the rest of the config)."""
    from zen_core.config import load_config

    return load_config().plugin_section("torch", TorchConfig)


_factories: dict[str, Callable[[], Any]] = {}


def register_module_factory(module_class: type | str, factory: Callable[[], Any]) -> None:
    """Build ``module_class`` with ``factory()`` when an artifact of it is loaded.

    For modules whose ``__init__`` needs arguments. The factory returns a fresh
    module with the same architecture; the stored state dict is then loaded
    into it. Give the class or its ``"module.QualName"``.
    """
    if not callable(factory):
        raise TypeError(f"factory for {module_class!r} must be callable, got {factory!r}")
    _factories[_key(module_class)] = factory


def unregister_module_factory(module_class: type | str) -> None:
    _factories.pop(_key(module_class), None)


def _key(module_class: type | str) -> str:
    return module_class if isinstance(module_class, str) else qualified_name(module_class)


def _find_factory(cls: type) -> Callable[[], Any] | None:
    """A registered factory for ``cls``, else one named in ``[plugins.torch] module_factories``."""
    name = qualified_name(cls)
    factory = _factories.get(name)
    if factory is not None:
        return factory
    target = plugin_config().module_factories.get(name)
    if target is None:
        return None
    return _import_factory(name, target)


def _import_factory(class_path: str, target: str) -> Callable[[], Any]:
    import importlib

    from zen_core.errors import ConfigError

    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f"[plugins.torch] module_factories.{class_path!r} = {target!r} cannot be imported "
            f"({type(exc).__name__}: {exc}). Fix: name a function as \"package.module:function\" "
            f"that is importable where the artifact is loaded.",
            key_path=f"plugins.torch.module_factories.{class_path}", value=target,
        ) from exc
    if not callable(obj):
        raise ConfigError(
            f"[plugins.torch] module_factories.{class_path!r} = {target!r} is not callable. "
            f"Fix: name a function that returns a new module.",
            key_path=f"plugins.torch.module_factories.{class_path}", value=target,
        )
    return obj


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    # The module imports zen_core only; torch is imported when a tensor is saved or loaded.
    from zen_torch.materializers import (
        ModuleMaterializer,
        StateDictMaterializer,
        TensorMaterializer,
    )

    return [TensorMaterializer, StateDictMaterializer, ModuleMaterializer]


@hookimpl
def zen_config_sections() -> dict[str, type]:
    return {"torch": TorchConfig}
