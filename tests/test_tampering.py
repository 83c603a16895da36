"""A changed database row or store never decides what is read or imported.

Each test tampers with what zen_core recorded (as a hostile or broken tool
could) and checks that loading refuses with a clear error instead of reading
outside the store, loading unverified data or importing a module a row names.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from zen_core import save_artifact
from zen_core.client import Client
from zen_core.errors import (
    ArtifactDataMissingError,
    IntegrityError,
    MaterializerNotFoundError,
    StoreError,
)


def _db() -> sqlite3.Connection:
    client = Client()
    client.active_stack.metadata_store.flush()
    return sqlite3.connect(client.active_stack.metadata_store.config.path, isolation_level=None)


def _set(column: str, value: str, name: str) -> None:
    with _db() as db:
        db.execute(f"UPDATE artifact_versions SET {column} = ? WHERE name = ?", (value, name))
    from zen_core.stack import close_all

    close_all()  # the next Client reads the changed row


def test_a_row_pointing_outside_the_store_is_not_read(tmp_path):
    save_artifact(b"secret", "blob")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "data.bin").write_bytes(b"secret")
    _set("uri", str(outside), "blob")
    with pytest.raises(StoreError) as info:
        Client().get_artifact_version("blob").load()
    message = str(info.value)
    assert f"recorded at {str(outside)!r}, outside the active artifact store" in message
    assert "Fix: activate the stack" in message


@pytest.mark.parametrize("manifest", ["{}", '{"data.bin": [6, "0"]}'])
def test_an_emptied_or_forged_manifest_is_refused(manifest):
    save_artifact(b"secret", "blob")
    _set("files", manifest, "blob")
    with pytest.raises(IntegrityError, match="manifest that does not match its content hash"):
        Client().get_artifact_version("blob").load()


def test_a_file_outside_the_manifest_is_not_read_unverified():
    from zen_core.artifacts.data import load_data

    stored = save_artifact(b"payload", "blob")
    client = Client()
    with pytest.raises(IntegrityError, match=r"reads 'data.bin', which is not among the files"):
        load_data(client.active_stack.artifact_store, client.materializers, uri=stored.uri,
                  materializer=stored.materializer, type_path=stored.type, files={},
                  allow_pickle=False, label="'blob'")


def test_a_data_file_missing_inside_an_object_is_reported_as_missing_data():
    av = save_artifact({"a": 1}, "doc")
    os.remove(os.path.join(av.uri, "data.json"))
    with pytest.raises(ArtifactDataMissingError) as info:
        Client().get_artifact_version("doc").load()
    assert f"data.json is missing from {av.uri}" in str(info.value)
    assert "rerun the step that produced it" in str(info.value)


def test_a_lost_counter_row_heals_from_the_versions():
    for value in range(3):
        save_artifact(value, "counted")
    with _db() as db:
        db.execute("DELETE FROM artifact_names WHERE name = 'counted'")
    from zen_core.stack import close_all

    close_all()
    assert save_artifact(3, "counted").version == "4"
    assert save_artifact(4, "counted").version == "5"


# -- the database does not decide what gets imported ------------------------------------------

_PROBE = textwrap.dedent("""
    import json, sys
    from zen_core.client import Client
    try:
        Client().get_artifact_version("blob").load()
        outcome = "loaded"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"outcome": outcome, "imported": sorted(
        m for m in sys.argv[1:] if m in sys.modules)}))
""")


def _load_in_fresh_process(*watch: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", _PROBE, *watch], capture_output=True, text=True,
                         env=os.environ, cwd=os.getcwd())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_materializer_named_by_a_row_is_not_imported():
    save_artifact(b"x", "blob")
    _set("materializer", "this.s", "blob")  # importing `this` prints the Zen of Python
    result = _load_in_fresh_process("this")
    assert result["imported"] == []
    assert result["outcome"].startswith("MaterializerNotFoundError: cannot load artifact 'blob'")
    assert "materializer 'this.s' recorded with this artifact" in result["outcome"]
    assert "import this in this program before loading" in result["outcome"]
    assert "trusted_modules = ['this']" in result["outcome"]


def test_a_type_named_by_a_row_is_not_imported():
    save_artifact({"a": 1}, "blob")
    _set("type", "antigravity.geohash", "blob")  # importing it would open a web browser
    result = _load_in_fresh_process("antigravity", "webbrowser")
    assert result["imported"] == []
    assert "recorded type 'antigravity.geohash' is in package 'antigravity'" in result["outcome"]


def test_trusted_modules_allow_a_recorded_materializer_to_be_imported(zen_home):
    package = zen_home.parent / "work" / "team_mats"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent("""
        from zen_core.materializers import Materializer

        class TextBytes(Materializer):
            ASSOCIATED_TYPES = (bytes,)

            def save(self, data):
                with self.open("raw", "wb") as f:
                    f.write(data)

            def load(self, data_type):
                with self.open("raw", "rb") as f:
                    return f.read()
    """))
    sys.path.insert(0, str(package.parent))
    try:
        import team_mats

        save_artifact(b"data", "blob", materializer=team_mats.TextBytes)
    finally:
        sys.path.remove(str(package.parent))
        del sys.modules["team_mats"]
    env_path = os.pathsep.join([str(package.parent), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path
    try:
        refused = _load_in_fresh_process("team_mats")
        assert refused["imported"] == [] and "team_mats.TextBytes" in refused["outcome"]
        (zen_home / "config.toml").write_text('trusted_modules = ["team_mats"]\n')
        assert _load_in_fresh_process("team_mats") == {"outcome": "loaded",
                                                       "imported": ["team_mats"]}
    finally:
        os.environ["PYTHONPATH"] = env_path.split(os.pathsep, 1)[1]


def test_a_materializer_defined_in_the_program_is_used_without_importing():
    from zen_core.materializers import Materializer

    class Reversed(Materializer):
        ASSOCIATED_TYPES = (bytes,)

        def save(self, data):
            with self.open("r", "wb") as f:
                f.write(data[::-1])

        def load(self, data_type):
            with self.open("r", "rb") as f:
                return f.read()[::-1]

    save_artifact(b"abc", "rev", materializer=Reversed)
    assert Client().get_artifact_version("rev").load() == b"abc"


def test_a_class_from_main_gets_the_importable_module_advice():
    from zen_core.materializers import get_registry

    with pytest.raises(MaterializerNotFoundError,
                       match="define the materializer in an importable module"):
        get_registry().by_name("__main__.GoneMaterializer")


def test_trusted_modules_must_be_module_names(zen_home):
    from zen_core.config import load_config
    from zen_core.errors import ConfigError

    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text('trusted_modules = ["ok", "not a module"]\n')
    with pytest.raises(ConfigError, match=r"trusted_modules\[1\] = 'not a module' is not a module"):
        load_config()
    (zen_home / "config.toml").write_text('trusted_modules = "ok"\n')
    with pytest.raises(ConfigError, match="trusted_modules = 'ok' must be a list"):
        load_config()


def test_garbage_json_in_a_row_is_shown_not_crashed_on():
    from click.testing import CliRunner

    from zen_core.cli import cli

    save_artifact({"a": 1}, "doc")
    for column in ("metadata", "tags", "visualizations", "files"):
        _set(column, "{not json", "doc")
    result = CliRunner().invoke(cli, ["artifact", "show", "doc"])
    assert result.exit_code == 0, result.output
    assert "doc" in result.output
    assert "metadata.invalid_json" in result.output and "column=files" in result.output
    with pytest.raises(IntegrityError, match="has no manifest of its stored files"):
        Client().get_artifact_version("doc").load()
