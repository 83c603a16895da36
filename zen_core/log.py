"""structlog set-up: quiet in library use, one readable line per step under the CLI.

The level comes from ``ZEN_LOG_LEVEL`` (default ``warning``); the CLI and the
quickstart use ``info``. We configure structlog only if the application has
not, so a host application's logging set-up wins.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

_configured_level: int | None = None


def configure(level: str | None = None) -> None:
    """Set zen_core's log level (``debug``, ``info``, ``warning`` ...)."""
    import structlog

    global _configured_level
    name = (level or os.environ.get("ZEN_LOG_LEVEL") or "warning").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    if structlog.is_configured() and _configured_level is None:
        return  # the application configured structlog itself
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured_level = numeric


def get_logger() -> Any:
    import structlog

    if _configured_level is None:
        configure()
    return structlog.get_logger("zen_core")
