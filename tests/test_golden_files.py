"""MaterializerContract's golden-file check catches a stored format changed without a
VERSION bump (run as a user's plugin tests run: pytest in a fresh process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PLUGIN_TESTS = textwrap.dedent('''
    from pathlib import Path

    import pytest

    from zen_core.materializers import Materializer
    from zen_core.testing import MaterializerContract

    SEPARATOR = ","


    class PairMaterializer(Materializer):
        ASSOCIATED_TYPES = (tuple,)
        VERSION = "1"

        def save(self, data):
            with self.open("pair.txt", "w") as f:
                f.write(SEPARATOR.join(map(str, data)))

        def load(self, data_type):
            with self.open("pair.txt", "r") as f:
                return tuple(int(x) for x in f.read().replace(";", ",").split(","))


    class TestPair(MaterializerContract):
        materializer = PairMaterializer
        golden_dir = Path(__file__).parent / "golden"

        @pytest.fixture(params=[(1, 2), (30, 40)], ids=["small", "large"])
        def value(self, request):
            return request.param
''')


def _pytest(folder, update: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZEN_UPDATE_GOLDEN": "1" if update else "",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # a bare pytest starts faster
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-k", "golden", "test_pair.py"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_golden_files_pin_the_format_until_version_changes(tmp_path):
    tests = tmp_path / "test_pair.py"
    tests.write_text(PLUGIN_TESTS)

    missing = _pytest(tmp_path)
    assert missing.returncode == 1, missing.stdout
    assert "no golden file" in missing.stdout and "PairMaterializer VERSION 1" in missing.stdout
    assert "ZEN_UPDATE_GOLDEN=1 pytest test_pair.py::TestPair::" in missing.stdout

    assert _pytest(tmp_path, update=True).returncode == 0
    assert sorted(p.name for p in (tmp_path / "golden").iterdir()) == [
        "test_pair.PairMaterializer-v1-large.json", "test_pair.PairMaterializer-v1-small.json"]
    assert _pytest(tmp_path).returncode == 0  # the same format passes

    tests.write_text(PLUGIN_TESTS.replace('SEPARATOR = ","', 'SEPARATOR = ";"'))
    changed = _pytest(tmp_path)
    assert changed.returncode == 1
    assert "stores this value differently than its golden file" in changed.stdout
    assert "Fix: restore the format, or bump VERSION" in changed.stdout

    tests.write_text(PLUGIN_TESTS.replace('SEPARATOR = ","', 'SEPARATOR = ";"')
                     .replace('VERSION = "1"', 'VERSION = "2"'))
    bumped = _pytest(tmp_path)
    assert bumped.returncode == 1 and "PairMaterializer VERSION 2" in bumped.stdout


def test_without_golden_dir_the_check_is_not_collected(tmp_path):
    (tmp_path / "test_pair.py").write_text(PLUGIN_TESTS.replace(
        'golden_dir = Path(__file__).parent / "golden"', ""))
    result = _pytest(tmp_path)
    assert result.returncode == 5 and "deselected" in result.stdout  # -k golden: none left
