"""Fault injection: prune and save killed (SIGKILL) at every step they take.

Each case forks a child that builds a fresh situation, arms a kill at the n-th
call of any of the store and database operations listed (and of the file
system calls under them), and runs prune or a save until the kill. The parent
then checks SPEC §5: every visible artifact version's data is there and loads,
and the next prune or save finishes the job. n grows until the child finishes
unkilled, so every point of the operation is covered.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from typing import Any

import pytest

from zen_core import pipeline, save_artifact, step
from zen_core.artifact_stores.local import LocalArtifactStore
from zen_core.artifacts.data import data_present
from zen_core.client import Client
from zen_core.metadata_stores.sql import SQLMetadataStore
from zen_core.stack import close_all

# Where a kill may land: each call of these (before it runs).
STORE_STEPS = [(LocalArtifactStore, name) for name in (
    "new_staging_uri", "place", "publish", "move_aside", "delete", "discard_staging")]
DATABASE_STEPS = [(SQLMetadataStore, name) for name in (
    "create_artifact_version", "complete_step_run", "hide_artifact_versions",
    "unhide_artifact_versions", "delete_artifact_versions", "content_hash_counts", "flush")]
FILE_STEPS = [(os, "rename"), (os, "unlink"), (os, "rmdir"), (shutil, "rmtree")]
MAX_POINTS = 200  # a guard: every operation here takes far fewer steps


@step(enable_cache=False)
def produce(n: int) -> list:
    return list(range(n))


@step(enable_cache=False)
def count(values: list) -> int:
    return len(values)


@pipeline(enable_cache=False)
def producing(n: int = 3):
    count(produce(n=n))


def _killed_at(n: int, action: Callable[[], Any]) -> bool:
    """Run ``action`` in a forked child that SIGKILLs itself at the n-th step; whether the
    kill came (``False``: the action finished first)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            calls = [0]
            for owner, name in STORE_STEPS + DATABASE_STEPS + FILE_STEPS:
                setattr(owner, name, _dying(getattr(owner, name), calls, n))
            close_all()  # live components of the parent's process: build fresh ones
            action()
            close_all()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _dying(original: Any, calls: list[int], n: int) -> Any:
    def step_or_die(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    return step_or_die


def _assert_every_visible_version_loads() -> None:
    close_all()
    client = Client()
    store = client.active_stack.artifact_store
    for av in client.list_artifact_versions():
        assert data_present(store, av.uri, av.files), f"{av.label} is visible without its data"
        av.load()


def _fresh_zen_home(tmp_path: Any, monkeypatch: Any, n: int) -> None:
    close_all()
    monkeypatch.setenv("ZEN_HOME", str(tmp_path / f"home-{n}"))


def _every_point(tmp_path: Any, monkeypatch: Any, prepare: Callable[[], Any],
                 action: Callable[[], Any], finish: Callable[[], Any]) -> int:
    """Kill ``action`` at each of its steps in turn, each time in a fresh ZEN_HOME made by
    ``prepare``; after each kill the guarantees hold, and ``finish`` completes the work."""
    for n in range(1, MAX_POINTS):
        _fresh_zen_home(tmp_path, monkeypatch, n)
        prepare()
        killed = _killed_at(n, action)
        _assert_every_visible_version_loads()
        finish()
        _assert_every_visible_version_loads()
        if not killed:
            return n - 1
    raise AssertionError(f"the action was still being killed after {MAX_POINTS} steps")


def _prune_situation() -> None:
    """Three runs to prune: one whose outputs only it has, one sharing an output's content
    with a saved artifact, one sharing everything with a kept run."""
    client = Client()
    gone = [producing(n=7), producing(n=3), producing(n=4)]
    kept = producing(n=4)
    save_artifact([0, 1, 2], "saved_same_content")
    for run in gone:
        client.delete_pipeline_run(run.id)
    assert kept.status == "completed"


def _prune_finished() -> None:
    client = Client()
    client.prune_artifacts()
    store = client.active_stack.artifact_store
    assert client.active_stack.metadata_store.hidden_artifact_versions() == []
    assert list(store.iter_aside("trash")) == []
    assert client.active_stack.metadata_store.unreferenced_artifact_versions() == []
    assert {av.name for av in client.list_artifact_versions()} == {
        "producing::produce::output", "producing::count::output", "saved_same_content"}


def test_prune_killed_at_any_point_leaves_no_visible_version_without_data(tmp_path,
                                                                          monkeypatch):
    points = _every_point(tmp_path, monkeypatch, _prune_situation,
                          lambda: Client().prune_artifacts(), _prune_finished)
    assert points >= 20  # hide, moves, counts, deletes, metadata: each was a kill point


def _saves() -> None:
    """New content, content stored already (a reusing save), a pipeline, and a prune
    between them, so reuse of an object being deleted is among the kill points too."""
    save_artifact(b"fresh" * 1000, "blob")
    run = producing(n=5)
    Client().delete_pipeline_run(run.id)
    save_artifact(list(range(5)), "same_as_a_step_output")
    Client().prune_artifacts()
    save_artifact(b"fresh" * 1000, "blob")
    producing(n=5)


def _save_finished() -> None:
    _saves()  # everything works again after the kill
    client = Client()
    client.prune_artifacts()
    assert [e for e in client.active_stack.artifact_store.iter_staging()
            if client.active_stack.artifact_store.list_files(e.uri)] == []


def test_saves_killed_at_any_point_leave_no_visible_version_without_data(tmp_path,
                                                                         monkeypatch):
    points = _every_point(tmp_path, monkeypatch, lambda: None, _saves, _save_finished)
    assert points >= 40


@pytest.fixture(autouse=True)
def _no_group_commit_window(monkeypatch):
    """A killed child loses records still in its group-commit window (by design); commit at
    once so each kill point is one the test can reason about."""
    monkeypatch.setattr("zen_core.metadata_stores.sqlite.SQLiteMetadataStore.GROUP_COMMIT_S", 0.0)
