"""Hook specifications: the whole contract between zen_core and its plugins.

Every hook starts with ``zen_``. A plugin implements any subset, each marked
with ``zen_core.plugins.hookimpl``; the core's own built-ins implement them
exactly like an external plugin would.

How zen_core calls them (this is the contract, not an implementation detail):

* **Arguments by name.** Each implementation receives only the arguments it
  names, so it may take fewer than its spec. Specs may gain keyword
  arguments over time; they are never renamed or removed.
* **Provider hooks** (``zen_materializers``, ``zen_artifact_stores``,
  ``zen_metadata_stores``, ``zen_orchestrators``, ``zen_config_sections``,
  ``zen_register_commands``) are called one implementation at a time. One
  that raises marks its plugin FAILED, like a plugin that fails to import:
  warned about once, shown by ``zen plugins list`` with its distribution,
  version and error, and unregistered, so none of its hooks is called
  again. Every other plugin keeps working.
* **Event hooks** (``zen_before_step_run``, ``zen_after_step_run``,
  ``zen_after_artifact_saved``, ``zen_on_step_error``) observe; they never
  decide. One that raises is logged once per plugin and hook (event
  ``plugin.hook_failed``, naming both) and the run, its records and the
  other implementations go on as if it had returned.
* Implementations are plain functions: a pluggy hook wrapper
  (``hookwrapper=True`` or ``wrapper=True``) fails its plugin as above.
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

    Called when a materializer registry is built (once per plugin manager and
    ``[materializers]`` table, in every process that runs steps) and by
    ``zen plugins list``. Return classes, never instances; name heavy types
    as strings in ``ASSOCIATED_TYPES`` so calling this imports nothing heavy.

    Each class lists the types it handles in ``ASSOCIATED_TYPES``. When two
    classes claim one type, resolving that type fails, naming both providers
    and how to choose (the ``[materializers]`` config table or
    ``output_materializers=``); other types are unaffected.
    """


@hookspec
def zen_artifact_stores() -> Sequence[type[ArtifactStore]]:
    """Return artifact store classes; each names its ``FLAVOR`` and ``Config``.

    Called whenever a stack is built (each pipeline call, Client and CLI
    command) and by ``zen plugins list``. A stack whose
    ``artifact_store.flavor`` equals a class's ``FLAVOR`` (or is written
    ``"<plugin name>:<FLAVOR>"``) is built by validating its TOML table into
    ``Config`` and calling ``cls(config)``. When two plugins provide one
    flavor, only stacks naming it bare fail, with both qualified spellings.
    """


@hookspec
def zen_metadata_stores() -> Sequence[type[MetadataStore]]:
    """Return metadata store classes; each names its ``FLAVOR`` and ``Config``.

    Called and selected exactly like :func:`zen_artifact_stores`, for the
    stack's ``metadata_store`` table.
    """


@hookspec
def zen_orchestrators() -> Sequence[type[Orchestrator]]:
    """Return orchestrator classes; each names its ``FLAVOR`` and ``Config``.

    Called and selected exactly like :func:`zen_artifact_stores`, for the
    stack's ``orchestrator`` table.
    """


@hookspec
def zen_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``zen`` command line.

    ``cli`` is the ``zen`` click group. Called once when the CLI starts (not
    when zen_core is used from Python); the return value is ignored. Import
    heavy modules inside the commands, not here, so ``zen --help`` stays
    fast. A command's ``ZenError`` is shown as one ``Error:`` line.
    """


@hookspec
def zen_config_sections() -> Mapping[str, type]:
    """Return ``{name: attrs_class}`` for this plugin's ``[plugins.<name>]`` table.

    Called whenever a stack is built while the config has ``[plugins.*]``
    tables, and by ``zen plugins list``. Each table is validated like the
    rest of the config (unknown keys and wrong types refused, naming file and
    key; ``ConfigPath`` fields resolved against the file that set them); a
    table no plugin claims is an error. Read it where it is needed with
    ``zen_core.config.load_config().plugin_section(name, attrs_class)``.
    """


# -- events -----------------------------------------------------------------


@hookspec
def zen_before_step_run(step_run: StepRun) -> None:
    """A step run is about to execute (not called for cache hits).

    ``step_run`` is its record, already stored with status ``running``.
    Called in the submitting process (whatever the orchestrator), from the
    thread driving the run, before the step is handed to the orchestrator's
    executor. The return value is ignored; raising changes nothing but a log
    line.
    """


@hookspec
def zen_after_step_run(step_run: StepRun) -> None:
    """A step run completed, or was a cache hit.

    ``step_run.status`` is ``completed`` or ``cached``; its outputs are
    recorded (each announced by :func:`zen_after_artifact_saved` first for a
    completed step). Called in the submitting process; the return value is
    ignored and raising changes nothing but a log line.
    """


@hookspec
def zen_after_artifact_saved(artifact_version: ArtifactVersion) -> None:
    """An artifact version became visible in the metadata store.

    Called for each output of a completed step and after each
    ``save_artifact`` / ``register_artifact`` call, in the process that
    recorded it; not for the reused outputs of a cache hit. The return value
    is ignored and raising changes nothing but a log line.
    """


@hookspec
def zen_on_step_error(step_run: StepRun, exception: BaseException) -> None:
    """A step run failed with ``exception``.

    ``step_run`` is already stored as ``failed`` with its traceback text in
    ``step_run.error``; called before the pipeline run is marked failed and
    the exception re-raised to the caller. Raising here does not replace the
    step's exception; it is logged and ignored.
    """
