"""`zen quickstart`: a first pipeline run with the user's own install, and where to look."""

from __future__ import annotations

import os
import shlex
import sys

from click.testing import CliRunner

from zen_core.cli import cli
from zen_core.quickstart import _zen_command


def _quickstart() -> str:
    result = CliRunner().invoke(cli, ["quickstart"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_quickstart_runs_then_comes_from_the_cache(zen_home):
    first = _quickstart()
    assert "training_pipeline" in first and ": completed" in first
    for name in ("create_data", "split_dataset", "train_model", "evaluate"):
        assert f"  {name}" in first
    assert "trained_model v1: {'weight': 1.98" in first
    assert "artifact test_error:1 (builtins.float)" in first  # the lineage tree
    second = _quickstart()
    assert second.count(" cached") == 4, second
    assert "test_error    v1:" in second  # a cache hit makes no new version


def test_the_commands_it_prints_work(zen_home):
    output = _quickstart()
    assert f"ZEN_HOME is {zen_home.resolve()}" in output
    commands = [line.strip() for line in output.splitlines() if line.startswith("  ZEN_HOME=")]
    assert len(commands) == 5, output
    for command in commands:
        env, zen, *args = shlex.split(command)
        assert env == f"ZEN_HOME={zen_home.resolve()}" and os.path.basename(zen) == "zen"
        result = CliRunner().invoke(cli, args, env={"ZEN_HOME": env.split("=", 1)[1]})
        assert result.exit_code == 0, f"{command}\n{result.output}"
    assert "training_pipeline" in CliRunner().invoke(cli, ["run", "list"]).output


def test_zen_is_named_as_the_users_shell_finds_it(monkeypatch, tmp_path):
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "zen").write_text("#!/bin/sh\n")
    (bin_dir / "zen").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.delenv("ZEN_HOME")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{elsewhere}")
    assert _zen_command(tmp_path) == "zen"
    monkeypatch.setenv("PATH", str(elsewhere))  # not activated: only the full path works
    assert _zen_command(tmp_path) == str(bin_dir / "zen")
    monkeypatch.setenv("ZEN_HOME", "somewhere")  # set for one command: say it again
    assert _zen_command(tmp_path / "my home") == f"ZEN_HOME='{tmp_path / 'my home'}' {bin_dir / 'zen'}"
