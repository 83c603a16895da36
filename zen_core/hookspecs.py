"""Hook specifications: the whole contract between zen_core and its plugins.

Every hook starts with ``zen_``. Provider hooks return component classes; the
core's own built-ins implement them exactly like an external plugin would.
Specs may gain keyword arguments over time (an implementation takes only the
arguments it names); they are never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from zen_core.artifact_stores.base import ArtifactStore
    from zen_core.materializers.base import Materializer
    from zen_core.metadata_stores.base import MetadataStore
    from zen_core.orchestrators.base import Orchestrator
    from zen_core.records import ArtifactVersion, StepRun

hookspec = pluggy.HookspecMarker("zen_core")


# -- component providers ----------------------------------------------------


@hookspec
def zen_materializers() -> Sequence[type[Materializer]]:
    """Return the materializer classes this plugin provides.

    Called once when a materializer registry is built. Each class lists the
    types it handles in ``ASSOCIATED_TYPES``. When two classes claim one type,
    resolving that type fails, naming both providers and how to choose (the
    ``[materializers]`` config table or ``output_materializers=``); other
    types are unaffected.
    """


@hookspec
def zen_artifact_stores() -> Sequence[type[ArtifactStore]]:
    """Return artifact store classes; each names its ``FLAVOR`` and ``Config``.

    A stack whose ``artifact_store.flavor`` equals a class's ``FLAVOR`` is
    built by validating its TOML table into ``Config`` and calling the class.
    """


@hookspec
def zen_metadata_stores() -> Sequence[type[MetadataStore]]:
    """Return metadata store classes; each names its ``FLAVOR`` and ``Config``."""


@hookspec
def zen_orchestrators() -> Sequence[type[Orchestrator]]:
    """Return orchestrator classes; each names its ``FLAVOR`` and ``Config``."""


@hookspec
def zen_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``zen`` command line (a click group).

    Called once when the CLI starts; import heavy modules inside the commands,
    not here, so ``zen --help`` stays fast.
    """


@hookspec
def zen_config_sections() -> Mapping[str, type]:
    """Return ``{name: attrs_class}`` for this plugin's ``[plugins.<name>]`` table.

    The table is validated like the rest of the config (unknown keys refused);
    read it with ``zen_core.config.load_config().plugin_section(name)``.
    """


# -- events -----------------------------------------------------------------


@hookspec
def zen_before_step_run(step_run: StepRun) -> None:
    """Called in the submitting process when a step run is about to execute (not when cached)."""


@hookspec
def zen_after_step_run(step_run: StepRun) -> None:
    """Called in the submitting process after a step run completed or was cached."""


@hookspec
def zen_after_artifact_saved(artifact_version: ArtifactVersion) -> None:
    """Called after an artifact version became visible in the metadata store."""


@hookspec
def zen_on_step_error(step_run: StepRun, exception: BaseException) -> None:
    """Called after a step run failed, before the run is marked failed."""

