"""structlog set-up: quiet in library use, one readable line per step under the CLI.

The level comes from ``ZEN_LOG_LEVEL`` (default ``warning``); the CLI and the
quickstart use ``info``. structlog is imported and configured on the first
log call that passes the level, not before (a run that logs nothing never pays
for it: importing structlog with its console renderer is most of the first
call's cost), and only if the application has not configured it itself.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

__all__ = ["configure", "get_logger"]

_level: str | None = None  # chosen by configure(); None: from ZEN_LOG_LEVEL
_logger: Any = None
_ours = False  # whether the structlog configuration in force is ours to change


_numeric: int | None = None  # the level in force, once read


def configure(level: str | None = None) -> None:
    """Set zen_core's log level (``debug``, ``info``, ``warning`` ...)."""
    global _level, _logger, _numeric
    _level = level
    _logger = _numeric = None


def get_logger(name: str | None = None) -> Any:
    """zen_core's structlog logger; with ``name`` (say ``__name__``), bound to it.

    ``log.info("step.completed", step="train")`` logs an event with fields;
    ``log.info("loaded %s rows", n)`` formats like the standard library does.
    """
    return _LazyLogger(name)


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
           "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


def _threshold() -> int:
    """The level in force: configure()'s, else ``ZEN_LOG_LEVEL``'s when first asked."""
    global _numeric
    if _numeric is None:
        name = (_level or os.environ.get("ZEN_LOG_LEVEL") or "warning").upper()
        numeric = logging.getLevelName(name)
        _numeric = numeric if isinstance(numeric, int) else logging.WARNING
    return _numeric


class _LazyLogger:
    """Stands in for the structlog logger until an event passes zen_core's level. While
    structlog is not even imported, nobody can have configured it otherwise, so
    zen_core's own level decides alone; once it is, every call goes to structlog."""

    __slots__ = ("_name",)

    def __init__(self, name: str | None) -> None:
        self._name = name

    def _target(self) -> Any:
        base = _base()
        return base.bind(logger=self._name) if self._name else base

    def __getattr__(self, method: str) -> Any:
        level = _LEVELS.get(method)
        if level is not None and "structlog" not in sys.modules and level < _threshold():
            return _ignore
        return getattr(self._target(), method)

    def bind(self, **values: Any) -> Any:
        return self._target().bind(**values)


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


def _base() -> Any:
    global _logger, _ours
    if _logger is None:
        import structlog

        numeric = _threshold()
        if _ours or not structlog.is_configured():
            _ours = True
            structlog.configure(
                processors=[
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="%H:%M:%S"),
                    structlog.dev.ConsoleRenderer(colors=False),
                ],
                wrapper_class=structlog.make_filtering_bound_logger(numeric),
                logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),
                cache_logger_on_first_use=True,  # configure() makes a new proxy anyway
            )
        _logger = structlog.get_logger("zen_core")
    return _logger


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write, not at configuration:
    a test runner or click's CliRunner swaps the stream, then closes the old one."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
