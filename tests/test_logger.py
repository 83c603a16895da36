"""zen_core's log lines go to the current stderr, whoever swapped it since."""

from __future__ import annotations

import io
import sys

from zen_core import logger


def test_log_lines_follow_a_swapped_and_closed_stderr(monkeypatch):
    logger.configure("info")
    try:
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        logger.get_logger().info("event.one")
        first.close()  # as a test runner or click's CliRunner does with its stream
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        logger.get_logger("my.module").info("event.two", answer=42)
        assert "event.two" in second.getvalue() and "answer=42" in second.getvalue()
        assert "[my.module]" in second.getvalue()
    finally:
        logger.configure(None)
