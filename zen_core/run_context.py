"""What one pipeline call or Client works with, built once and passed down.

A :class:`RunContext` holds the configuration read at that moment, the plugin
manager, the materializer registry (with the config's overrides) and the live
stack. Nothing below it reaches for process-wide state, so a test or an
embedding application chooses the plugins with :func:`zen_core.plugins.use`
and everything started inside sees them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from zen_core.config import ZenConfig
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.plugins import ZenPluginManager
    from zen_core.stack import Stack


@attrs.frozen
class RunContext:
    config: ZenConfig
    plugin_manager: ZenPluginManager
    stack: Stack
    registry: MaterializerRegistry

    @classmethod
    def create(cls, config: ZenConfig | None = None, *, stack_name: str | None = None,
               plugin_manager: ZenPluginManager | None = None) -> RunContext:
        """The context of the current configuration and process-wide plugin manager."""
        from zen_core.config import load_config
        from zen_core.materializers.registry import check_overrides, get_registry
        from zen_core.plugins import get_plugin_manager
        from zen_core.stack import get_stack

        config = config if config is not None else load_config()
        pm = plugin_manager or get_plugin_manager()
        stack = get_stack(config, stack_name, pm=pm)
        registry = get_registry(config.materializers, pm, config.trusted_modules)
        check_overrides(config, registry)
        return cls(config, pm, stack, registry)

