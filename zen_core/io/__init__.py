"""File I/O as ZenML code imports it (``from zen_core.io import fileio``)."""

from zen_core.io import fileio

__all__ = ["fileio"]
