"""Generated inputs: names, versions, parameters and configs.

Every input either works or is refused with a ``zen_core.errors`` exception —
never a raw exception — and a refused input writes nothing: no version, no
run, no data, no file. Example counts are kept small enough for CI (the whole
module runs in well under half a minute).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zen_core import load_artifact, pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import ZenError
from zen_core.stack import close_all

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# Any character, surrogates and controls included: names come from files, forms, CLIs.
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)
TRICKY_TEXT = st.one_of(
    ANY_TEXT,
    st.sampled_from(["", ".", "..", " 3", "3 ", "x/../y", "a\\b", "\x00", "\u202eevil", "0",
                     "007", "1.0", "9" * 19, "9" * 30, str(2**63 - 1), str(2**63), "::", "a:b",
                     "a\ud800b", "caf\u00e9", "\u200b", "\ufeffbom"]),
)


def _versions_of(name: str) -> list[str]:
    try:
        return [v.version for v in Client().list_artifact_versions(name)]
    except ZenError:
        return []


def _staged_bytes() -> int:
    store = Client().active_stack.artifact_store
    return sum(sum(store.list_files(e.uri).values()) for e in store.iter_staging())


@SETTINGS
@given(name=TRICKY_TEXT, version=st.one_of(st.none(), TRICKY_TEXT,
                                           st.integers(min_value=-2, max_value=2**70)))
def test_a_name_and_version_are_stored_as_given_or_refused_writing_nothing(name, version):
    before = _versions_of(name) if isinstance(name, str) else []
    try:
        av = save_artifact(b"payload", name, version=version)
    except ZenError:
        assert _versions_of(name) == before  # no version recorded
        assert _staged_bytes() == 0  # no data left half-written
        return
    assert av.name == name
    if version is not None:
        assert av.version == str(version)
    assert load_artifact(name, av.version) == b"payload"
    assert Client().get_artifact_version(name, av.version).id == av.id


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                        st.floats(allow_nan=True, allow_infinity=True), ANY_TEXT)
NOT_JSON = st.one_of(st.binary(max_size=4), st.sets(st.integers(), max_size=2),
                     st.builds(object), st.complex_numbers(max_magnitude=10))
PARAMETERS = st.recursive(
    st.one_of(JSON_LEAVES, NOT_JSON),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(st.one_of(ANY_TEXT, st.integers()), inner,
                                            max_size=3)),
    max_leaves=6)


@step(enable_cache=False)
def echo(x: Any) -> str:
    return json.dumps(x, sort_keys=True, allow_nan=False)


@pipeline(enable_cache=False)
def echoing(x: Any = None):
    echo(x=x)


@step(enable_cache=False)
def halve(x: float) -> float:
    return x / 2


@pipeline(enable_cache=False)
def halving(x: Any = 1.0):
    halve(x=x)


@SETTINGS
@given(value=PARAMETERS)
def test_a_parameter_runs_or_is_refused_before_anything_is_recorded(value):
    runs = len(Client().list_pipeline_runs(pipeline_name="echoing"))
    try:
        run = echoing(x=value)
    except ZenError:
        assert len(Client().list_pipeline_runs(pipeline_name="echoing")) == runs
        return
    assert run.status == "completed"
    stored = json.loads(run.steps["echo"].outputs["output"].load())
    assert stored == json.loads(json.dumps(value, sort_keys=True))  # what JSON keeps of it


@SETTINGS
@given(value=st.one_of(st.integers(min_value=-2**70, max_value=2**70),
                       st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                       ANY_TEXT, st.none()))
def test_a_float_parameter_takes_ints_and_finite_floats_only(value):
    try:
        run = halving(x=value)
    except ZenError:
        assert isinstance(value, bool | str | type(None)) or not math.isfinite(float(value))
        return
    assert not isinstance(value, bool) and math.isfinite(float(value))
    assert run.steps["halve"].outputs["output"].load() == float(value) / 2


SAFE_RELATIVE = st.from_regex(r"[a-z0-9_]{1,10}", fullmatch=True)
PATHS = st.one_of(SAFE_RELATIVE, st.sampled_from(["", "  ", "s3://bucket/x", "gs://b/x",
                                                  "ftp://host/x", "file://", "memory://x"]),
                  st.integers(), st.floats(), st.booleans(), st.lists(SAFE_RELATIVE, max_size=2),
                  st.dictionaries(SAFE_RELATIVE, SAFE_RELATIVE, max_size=2))
NUMBERS = st.one_of(st.floats(), st.integers(min_value=-2**70, max_value=2**70), st.booleans(),
                    SAFE_RELATIVE, st.lists(st.integers(), max_size=2))

# A valid config with one or two of its values replaced by generated ones, so each run
# checks a value of every kind the way it will be met: among otherwise good settings.
VALID = {"stacks": {"default": {"artifact_store": {"flavor": "local", "path": "store"},
                                "metadata_store": {"flavor": "sqlite", "path": "zen.db"}}}}
FIELDS = {
    ("stacks", "default", "artifact_store", "path"): PATHS,
    ("stacks", "default", "artifact_store", "flavor"): st.one_of(
        st.sampled_from(["local", "sqlite", "nope", "", "zen_core.artifact_stores.local:local"]),
        st.integers()),
    ("stacks", "default", "metadata_store", "path"): PATHS,
    ("stacks", "default", "metadata_store", "busy_timeout_s"): NUMBERS,
    ("stacks", "default", "orchestrator"): st.one_of(st.just({"flavor": "local"}), PATHS),
    ("allow_pickle",): st.one_of(st.booleans(), SAFE_RELATIVE),
    ("progress",): st.one_of(st.sampled_from(["auto", "on", "off"]), SAFE_RELATIVE,
                             st.integers()),
    ("run_lease_s",): NUMBERS,
    ("trusted_modules",): st.one_of(st.lists(st.one_of(SAFE_RELATIVE, ANY_TEXT), max_size=2),
                                    SAFE_RELATIVE),
}


def _with(changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    table = json.loads(json.dumps(VALID))
    for path, value in changes:
        where = table
        for key in path[:-1]:
            where = where[key]
        where[path[-1]] = value
    return table


CONFIGS = st.lists(st.sampled_from(sorted(FIELDS)).flatmap(
    lambda path: st.tuples(st.just(path), FIELDS[path])), min_size=1, max_size=2).map(_with)


@settings(SETTINGS, max_examples=150)
@given(table=CONFIGS)
def test_a_config_works_or_is_a_config_error_that_creates_nothing(table, monkeypatch):
    import tomlkit

    home = Path(tempfile.mkdtemp(prefix="zen-property-"))
    (home / "config.toml").write_text(tomlkit.dumps(table))
    cwd_before = set(os.listdir())
    close_all()
    with monkeypatch.context() as patched, _removed_after(home):
        patched.setenv("ZEN_HOME", str(home))
        try:
            save_artifact(b"configured", "probe")
        except ZenError:
            assert sorted(p.name for p in home.iterdir()) == ["config.toml"]  # nothing made
        else:
            assert load_artifact("probe") == b"configured"
        finally:
            close_all()
    assert set(os.listdir()) == cwd_before  # never a store or database under the cwd


@contextlib.contextmanager
def _removed_after(folder: Path):
    """Each example's home goes with it (hypothesis runs 150: they piled up in /tmp)."""
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _work_in_a_scratch_folder(tmp_path, monkeypatch):
    """Relative paths that escaped their config would land here, where the test looks."""
    monkeypatch.chdir(tmp_path)
