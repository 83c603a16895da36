"""The distributions: complete metadata, one release version, and what ``nox -s build`` makes."""

from __future__ import annotations

import importlib.util
import re
import shutil
import zipfile
from pathlib import Path

import pytest

import zen_core

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/zen-artifacts/zen-artifacts"


def _load_dists():
    """``tools/dists.py``, the body of ``nox -s build`` (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("zen_release_dists", ROOT / "tools" / "dists.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dists = _load_dists()
RELEASED = dists.projects()  # the core and each plugin
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/pyproject.toml"))


def _id(project: Path) -> str:
    return str(project.relative_to(ROOT)) if project != ROOT else "core"


def compatible_range(version: str) -> str:
    """The core releases that keep the API of ``version`` (semver; below 1.0 a minor breaks)."""
    major, minor, _ = (int(part) for part in version.split("."))
    return f">={version},<{major}.{minor + 1}" if major == 0 else f">={version},<{major + 1}"


def test_compatible_range():
    assert compatible_range("0.1.0") == ">=0.1.0,<0.2"
    assert compatible_range("0.3.2") == ">=0.3.2,<0.4"
    assert compatible_range("1.4.2") == ">=1.4.2,<2"


@pytest.mark.parametrize("project", RELEASED, ids=_id)
def test_metadata_is_complete(project):
    meta = dists.pyproject(project)
    about = meta["project"]
    assert (project / about["readme"]).is_file()
    assert about["license"] == "Apache-2.0" and about["license-files"] == ["LICENSE"]
    assert (project / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert about["requires-python"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in about["classifiers"]
    assert any(c.startswith("Development Status ::") for c in about["classifiers"])
    # PEP 639: the license expression replaces license classifiers (setuptools refuses both)
    assert not [c for c in about["classifiers"] if c.startswith("License ::")]
    assert meta["build-system"]["requires"] == ["setuptools>=77"]  # PEP 639 license fields

    urls = about["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Source", "Changelog"}
    assert urls["Homepage"] == REPOSITORY
    source = REPOSITORY if project == ROOT else f"{REPOSITORY}/tree/main/{_id(project)}"
    assert urls["Source"] == source
    for key in ("Documentation", "Changelog"):
        prefix = f"{REPOSITORY}/blob/main/"
        assert urls[key].startswith(prefix), urls[key]
        assert (ROOT / urls[key][len(prefix):]).is_file(), f"{key} names a missing file"


def _core_requirement(project: Path) -> str:
    found = [r for r in dists.pyproject(project)["project"]["dependencies"]
             if re.match(r"zen-artifacts\b", r)]
    assert len(found) == 1, f"{project}/pyproject.toml does not depend on zen-artifacts once"
    return found[0]


def test_every_plugin_is_released_with_this_core_and_needs_its_range():
    version = zen_core.__version__
    wanted = f"zen-artifacts{compatible_range(version)}"
    mismatches = []
    for project in [*RELEASED[1:], *EXAMPLES]:
        pyproject = project.relative_to(ROOT) / "pyproject.toml"
        about = dists.pyproject(project)["project"]
        if project not in EXAMPLES and about["version"] != version:  # examples are not released
            mismatches.append(f'{pyproject}: version = "{version}"')
        if _core_requirement(project) != wanted:
            mismatches.append(f'{pyproject}: "{wanted}" in dependencies')
    assert not mismatches, (f"zen_core.__version__ is {version}; write\n" + "\n".join(mismatches)
                            + "\n(see docs/versioning.md, 'Making a release')")


def test_the_core_version_is_read_from_zen_core():
    meta = dists.pyproject(ROOT)
    assert "version" not in meta["project"] and meta["project"]["dynamic"] == ["version"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zen_core.__version__"}


def test_nox_build_makes_a_checked_sdist_and_wheel_of_the_core_and_every_plugin(built_dists):
    assert built_dists.returncode == 0, built_dists.output
    version = zen_core.__version__
    expected = {dists.pyproject(p)["project"]["name"].replace("-", "_") for p in RELEASED}
    assert len(expected) == 10
    files = {f.name for f in built_dists.folder.iterdir()}
    assert files == {*(f"{name}-{version}-py3-none-any.whl" for name in expected),
                     *(f"{name}-{version}.tar.gz" for name in expected)}
    assert built_dists.output.count("PASSED") == 20, built_dists.output  # twine check --strict
    assert "20 distributions in" in built_dists.output and "problem" not in built_dists.output


def test_the_wheel_check_finds_what_does_not_belong(built_dists, tmp_path):
    good = built_dists.wheel("zen-pandas")
    assert dists.wheel_problems(good, ROOT / "plugins" / "pandas") == []
    bad = tmp_path / good.name
    dist_info = f"zen_pandas-{zen_core.__version__}.dist-info"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if item.filename == f"{dist_info}/licenses/LICENSE":
                continue
            data = src.read(item)
            if item.filename == f"{dist_info}/entry_points.txt":
                data = b"[zen_core]\npandas = zen_pandas.other\n"
            dst.writestr(item, data)
        for stray in ("zen_pandas/tests/test_frames.py", "zen_pandas/__pycache__/x.cpython-311.pyc",
                      "zen_pandas.egg-info/PKG-INFO", "benchmarks/bench_pandas.py",
                      "zen_pandas/conftest.py", "stray.py"):
            dst.writestr(stray, "")
    problems = "\n".join(dists.wheel_problems(bad, ROOT / "plugins" / "pandas"))
    for expected in ("zen_pandas/tests/test_frames.py does not belong",
                     "x.cpython-311.pyc does not belong", "zen_pandas/conftest.py does not belong",
                     "zen_pandas.egg-info/PKG-INFO is outside the packages",
                     "benchmarks/bench_pandas.py is outside the packages",
                     "stray.py is outside the packages",
                     "entry points [zen_core] are {'pandas': 'zen_pandas.other'}, expected "
                     "{'pandas': 'zen_pandas'}",
                     "licenses/LICENSE is missing"):
        assert expected in problems, problems


def test_the_wheel_check_wants_the_package_itself(built_dists, tmp_path):
    empty = tmp_path / built_dists.wheel("zen-numpy").name
    with zipfile.ZipFile(built_dists.wheel("zen-numpy")) as src, zipfile.ZipFile(empty, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith("zen_numpy/"):
                dst.writestr(item, src.read(item))
    assert f"{empty.name}: no zen_numpy/__init__.py" in dists.wheel_problems(
        empty, ROOT / "plugins" / "numpy")


def test_a_built_sdist_holds_the_license_and_readme(built_dists, tmp_path):
    sdist = next(built_dists.folder.glob("zen_torch-*.tar.gz"))
    shutil.unpack_archive(sdist, tmp_path)
    unpacked = next(tmp_path.iterdir())
    assert (unpacked / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()  # not a link
    assert not (unpacked / "LICENSE").is_symlink()
    assert (unpacked / "README.md").read_text() == (ROOT / "plugins/torch/README.md").read_text()
