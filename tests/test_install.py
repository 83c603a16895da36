"""Install like a user: the built wheels, nothing else of this checkout, in a fresh venv.

The core alone runs the quickstart; adding exactly `zen-pandas` stores a DataFrame as
parquet and shows in `zen plugins list`; removing it again leaves the core working and
names `zen-pandas` when the stored DataFrame is loaded. Third-party packages come from
the lock through pip's usual index and cache, installed before each wheel, so that
the wheel itself installs with ``--no-index``: from the wheel file and nothing else.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import zen_core

ROOT = Path(__file__).resolve().parents[1]

FRAME_PIPELINE = """
import json, os
import pandas as pd
from zen_core import pipeline, step

@step
def make_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]})

@pipeline
def frames():
    make_frame()

av = frames().steps["make_frame"].outputs["output"]
print(json.dumps({"name": av.name, "materializer": av.materializer,
                  "files": sorted(os.listdir(av.uri))}))
"""

LOAD_FRAME = """
import json, sys
from zen_core import load_artifact
try:
    load_artifact(sys.argv[1])
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"type": None}))
"""

WHERE_FROM = """
import importlib.metadata, json, sys, zen_core
dist = importlib.metadata.distribution("zen-artifacts")
print(json.dumps({"file": zen_core.__file__, "path": sys.path,
                  "direct_url": dist.read_text("direct_url.json")}))
"""


class UserVenv:
    """A fresh virtualenv (no system site-packages) driven like a user's shell."""

    def __init__(self, root: Path, environ: dict[str, str]) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.env = environ
        self.work = root.parent / "user-work"  # outside the checkout, so not on sys.path
        self.work.mkdir()
        # no pip inside: the test environment's pip installs into it (pip --python)
        venv.create(root, with_pip=False, symlinks=True)

    def run(self, *args: str, ok: bool = True) -> str:
        done = subprocess.run(args, cwd=self.work, env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        assert (done.returncode == 0) is ok, f"{' '.join(args)}:\n{done.stdout}"
        return done.stdout

    def zen(self, *args: str) -> str:
        return self.run(str(self.root / "bin" / "zen"), *args)

    def python_script(self, source: str, *args: str) -> dict:
        script = self.work / "script.py"
        script.write_text(textwrap.dedent(source))
        return json.loads(self.run(str(self.python), str(script), *args).splitlines()[-1])

    def pip(self, *args: str) -> str:
        return self.run(sys.executable, "-m", "pip", "--python", str(self.python), *args)

    def install_wheel(self, wheel: Path) -> None:
        """Its third-party requirements from the index (locked), then the wheel alone."""
        third_party = [r for r in _requirements(wheel) if not r.startswith("zen-")]
        if third_party:
            self.pip("install", *third_party)
        self.pip("install", "--no-index", str(wheel))


def _step_statuses(quickstart_output: str) -> dict[str, str]:
    steps = ("create_data", "split_dataset", "train_model", "evaluate")
    rows = [line.split() for line in quickstart_output.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2 and row[0] in steps}


def _requirements(wheel: Path) -> list[str]:
    """The wheel's own requirements (no extras), from its METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        metadata = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(zf.read(metadata).decode())
    return [r for r in message.get_all("Requires-Dist", []) if "extra ==" not in r]


@pytest.mark.slow
def test_core_alone_then_zen_pandas_then_without_it(built_dists, package_index, user_environ,
                                                     tmp_path):
    env = user_environ(tmp_path / "user-data", tmp_path / "venv")
    env["ZEN_HOME"] = str(tmp_path / "zen_home")
    user = UserVenv(tmp_path / "venv", env)

    # the core alone, from its wheel
    user.install_wheel(built_dists.wheel("zen-artifacts"))
    where = user.python_script(WHERE_FROM)
    assert Path(where["file"]).is_relative_to(user.root), where  # the installed wheel
    assert "editable" not in (where["direct_url"] or ""), where
    assert not [p for p in where["path"] if p and Path(p).is_relative_to(ROOT)], where
    assert "zen-pandas" not in user.pip("list")
    first = user.zen("quickstart")
    assert set(_step_statuses(first).values()) == {"completed"}, first
    assert len(_step_statuses(first)) == 4 and "test_error    v1:" in first, first
    assert "training_pipeline" in user.zen("run", "list")

    # adding exactly zen-pandas: DataFrames become parquet, and the plugin shows
    user.install_wheel(built_dists.wheel("zen-pandas"))
    assert [line.split()[0] for line in user.pip("list", "--format=freeze").splitlines()
            if line.startswith("zen-")] == [f"zen-artifacts=={zen_core.__version__}",
                                            f"zen-pandas=={zen_core.__version__}"]
    stored = user.python_script(FRAME_PIPELINE)
    assert stored["materializer"] == "zen_pandas.PandasMaterializer", stored
    assert [f for f in stored["files"] if f.endswith(".parquet")], stored
    listing = user.zen("plugins", "list")
    assert any(line.split()[:2] == ["pandas", "zen-pandas"] for line in listing.splitlines()), listing

    # removing it: the core keeps working, and the stored DataFrame names what to install
    user.pip("uninstall", "--yes", "zen-pandas")
    assert "zen-pandas" not in user.zen("plugins", "list")
    again = user.zen("quickstart")
    assert list(_step_statuses(again).values()) == ["cached"] * 4, again
    failure = user.python_script(LOAD_FRAME, stored["name"])
    assert failure["type"] == "MaterializerNotFoundError", failure
    assert "zen_pandas.PandasMaterializer" in failure["message"], failure
    assert "Fix: pip install zen-pandas" in failure["message"], failure
