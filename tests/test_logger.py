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


QUIET_RUN = """
import sys
from zen_core import pipeline, step

@step
def one() -> int:
    return 1

@pipeline
def p():
    one()

p()
print("structlog" in sys.modules)
"""


def test_a_run_that_logs_nothing_never_imports_structlog(tmp_path):
    # importing structlog and its console renderer was most of a process's first run
    import os
    import subprocess

    env = {**os.environ, "ZEN_HOME": str(tmp_path), "ZEN_LOG_LEVEL": "warning"}
    env.pop("ZEN_STACK", None)
    out = subprocess.run([sys.executable, "-c", QUIET_RUN], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"
    env["ZEN_LOG_LEVEL"] = "info"
    out = subprocess.run([sys.executable, "-c", QUIET_RUN], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "True" and "run.finished" in out.stderr


def test_below_the_level_nothing_is_written_and_above_it_everything_is(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logger.configure("error")
    try:
        log = logger.get_logger("quiet")
        log.warning("event.hidden")
        log.error("event.shown", n=1)
        assert "event.hidden" not in stream.getvalue()
        assert "event.shown" in stream.getvalue() and "n=1" in stream.getvalue()
    finally:
        logger.configure(None)
