"""Build and check the distributions of this repository: the core and each plugin.

    python tools/dists.py [--outdir dist]

For each project ``python -m build`` makes an sdist and, from that sdist, a wheel.
Builds run without isolation, with the setuptools of the calling environment, so
that ``nox -s build`` and the test suite (which both install it under the lock)
build with the same locked backend and need no index. Then every file must pass
``twine check --strict``, and every wheel must hold its package, its entry points
and the license, and nothing else from the checkout (no tests, caches, egg-info
leftovers or benchmarks). Exits non-zero, listing each problem, when a check fails.
"""

from __future__ import annotations

import argparse
import configparser
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LICENSE = ROOT / "LICENSE"
LICENSE_EXPRESSION = "Apache-2.0"
# Paths a wheel must not hold: they belong to the checkout, not to an installation.
FORBIDDEN_DIRS = {"tests", "test", "__pycache__", "benchmarks", "build"}
FORBIDDEN_FILES = ("test_*.py", "*_test.py", "conftest.py", "bench_*.py", "*.pyc", "*.pyo")


def projects() -> list[Path]:
    """The core, then each plugin: the projects a release distributes."""
    return [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]


def pyproject(project: Path) -> dict:
    with open(project / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def build(project: Path, outdir: Path) -> list[Path]:
    """``python -m build`` one project into ``outdir``; returns the sdist and the wheel."""
    with tempfile.TemporaryDirectory(prefix="zen-build-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp, str(project)],
            capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"building {project} failed:\n{done.stdout}{done.stderr}")
        built = sorted(Path(tmp).iterdir())
        return [Path(shutil.move(path, outdir / path.name)) for path in built]


def wheel_problems(wheel: Path, project: Path) -> list[str]:
    """What is wrong with a built wheel of ``project`` (an empty list when nothing is)."""
    meta = pyproject(project)
    packages = [p.rstrip("*") for p in meta["tool"]["setuptools"]["packages"]["find"]["include"]]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next((n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")),
                         None)
        if dist_info is None:
            return [f"{wheel.name}: no .dist-info folder"]
        problems = [f"{wheel.name}: no {package}/__init__.py" for package in packages
                    if f"{package}/__init__.py" not in names]
        for name in names:
            parts = name.split("/")
            if parts[0] != dist_info and parts[0] not in packages:
                problems.append(f"{wheel.name}: {name} is outside the packages {packages}")
            elif (FORBIDDEN_DIRS & set(parts[:-1]) or any(p.endswith(".egg-info") for p in parts)
                  or any(fnmatch.fnmatch(parts[-1], pattern) for pattern in FORBIDDEN_FILES)):
                problems.append(f"{wheel.name}: {name} does not belong in a wheel")
        problems += _entry_point_problems(wheel.name, meta["project"],
                                          _read(zf, f"{dist_info}/entry_points.txt"))
        license_text = _read(zf, f"{dist_info}/licenses/LICENSE")
        if license_text != LICENSE.read_text():
            problems.append(f"{wheel.name}: {dist_info}/licenses/LICENSE is missing or is "
                            f"not the repository's LICENSE")
        if f"License-Expression: {LICENSE_EXPRESSION}\n" not in _read(zf, f"{dist_info}/METADATA"):
            problems.append(f"{wheel.name}: METADATA lacks License-Expression: "
                            f"{LICENSE_EXPRESSION}")
    return problems


def _read(zf: zipfile.ZipFile, name: str) -> str:
    return zf.read(name).decode() if name in zf.namelist() else ""


def _entry_point_problems(wheel: str, project: dict, entry_points_txt: str) -> list[str]:
    wanted = {group: dict(eps) for group, eps in project.get("entry-points", {}).items()}
    if project.get("scripts"):
        wanted["console_scripts"] = dict(project["scripts"])
    found = configparser.ConfigParser(delimiters=("=",))
    found.optionxform = str  # entry point names are case-sensitive
    found.read_string(entry_points_txt)
    return [f"{wheel}: entry points [{group}] are {dict(found[group]) if group in found else {}},"
            f" expected {eps}" for group, eps in wanted.items()
            if group not in found or dict(found[group]) != eps]


def _clean(outdir: Path) -> None:
    """Remove the distributions of an earlier build, so that only this build's are checked."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in [*outdir.glob("*.whl"), *outdir.glob("*.tar.gz")]:
        old.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    outdir = parser.parse_args(argv).outdir.resolve()
    _clean(outdir)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        built = dict(zip(projects(), pool.map(lambda p: build(p, outdir), projects())))
    problems = []
    for project, files in built.items():
        wheels = [f for f in files if f.suffix == ".whl"]
        sdists = [f for f in files if f.name.endswith(".tar.gz")]
        print(f"built {pyproject(project)['project']['name']}: {', '.join(f.name for f in files)}")
        if len(wheels) != 1 or len(sdists) != 1:
            problems.append(f"{project}: expected one wheel and one sdist, got {files}")
        problems += [p for wheel in wheels for p in wheel_problems(wheel, project)]
    files = sorted(str(f) for fs in built.values() for f in fs)
    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files])
    if twine.returncode:
        problems.append("twine check --strict failed (see above)")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"{len(files)} distributions in {outdir}: "
          f"{'checked' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
