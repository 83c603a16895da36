"""The README's path works as written: its shell blocks, in order, in a fresh virtualenv.

Conventions in ``README.md`` (HTML comments just before a fenced block):

* every ```bash block runs, line by line in one shell, after the blocks before it, in
  a copy of the checkout with a user's environment (no test virtualenv on PATH, the
  default ZEN_HOME in a temporary per-user data folder);
* ``<!-- save-as: NAME -->`` before a ```python block: the block is written to NAME at
  that point, as the text asks the reader to do;
* ``<!-- output -->`` before a ```text block: that text appears in what the previous
  bash block printed (whitespace-insensitive).

Two commands do not run literally; ``STAND_INS`` says what runs instead and why.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"(?:<!--\s*(?P<directive>[^>]*?)\s*-->[ \t]*\n)?^```(?P<lang>[\w-]*)[ \t]*\n"
                   r"(?P<code>.*?)^```[ \t]*$", re.S | re.M)
STAND_INS = {
    # The session's wheels and sdists were built by tools/dists.py, which is all that
    # `nox -s build` runs (test_packaging checks them); building them again costs minutes.
    "python3 -m pip install nox && python3 -m nox -s build":
        'mkdir -p dist && cp "$ZEN_README_DISTS"/* dist/',
    # This is the command that runs this very test (CI runs exactly it).
    "python3 -m pip install nox && python3 -m nox -s tests": ": the suite this test is part of",
}
MARK = "::readme-block-{}::"
IGNORED = shutil.ignore_patterns(".git", ".nox", ".venv", "dist", "build", "*.egg-info",
                                 "__pycache__", ".pytest_cache", ".ruff_cache", "test-artifacts")


def readme_blocks() -> list[tuple[str, str, str]]:
    """``(directive, lang, code)`` of each fenced block of the README, in order."""
    text = (ROOT / "README.md").read_text()
    return [((m["directive"] or "").strip(), m["lang"], m["code"]) for m in FENCE.finditer(text)]


def shell_lines() -> list[str]:
    return [line for _, lang, code in readme_blocks() if lang == "bash"
            for line in code.splitlines() if line.strip()]


def walk_script() -> tuple[str, list[str | None]]:
    """The README as one bash script, and the output each bash block must print."""
    script = ["set -euo pipefail"]
    expected: list[str | None] = []
    for directive, lang, code in readme_blocks():
        if lang == "bash":
            script.append(f"echo {MARK.format(len(expected))}")
            script += [f"echo {shlex.quote('$ ' + line)}\n{STAND_INS.get(line, line)}"
                       for line in code.splitlines() if line.strip()]
            expected.append(None)
        elif lang == "python" and directive.startswith("save-as:"):
            name = directive.removeprefix("save-as:").strip()
            script.append(f"cat > {name} <<'ZEN_README_EOF'\n{code}ZEN_README_EOF")
        elif lang == "text" and directive == "output":
            assert expected and expected[-1] is None, "an output block must follow a bash block"
            expected[-1] = code
    return "\n".join(script) + "\n", expected


def test_the_stand_ins_are_still_readme_commands():
    assert set(STAND_INS) <= set(shell_lines())


def test_the_user_guide_names_the_readme_install_commands():
    intro = (ROOT / "docs" / "index.md").read_text().split("\n## ", 1)[0]
    named = re.findall(r"`pip install ([^`]+)`", intro)
    assert named, "docs/index.md names no install command"
    installs = [set(part.split()[2:]) for line in shell_lines() for part in line.split("&&")
                if part.split()[:2] == ["pip", "install"]]
    # each is the README's command, or the README's with fewer things to install
    assert [n for n in named if not any(set(n.split()) <= args for args in installs)] == []


@pytest.mark.slow
def test_the_readme_works_top_to_bottom(built_dists, package_index, user_environ, tmp_path):
    assert built_dists.returncode == 0, built_dists.output
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, symlinks=True, ignore=IGNORED)
    script, expected = walk_script()
    (tmp_path / "readme.sh").write_text(script)
    env = {**user_environ(tmp_path / "user-data"), "ZEN_README_DISTS": str(built_dists.folder)}
    done = subprocess.run(["bash", str(tmp_path / "readme.sh")], cwd=checkout, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert done.returncode == 0, f"the README failed here:\n{done.stdout[-6000:]}"
    printed = re.split(r"::readme-block-\d+::\n", done.stdout)[1:]
    assert len(printed) == len(expected)
    for output, wanted in zip(printed, expected):
        if wanted is not None:
            assert " ".join(wanted.split()) in " ".join(output.split()), output
    everything = done.stdout
    assert "zen-pandas" in everything  # zen plugins list
    assert f"ZEN_HOME is {tmp_path / 'user-data' / 'zen'}" in everything  # the default home
    assert "training_pipeline" in everything and "weight:1" in everything
