"""Defining a pipeline prepares the process (zen_core.warmup), reading no configuration."""

from __future__ import annotations

import os
import subprocess
import sys

DEFINE_THEN_CALL = """
import sys
from zen_core import pipeline, step
assert "zen_core.execution.driver" not in sys.modules  # importing zen_core stays cheap

@step
def one() -> int:
    return 1

@pipeline
def p():
    one()

from zen_core import plugins
print("prepared", "zen_core.execution.driver" in sys.modules, plugins._current is not None)
try:
    p()
except Exception as exc:
    print("call", type(exc).__name__)
else:
    print("call", "ok")
"""


def run(tmp_path, config: str | None = None) -> list[str]:
    if config is not None:
        (tmp_path / "config.toml").write_text(config)
    env = {**os.environ, "ZEN_HOME": str(tmp_path)}
    env.pop("ZEN_STACK", None)
    out = subprocess.run([sys.executable, "-c", DEFINE_THEN_CALL], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_defining_a_pipeline_imports_the_run_machinery_and_finds_plugins(tmp_path):
    assert run(tmp_path) == ["prepared True True", "call ok"]


def test_a_broken_configuration_fails_the_call_not_the_definition(tmp_path):
    lines = run(tmp_path, 'active_stack = "nowhere"\n')
    assert lines == ["prepared True True", "call StackNotFoundError"]
