"""Sessions: tests (core + every plugin, one venv), tests-core (no plugin), demo, lint, bench.

Virtualenvs are reused between runs; pass ``-R`` to skip re-installing.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PLUGINS = sorted(os.path.dirname(p) for p in glob.glob("plugins/*/pyproject.toml"))
EXAMPLE_PLUGIN = "examples/zen_fraction"  # the worked example of docs/plugins.md


def _install_system_packages(session: nox.Session) -> None:
    """Debian packages the plugin tests need (Chromium for the dashboard's browser tests)."""
    wanted = [pkg for pkg, exe in (("chromium", "chromium"),) if not shutil.which(exe)]
    if not wanted or not any("dashboard" in p for p in PLUGINS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.warn(f"cannot install {wanted} (needs root and apt-get); browser tests will skip")
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted,
                external=True, env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: the core and every plugin installed into one virtualenv."""
    _install_system_packages(session)
    session.install("-e", ".[test]", "-e", EXAMPLE_PLUGIN,
                    *[arg for p in PLUGINS for arg in ("-e", f"{p}[test]")])
    session.run("pytest", "tests", EXAMPLE_PLUGIN, *PLUGINS, *session.posargs)


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """The core alone, with no plugin installed: the embedded default stack must suffice."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the quickstart on the embedded default stack (in a throwaway ZEN_HOME)."""
    session.install("-e", ".")
    home = os.path.join(session.create_tmp(), "zen_home")
    session.run("python", "examples/quickstart.py", env={"ZEN_HOME": home, "ZEN_LOG_LEVEL": "info"})


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "zen_core", "tests", "plugins", "benchmarks", "examples")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark script; each prints its medians and ratios."""
    session.install("-e", ".", *[arg for p in PLUGINS for arg in ("-e", f"{p}[bench]")])
    scripts = session.posargs or sorted(glob.glob("benchmarks/bench_*.py"))
    for script in scripts:
        session.run("python", script)
