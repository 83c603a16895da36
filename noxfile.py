"""Sessions: tests (core + every plugin, one venv), tests-core (no plugin), demo, lint, bench,
build, lock, and screenshots (by hand: regenerates the dashboard pictures in docs/img).

Every session installs third-party packages under ``test-constraints.txt``, the
checked-in lock, so a fresh machine gets the versions of the last green run.
``nox -s lock`` regenerates it (keeping locked versions that still fit);
``nox -s lock -- --upgrade`` moves everything to the newest releases.
Virtualenvs are reused between runs; pass ``-R`` to skip re-installing.
"""

from __future__ import annotations

import glob
import os
import shutil
import tomllib

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PLUGINS = sorted(os.path.dirname(p) for p in glob.glob("plugins/*/pyproject.toml"))
# the worked examples of docs/plugins.md, installed and tested like the plugins
EXAMPLES = sorted(os.path.dirname(p) for p in glob.glob("examples/*/pyproject.toml"))
LOCK = "test-constraints.txt"
TOOLS = ["ruff"]  # what the lint session installs, locked like the rest


def _install(session: nox.Session, *args: str) -> None:
    """``pip install`` under the lock (a missing lock is made first by ``nox -s lock``)."""
    if not os.path.exists(LOCK):
        session.error(f"{LOCK} is missing: run `nox -s lock` to create it")
    session.install("-c", LOCK, *args)


def _extras(project: str, wanted: tuple[str, ...] = ("test", "bench")) -> list[str]:
    """The optional-dependency groups of ``wanted`` that a project has."""
    with open(os.path.join(project, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"].get("optional-dependencies", {})
    return [name for name in wanted if name in extras]


def _with_extras(project: str, wanted: tuple[str, ...] = ("test", "bench")) -> str:
    """``path[test,bench]``: a project with those of its extras that exist."""
    extras = _extras(project, wanted)
    return project + (f"[{','.join(extras)}]" if extras else "")


def _distribution(project: str) -> str:
    with open(os.path.join(project, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["name"]


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
    """The whole suite: the core, every worked example and every plugin in one virtualenv."""
    _install_system_packages(session)
    _install(session, "-e", ".[test]",
             *[arg for p in [*EXAMPLES, *PLUGINS] for arg in ("-e", _with_extras(p, ("test",)))])
    session.run("pytest", "tests", *EXAMPLES, *PLUGINS, *session.posargs)


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """The core alone, with no plugin installed: the embedded default stack must suffice."""
    _install(session, "-e", ".[test]")
    session.run("pytest", "tests", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """``zen quickstart`` on the embedded default stack, in a ZEN_HOME kept under .nox/demo."""
    _install(session, "-e", ".")
    home = os.path.join(session.create_tmp(), "zen_home")
    session.run("zen", "quickstart", env={"ZEN_HOME": home, "ZEN_LOG_LEVEL": "info"})
    session.log(f"zen is installed in {session.bin}: `. {session.bin}/activate` to run the above")


@nox.session
def lint(session: nox.Session) -> None:
    _install(session, *TOOLS)
    session.run("ruff", "check", "zen_core", "tests", "plugins", "benchmarks", "examples", "tools")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark script; each prints its medians and ratios."""
    _install(session, "-e", ".", *[arg for p in PLUGINS for arg in ("-e", f"{p}[bench]")])
    scripts = session.posargs or sorted(glob.glob("benchmarks/bench_*.py"))
    summary = os.path.abspath(os.path.join(session.create_tmp(), "goals.txt"))
    if os.path.exists(summary):
        os.remove(summary)
    for script in scripts:
        session.run("python", script, env={"ZEN_BENCH_SUMMARY": summary})
    if os.path.exists(summary):
        with open(summary) as f:
            session.log("goals (zen_core vs the raw figure of the same run):\n" + f.read())


@nox.session
def screenshots(session: nox.Session) -> None:
    """Regenerate ``docs/img/dashboard-*.png`` from the dashboard's browser tests (run by hand)."""
    _install_system_packages(session)
    _install(session, "-e", ".[test]", "-e", "plugins/dashboard[test]", "-e", "plugins/pandas")
    session.run("pytest", "-q", "plugins/dashboard/tests/test_dashboard_browser.py",
                env={"ZEN_DASHBOARD_SCREENSHOTS": os.path.abspath("docs/img"), "CI": "true"})


@nox.session
def build(session: nox.Session) -> None:
    """An sdist and a wheel of the core and of each plugin in dist/, checked (tools/dists.py)."""
    _install(session, "build", "twine", "setuptools")  # the locked versions the tests build with
    session.run("python", "tools/dists.py", "--outdir", "dist", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Regenerate ``test-constraints.txt``: every third-party package the sessions install.

    Locked versions that still satisfy the projects are kept, so running it twice
    changes nothing; ``nox -s lock -- --upgrade`` (or ``--upgrade-package NAME``)
    moves versions on purpose. Run the full suite after either.
    """
    session.install("uv==0.13.9")
    projects = [".", *EXAMPLES, *PLUGINS]
    requirements = [_with_extras(os.path.join(".", p)) for p in projects]
    source = os.path.join(session.create_tmp(), "lock.in")
    with open(source, "w") as f:
        f.write("\n".join([*requirements, *TOOLS]) + "\n")
    local = [arg for p in projects for arg in ("--no-emit-package", _distribution(p))]
    session.run(
        "uv", "pip", "compile", source, "--output-file", LOCK, "--universal",
        "--python-version", "3.11", "--annotation-style", "line", *local,
        *session.posargs,
        env={"UV_CUSTOM_COMPILE_COMMAND": "nox -s lock"},
    )
