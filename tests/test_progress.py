"""The live progress line: when it draws, what it counts, and that steps' prints stay intact."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import textwrap

import pytest

from zen_core import pipeline, step
from zen_core.config import load_config
from zen_core.errors import ConfigError
from zen_core.progress import ENV, LARGE_TRANSFER, enabled


def flat(text: str) -> str:
    """What a person reads: colours dropped, lines rejoined where rich wrapped them."""
    return " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).split())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("configured", "env", "stream", "expected"), [
    ("auto", None, Terminal(), True),
    ("auto", None, io.StringIO(), False),  # a file or a pipe: the log lines as before
    ("off", None, Terminal(), False),
    ("on", None, io.StringIO(), True),
    ("on", "off", Terminal(), False),  # ZEN_PROGRESS wins
    ("off", "auto", Terminal(), True),
])
def test_when_progress_draws(monkeypatch, configured, env, stream, expected):
    if env is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, env)
    assert enabled(configured, stream) is expected


def test_progress_is_a_top_level_config_key(zen_home):
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text('progress = "off"\n')
    assert load_config().progress == "off"
    (zen_home / "config.toml").write_text('progress = "always"\n')
    with pytest.raises(ConfigError, match=r"config.toml: progress = 'always' is not a progress "
                                          r"mode \(accepted: auto, on, off\)"):
        load_config()


def test_a_wrong_zen_progress_is_refused_before_the_run_starts(monkeypatch):
    monkeypatch.setenv(ENV, "loud")

    @step
    def one() -> int:
        return 1

    @pipeline
    def quiet():
        one()

    with pytest.raises(ConfigError, match=r"ZEN_PROGRESS='loud' is not a progress mode "
                                          r"\(accepted: auto, on, off\). Fix: use auto"):
        quiet()
    from zen_core.client import Client

    assert Client().list_pipeline_runs() == []  # nothing was recorded


@step
def produce(n: int) -> bytes:
    return b"x" * n


@step
def consume(data: bytes) -> int:
    print(f"consumed {len(data)} bytes")
    return len(data)


@pipeline
def moving(n: int = 10):
    consume(produce(n))


def test_final_line_counts_steps_and_names_large_transfers(monkeypatch, capsys):
    monkeypatch.setenv(ENV, "on")
    moving(n=LARGE_TRANSFER)
    moving(n=LARGE_TRANSFER)  # both steps cached
    err = flat(capsys.readouterr().err)
    first, second = err.split("moving")[1:3]
    assert "2/2 steps: 2 done, 0 cached, 0 running, 0 failed" in first
    assert "wrote data.bin: 67.1 MB at" in first and "read data.bin: 67.1 MB at" in first
    assert "2/2 steps: 0 done, 2 cached, 0 running, 0 failed" in second
    assert "data.bin" not in second  # a cache hit moves nothing


def test_failed_step_is_counted(monkeypatch, capsys):
    monkeypatch.setenv(ENV, "on")

    @step
    def boom() -> int:
        raise ValueError("on purpose")

    @pipeline
    def failing():
        boom()

    with pytest.raises(ValueError, match="on purpose"):
        failing()
    assert "1/1 steps: 0 done, 0 cached, 0 running, 1 failed" in flat(capsys.readouterr().err)


def test_off_leaves_output_as_it_was(monkeypatch, capsys):
    monkeypatch.setenv(ENV, "off")
    moving()
    captured = capsys.readouterr()
    assert "steps:" not in captured.err and "consumed 10 bytes" in captured.out


def test_on_a_real_terminal_the_line_is_live_and_prints_stay_intact(tmp_path, zen_home):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent('''
        import time
        from zen_core import pipeline, step

        @step
        def slow(i: int) -> int:
            print(f"step {i} says hello")
            time.sleep(0.3)
            return i

        @pipeline
        def three():
            for i in range(3):
                slow(i, id=f"slow_{i}")

        three()
    '''))
    main, child = pty.openpty()
    env = {**os.environ, "ZEN_HOME": str(zen_home), "COLUMNS": "120", "TERM": "xterm-256color"}
    env.pop(ENV, None)  # auto: stderr is a terminal here
    proc = subprocess.Popen([sys.executable, str(script)], stdin=child, stdout=child,
                            stderr=child, env=env, cwd=tmp_path)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    os.close(main)
    screen = b"".join(chunks).decode("utf-8", "replace")
    for i in range(3):
        assert f"step {i} says hello\r\n" in screen  # each print on a line of its own
    assert "\x1b[2K" in screen  # redrawn in place (erase line), not line after line
    assert "3/3 steps: 3 done, 0 cached, 0 running, 0 failed" in flat(screen)
    assert flat(screen).count("steps:") >= 2  # drawn while it ran, not only at the end


def test_rich_and_ipython_are_not_imported_by_zen_core_or_a_run_without_progress():
    from zen_core.testing import modules_imported_at_startup

    assert modules_imported_at_startup(["rich", "IPython"],
                                       also_import=("zen_core.execution.driver",)) == []
