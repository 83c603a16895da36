"""Fixtures of the tests that install zen_core the way a user does: built wheels, fresh venvs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from zen_core.testing import service_unavailable

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "test-constraints.txt"


@attrs.frozen
class BuiltDists:
    """What ``tools/dists.py`` (the body of ``nox -s build``) built and said."""

    folder: Path
    returncode: int
    output: str

    def wheel(self, distribution: str) -> Path:
        found = sorted(self.folder.glob(f"{distribution.replace('-', '_')}-*.whl"))
        assert len(found) == 1, f"no single wheel of {distribution} was built:\n{self.output}"
        return found[0]


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory) -> BuiltDists:
    """The sdist and wheel of the core and of each plugin, built and checked once a session
    exactly as ``nox -s build`` does (the build tools come from the test extra, locked)."""
    folder = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "dists.py"), "--outdir", str(folder)],
                          capture_output=True, text=True)
    return BuiltDists(folder, done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def package_index(tmp_path_factory) -> None:
    """Skip (fail under CI=true) where pip cannot fetch third-party packages: installing
    like a user takes everything but this repository's wheels from the configured index
    or pip's cache."""
    probe = [sys.executable, "-m", "pip", "download", "--no-deps", "--constraint", str(LOCK),
             "--dest", str(tmp_path_factory.mktemp("probe")), "setuptools"]
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode:
        service_unavailable(f"pip cannot fetch packages from the configured index or cache "
                            f"({' '.join(probe[1:])}):\n{done.stdout[-1000:]}{done.stderr[-1000:]}")


class RecordingLogger:
    """Stands in for zen_core's structlog logger: keeps each event with its fields."""

    def __init__(self):
        self.events = []

    def __getattr__(self, level):
        return lambda event, **fields: self.events.append({"level": level, "event": event,
                                                           **fields})


@pytest.fixture
def logged_events(monkeypatch) -> list[dict]:
    """The events zen_core logs during the test (``{"level", "event", **fields}``), from
    code that looks ``zen_core.logger.get_logger`` up when it logs."""
    import zen_core.execution.driver  # noqa: F401 (imported now, it keeps the real logger)

    log = RecordingLogger()
    monkeypatch.setattr("zen_core.logger.get_logger", lambda name=None: log)
    return log.events


@pytest.fixture
def user_environ():
    """``user_environ(data_home, venv=None)``: the environment of a user's shell."""
    return _user_environ


def _user_environ(data_home: Path, venv: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: nothing of this test run (no PYTHONPATH, no ZEN_*
    settings, the test virtualenv off PATH), ``venv`` activated if given, and the per-user
    data folder (the default ZEN_HOME's parent) in ``data_home``.

    pip keeps the machine's configuration (its index, its cache) and installs third-party
    packages under the lock (PIP_CONSTRAINT), so they are the releases the test environment
    installed; it skips compiling bytecode, which only costs time here.
    """
    test_bin = os.path.join(sys.prefix, "bin")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != test_bin]
    if venv is not None:
        path.insert(0, str(venv / "bin"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZEN_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update(PATH=os.pathsep.join(path), XDG_DATA_HOME=str(data_home),
               PIP_CONSTRAINT=str(LOCK), PIP_NO_COMPILE="1")
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    return env
