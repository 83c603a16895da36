"""SPEC §5 on the default stack: integrity checks, crash safety, concurrent writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zen_core import pipeline, save_artifact, step
from zen_core.client import Client
from zen_core.errors import IntegrityError
from zen_core.testing import check_concurrent_pipelines


def test_corrupted_data_is_detected_on_load():
    av = save_artifact(list(range(1000)), "numbers")
    data_file = Path(av.uri) / "data.json"
    content = bytearray(data_file.read_bytes())
    content[10] = ord("9") if content[10] != ord("9") else ord("8")
    data_file.write_bytes(bytes(content))
    with pytest.raises(IntegrityError) as info:
        Client().get_artifact_version("numbers").load()
    message = str(info.value)
    assert "'numbers' version '1'" in message and str(data_file) in message


def test_a_corrupt_object_is_repaired_by_saving_the_same_data_again():
    """Defect 1: the damaged object is moved aside when a load finds it corrupt, so the
    advised repair stores a fresh copy instead of deduplicating onto the damage."""
    av = save_artifact(list(range(1000)), "numbers")
    data_file = Path(av.uri) / "data.json"
    content = bytearray(data_file.read_bytes())
    content[10] ^= 1
    data_file.write_bytes(bytes(content))
    with pytest.raises(IntegrityError, match=r"The damaged object was moved aside to \S+"
                                             r"/\.zen/corrupt/"):
        Client().get_artifact_version("numbers").load()
    again = save_artifact(list(range(1000)), "numbers")
    assert again.uri == av.uri and again.load() == list(range(1000))
    assert Client().get_artifact_version("numbers", "1").load() == list(range(1000))


def test_a_rerun_with_caching_repairs_a_corrupt_step_output():
    @step
    def produce() -> list:
        return list(range(100))

    @pipeline
    def repaired():
        produce()

    first = repaired().steps["produce"].outputs["output"]
    data_file = Path(first.uri) / "data.json"
    content = bytearray(data_file.read_bytes())
    content[5] ^= 1
    data_file.write_bytes(bytes(content))
    with pytest.raises(IntegrityError):
        first.load()
    rerun = repaired().steps["produce"]
    assert rerun.status == "completed" and rerun.cache_miss == "outputs missing"
    assert rerun.outputs["output"].load() == list(range(100))
    assert Client().get_artifact_version(first.id).load() == list(range(100))


def test_truncated_data_is_detected_on_load():
    av = save_artifact(b"x" * 10_000, "blob")
    (Path(av.uri) / "data.bin").write_bytes(b"x" * 100)
    with pytest.raises(IntegrityError, match="100 bytes"):
        Client().get_artifact_version("blob").load()


CRASH_SCRIPT = textwrap.dedent('''
    import os, sys, time
    from zen_core import step, pipeline
    from zen_core.materializers import Materializer

    class Big:
        pass

    class SlowBigMaterializer(Materializer):
        ASSOCIATED_TYPES = (Big,)

        def save(self, data):
            with self.open("part.bin", "wb") as f:
                for i in range(64):
                    f.write(b"z" * (1 << 20))
                    if i == 32:
                        f.flush()
                        open(sys.argv[1], "w").write("half")  # tell the test we are mid-write
                        time.sleep(60)

        def load(self, data_type):
            return Big()

    from zen_core.plugins import get_plugin_manager, hookimpl

    class Plugin:
        @hookimpl
        def zen_materializers(self):
            return [SlowBigMaterializer]

    get_plugin_manager().register(Plugin(), name="slow")

    @step
    def first() -> int:
        return 1

    @step
    def big(x: int) -> Big:
        return Big()

    @pipeline
    def crashing():
        big(first())

    crashing()
''')


def test_sigkill_mid_write_leaves_nothing_visible_and_next_run_proceeds(tmp_path):
    marker = tmp_path / "marker"
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(marker)], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the pipeline process ended before the write started"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client = Client()
    # completions are group-committed within milliseconds; kill once the first is recorded
    while not any(s.name == "crashing::first::output" for s in client.list_artifacts()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    names = {s.name for s in client.list_artifacts()}
    assert names == {"crashing::first::output"}  # the half-written output is not visible
    store = client.active_stack.artifact_store
    assert [e.pid for e in store.iter_staging()] == [proc.pid]  # the half write is in staging

    @step
    def first() -> int:
        return 1

    @step
    def big(x: int) -> bytes:
        return b"done"

    @pipeline
    def crashing():
        big(first())

    run = crashing()
    assert run.status == "completed"
    assert run.steps["first"].status == "cached"  # what was complete is reused
    assert run.steps["big"].outputs["output"].load() == b"done"

    # the killed run is not left running: the next run start found its owner dead
    killed = [r for r in client.list_pipeline_runs(pipeline_name="crashing") if r.id != run.id]
    assert [r.status for r in killed] == ["failed"]
    assert killed[0].error.startswith("crashed: its process (pid ")
    assert killed[0].steps["big"].status == "failed"

    report = client.prune_artifacts()
    assert len(report.staging) == 1 and report.bytes_freed >= 33 * (1 << 20)
    assert list(store.iter_staging()) == []


SLEEPY_SCRIPT = textwrap.dedent('''
    import sys, time
    from zen_core import step, pipeline

    @step(enable_cache=False)
    def slow() -> int:
        open(sys.argv[1], "w").write("started")
        time.sleep(float(sys.argv[2]))
        return 1

    @pipeline(enable_cache=False)
    def sleepy():
        slow()

    sleepy()
''')


def _start_sleepy(tmp_path, seconds: float) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / f"started-{seconds}"
    proc = subprocess.Popen([sys.executable, "-c", SLEEPY_SCRIPT, str(marker), str(seconds)],
                            env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc, marker


def test_a_run_killed_by_sigkill_is_marked_failed_by_zen_run_list(tmp_path):
    from click.testing import CliRunner

    from zen_core.cli import cli

    proc, _ = _start_sleepy(tmp_path, 60)
    deadline = time.monotonic() + 60
    while True:  # the step's record is group-committed within milliseconds: kill after it
        runs = Client().list_pipeline_runs(pipeline_name="sleepy")
        if runs and "slow" in runs[0].steps:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    result = CliRunner().invoke(cli, ["run", "list", "--json"])
    assert result.exit_code == 0, result.output
    [run] = Client().list_pipeline_runs(pipeline_name="sleepy")
    assert run.status == "failed" and f"pid {proc.pid}" in run.error
    assert run.steps["slow"].status == "failed"


def test_a_long_step_keeps_its_run_alive_by_renewing_the_lease(tmp_path, zen_home):
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text("run_lease_s = 1.0\nrun_lease_renew_s = 0.2\n")
    proc, _ = _start_sleepy(tmp_path, 3)
    client = Client()
    time.sleep(1.5)  # past the first lease: only renewals keep the run alive
    assert client.reap_crashed_runs() == []
    assert proc.wait(timeout=60) == 0
    [run] = client.list_pipeline_runs(pipeline_name="sleepy")
    assert run.status == "completed"


def test_lease_settings_are_validated(zen_home):
    from zen_core.config import load_config
    from zen_core.errors import ConfigError

    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text("run_lease_s = 10\nrun_lease_renew_s = 30\n")
    with pytest.raises(ConfigError, match="run_lease_renew_s = 30.0 must be shorter than "
                                          "run_lease_s = 10.0"):
        load_config()
    (zen_home / "config.toml").write_text("run_lease_s = -5\n")
    with pytest.raises(ConfigError, match="run_lease_s = -5 must be a number of seconds"):
        load_config()


@pytest.mark.slow
def test_concurrent_processes_get_unique_gap_free_versions(zen_home):
    check_concurrent_pipelines({**os.environ, "ZEN_HOME": str(zen_home)}, processes=8, runs=5)


def test_large_buffers_are_hashed_and_verified_while_streaming(tmp_path):
    """Buffers over 16 MiB are hashed on a helper thread; the result must be the same."""
    from zen_core.artifacts.data import load_data, save_data
    from zen_core.hashing import hash_stream
    from zen_core.materializers import Materializer
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.testing import local_store

    class Buffer(Materializer):
        ASSOCIATED_TYPES = (bytearray,)

        def save(self, data):
            with self.open("data.bin", "wb") as f:
                f.write(memoryview(data))

        def load(self, data_type):
            with self.open("data.bin", "rb") as f:
                out = bytearray(self._expected["data.bin"][0])
                f.readinto(out)
            return out

    store = local_store(tmp_path / "store")
    payload = bytearray(os.urandom(1 << 20) * 40)
    stored = save_data(store, Buffer, payload, allow_pickle=False, label="'big'")
    path = Path(stored.uri) / "data.bin"
    with open(path, "rb") as f:
        assert stored.files["data.bin"] == list(hash_stream(f))
    kwargs = dict(uri=stored.uri, materializer=stored.materializer, type_path=None,
                  files=stored.files, allow_pickle=False, label="'big'", data_type=bytearray)
    registry = MaterializerRegistry([("t", Buffer)])
    assert load_data(store, registry, **kwargs) == payload
    with open(path, "r+b") as f:
        f.seek(len(payload) - 1)
        f.write(bytes([payload[-1] ^ 1]))
    with pytest.raises(IntegrityError, match="'big'"):
        load_data(store, registry, **kwargs)


def test_a_forked_child_never_commits_its_parents_open_group(zen_home):
    """Group commit holds a transaction open for a moment; a fork must not commit it."""
    from zen_core.metadata_stores.base import NewArtifactVersion
    from zen_core.testing import stored_data

    store = Client().active_stack.metadata_store
    with store.transaction(group=True):  # stays open for the group-commit window
        store.create_artifact_version(NewArtifactVersion("grouped", stored_data()))
    pid = os.fork()
    if pid == 0:
        store.flush()  # what atexit does in the child
        os._exit(0)
    os.waitpid(pid, 0)
    store.flush()  # the parent's commit: fails if the child committed its transaction
    assert Client().get_artifact_version("grouped").version == "1"


def test_no_transaction_is_held_while_a_step_runs(zen_home):
    """Another process can write to the SQLite database while a step's code runs: the
    driver commits the run's records before handing a step over (and the step sees them)."""
    import sqlite3

    from zen_core import get_step_context

    seen = []

    @step(enable_cache=False)
    def first() -> int:
        return 1

    @step(enable_cache=False)
    def second(x: int) -> int:
        path = Client().active_stack.metadata_store.config.path
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if the run held the write lock
            other.execute("ROLLBACK")
            run_id = get_step_context().pipeline_run.id
            seen.extend(other.execute(
                "SELECT invocation_id, status FROM step_runs WHERE run_id = ? ORDER BY seq",
                (run_id,)).fetchall())
        finally:
            other.close()
        return x + 1

    @pipeline(enable_cache=False)
    def two():
        second(first())

    two()
    assert seen == [("first", "completed"), ("second", "running")]
