"""One exception tree for everything a user can cause.

Every message says what failed, the offending value and how to fix it; the
offending values are also kept as attributes for programs that catch them.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousIdError",
    "ArtifactDataMissingError",
    "ArtifactNameError",
    "ArtifactNotFoundError",
    "ArtifactVersionExistsError",
    "CompositionError",
    "ConfigError",
    "DownloadExistsError",
    "DownloadPathError",
    "FlavorConflictError",
    "IntegrityError",
    "MaterializerConflictError",
    "MaterializerError",
    "MaterializerInterfaceError",
    "MaterializerNotFoundError",
    "MetadataError",
    "MetadataStoreError",
    "OptionError",
    "ParameterError",
    "PipelineNotFoundError",
    "PluginLoadError",
    "QueryError",
    "RunNameTakenError",
    "RunNotFoundError",
    "StackNotFoundError",
    "StepContextError",
    "StepFailedError",
    "StepOutputError",
    "StepTypeError",
    "StoreError",
    "UnknownFlavorError",
    "UnsafeArtifactError",
    "ZenError",
]


class ZenError(Exception):
    """Base of all zen_core errors."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details
        for key, value in details.items():
            setattr(self, key, value)


class ConfigError(ZenError):
    """A config file, key or value is wrong."""


class UnknownFlavorError(ConfigError):
    """A stack names a flavor no installed plugin provides."""


class FlavorConflictError(ConfigError):
    """A stack names a bare flavor that several plugins provide (qualify it ``plugin:flavor``)."""


class StackNotFoundError(ConfigError):
    """The active stack name is not defined in the config."""


class PluginLoadError(ZenError):
    """A plugin failed to import or register, or one of its provider hooks raised.

    Attributes: ``plugin``, ``distribution``, ``version``, ``hook`` (``None`` when it
    failed to load) and ``cause``. The plugin is then left out; the others keep working.
    """


class CompositionError(ZenError):
    """A pipeline definition is invalid (bad parameter, input or name)."""


class ParameterError(CompositionError):
    """A step parameter is not JSON-serializable or has the wrong type."""


class OptionError(ZenError, TypeError):
    """An option given to a step or pipeline (decorator, ``configure``, ``with_options``)
    is not one it takes."""


class ArtifactNameError(ZenError):
    """An artifact (or run) name breaks the naming rules or uses an unknown placeholder."""


class StepTypeError(ZenError, TypeError):
    """A step input or output does not match its annotation."""


class MaterializerError(ZenError):
    """A materializer failed to save or load an artifact."""


class MaterializerNotFoundError(MaterializerError):
    """No materializer claims a type (and the pickle fallback is off)."""


class MaterializerConflictError(MaterializerError):
    """Two materializers claim the same type."""


class MaterializerInterfaceError(MaterializerError):
    """A ZenML-style materializer class is defined wrongly (its types, its artifact type)."""


class UnsafeArtifactError(MaterializerError):
    """Loading would unpickle, but pickle is not allowed by the config."""


class ArtifactNotFoundError(ZenError, KeyError):
    """No artifact version with that name/version/id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ArtifactVersionExistsError(ZenError):
    """A pinned version string is already taken for that name."""

    @classmethod
    def taken(cls, name: str, version: str, where: str = "") -> ArtifactVersionExistsError:
        return cls(
            f"{where}artifact {name!r} already has a version {version!r}. Fix: choose another "
            f"version string (ArtifactConfig(version=...) or version=), or leave it unset to "
            f"get the next number.", name=name, version=version)


class IntegrityError(ZenError):
    """Stored data does not match its recorded content hash."""


class ArtifactDataMissingError(ZenError):
    """The metadata exists but the data is gone from the store."""


class RunNotFoundError(ZenError, KeyError):
    """No pipeline run with that id or name."""

    def __str__(self) -> str:
        return str(self.args[0])


class PipelineNotFoundError(ZenError, KeyError):
    """No pipeline of that name has runs."""

    def __str__(self) -> str:
        return str(self.args[0])


class AmbiguousIdError(ZenError, KeyError):
    """An id prefix names several records (the message lists them); like ZenML's
    ``ZenKeyError``, it is a ``KeyError``."""

    def __str__(self) -> str:
        return str(self.args[0])


class QueryError(ZenError, ValueError):
    """A list query's argument is wrong: ``sort_by``, ``size``/``page``, a filter."""


class StepOutputError(ZenError, ValueError):
    """``StepRun.output`` on a step run with no output or several outputs."""


class DownloadPathError(ZenError, ValueError):
    """``download_files`` was given a path that is not a ``.zip`` file."""


class DownloadExistsError(ZenError, FileExistsError):
    """``download_files`` would overwrite a file without ``overwrite=True``."""


class RunNameTakenError(ZenError):
    """A pipeline run with that name exists already (the driver then picks another)."""


class StoreError(ZenError):
    """An artifact store operation failed (URI outside the store, unreachable store)."""


class MetadataStoreError(ZenError):
    """The metadata store cannot be reached, or its schema is newer than this zen_core."""


class MetadataError(ZenError, ValueError):
    """Metadata or tags cannot be recorded: a value that is not storable, or a missing,
    unknown or ambiguous target (a ``ValueError``, as ZenML raises)."""


class StepContextError(ZenError, RuntimeError):
    """The step context was asked for outside a running step, or for an output the step
    does not have (a ``RuntimeError``, as ZenML raises outside a step)."""


class StepFailedError(ZenError):
    """Raised for a failed step when the original exception cannot be re-raised."""
