"""A live progress line for pipeline runs on a terminal, and the bytes and rate of large transfers.

Chosen by the top-level config key ``progress = "auto" | "on" | "off"``, which
``ZEN_PROGRESS`` overrides; ``auto`` draws when stderr is a terminal and not a
notebook. Otherwise nothing changes: the structured log lines as before.

While it draws, the step hooks (``zen_before_step_run`` ...) only bump
counters and the artifact store handed to the run's steps counts the bytes
each file moves; rich redraws from those on its own refresh thread, so no step
waits for rendering. rich is imported when a run draws, never by ``import
zen_core``; steps' prints are written above the line, intact.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from zen_core.config import PROGRESS_MODES as MODES
from zen_core.errors import ConfigError
from zen_core.plugins import hookimpl

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore
    from zen_core.execution.driver import RunDriver
    from zen_core.records import StepRun

ENV = "ZEN_PROGRESS"
LARGE_TRANSFER = 64 * 2**20  # a file that moves at least this much gets its own line
REFRESH_PER_SECOND = 8


def enabled(configured: str = "auto", stream: Any = None) -> bool:
    """Whether a run draws progress: ``ZEN_PROGRESS`` over the config's ``progress``."""
    mode = os.environ.get(ENV) or configured
    if mode not in MODES:
        where = f"{ENV}={mode!r}" if os.environ.get(ENV) else f"progress = {mode!r}"
        raise ConfigError(f"{where} is not a progress mode (accepted: {', '.join(MODES)}). Fix: "
                          f"use auto (draw on a terminal), on or off.", progress=mode)
    if mode != "auto":
        return mode == "on"
    from zen_core.visualize import in_notebook

    stream = stream if stream is not None else sys.stderr
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        terminal = False
    return terminal and not in_notebook()


def track(driver: RunDriver) -> RunProgress | _Off:
    """What the driver wraps its run in: a drawing :class:`RunProgress`, or a no-op."""
    if enabled(driver.config.progress):
        return RunProgress(driver)
    return _Off()


class _Off:
    """Progress turned off: the run's steps get the stack's own artifact store."""

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def store(artifact_store: ArtifactStore) -> ArtifactStore:
        return artifact_store


class Transfer:
    """One file a step reads or writes, counted as it moves."""

    __slots__ = ("name", "direction", "bytes", "started", "finished")

    def __init__(self, name: str, direction: str) -> None:
        self.name, self.direction = name, direction
        self.bytes = 0
        self.started = time.monotonic()
        self.finished: float | None = None

    def rate(self) -> float:
        """Bytes per second so far (or over the whole transfer, once finished)."""
        end = self.finished if self.finished is not None else time.monotonic()
        return self.bytes / max(end - self.started, 1e-6)


class RunProgress:
    """Counts one run's steps (through the step hooks) and large transfers; rich draws them."""

    def __init__(self, driver: RunDriver) -> None:
        self.pipeline = driver.pipeline.name
        self.run_id = driver.run_record.id
        self.total = len(driver.nodes)
        self.plugin_manager = driver.context.plugin_manager
        self.started = time.monotonic()
        self.done = self.cached = self.failed = 0
        self.running: dict[str, None] = {}  # invocation ids, in start order
        self.transfers: list[Transfer] = []
        self._lock = threading.Lock()
        self._live: Any = None

    # -- counting: the hooks run on the per-step path, so they only count ----------------

    @hookimpl
    def zen_before_step_run(self, step_run: StepRun) -> None:
        if step_run.run_id == self.run_id:
            with self._lock:
                self.running[step_run.name] = None

    @hookimpl
    def zen_after_step_run(self, step_run: StepRun) -> None:
        if step_run.run_id == self.run_id:
            with self._lock:
                self.running.pop(step_run.name, None)
                if step_run.status == "cached":
                    self.cached += 1
                else:
                    self.done += 1

    @hookimpl
    def zen_on_step_error(self, step_run: StepRun, exception: BaseException) -> None:
        if step_run.run_id == self.run_id:
            with self._lock:
                self.running.pop(step_run.name, None)
                self.failed += 1

    def store(self, artifact_store: ArtifactStore) -> ArtifactStore:
        """The artifact store for this run's steps, counting what each file moves."""
        return _CountingStore(artifact_store, self)  # type: ignore[return-value]

    def large(self, transfer: Transfer) -> None:
        with self._lock:
            self.transfers.append(transfer)

    # -- drawing: on rich's refresh thread -------------------------------------------------

    def __enter__(self) -> RunProgress:
        from rich.console import Console
        from rich.live import Live

        self.plugin_manager.register(self, name=f"zen-progress-{self.run_id}")
        self._live = Live(get_renderable=self.render, console=Console(file=sys.stderr),
                          refresh_per_second=REFRESH_PER_SECOND, transient=False,
                          redirect_stdout=True, redirect_stderr=True)
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._live.stop()  # draws the final state once more
        finally:
            self.plugin_manager.unregister(self)

    def render(self) -> Any:
        from rich.console import Group
        from rich.filesize import decimal
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            done, cached, failed = self.done, self.cached, self.failed
            running = list(self.running)
            transfers = list(self.transfers)
        finished = done + cached + failed
        line = Table.grid(padding=(0, 1))
        line.add_row(
            Text(self.pipeline, style="bold"),
            ProgressBar(total=max(self.total, 1), completed=finished, width=24),
            Text.assemble(f"{finished}/{self.total} steps: ", (f"{done} done", "green"), ", ",
                          (f"{cached} cached", "cyan"), ", ", (f"{len(running)} running", "yellow"),
                          ", ", (f"{failed} failed", "red" if failed else ""),
                          f" · {_elapsed(time.monotonic() - self.started)}"),
            Text(", ".join(running[:3]) + (" …" if len(running) > 3 else ""), style="dim"))
        rows: list[Any] = [line]
        for t in transfers:
            verb = "wrote" if t.finished is not None and t.direction == "write" else (
                "read" if t.finished is not None else
                "writing" if t.direction == "write" else "reading")
            rows.append(Text(f"  {verb} {t.name}: {decimal(t.bytes)} at {decimal(int(t.rate()))}/s",
                             style="dim" if t.finished is not None else ""))
        return Group(*rows)


def _elapsed(seconds: float) -> str:
    minutes, s = divmod(seconds, 60)
    return f"{int(minutes)}:{s:04.1f}" if minutes else f"{s:.1f}s"


def _plain(store: ArtifactStore) -> ArtifactStore:
    return store


class _CountingStore:
    """An artifact store whose files count the bytes they move (for this process's display).

    Everything but ``open`` is the store's own; pickled (for a remote worker),
    it becomes the plain store, whose transfers are not shown here.
    """

    def __init__(self, store: ArtifactStore, progress: RunProgress) -> None:
        self._store = store
        self._progress = progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def __reduce__(self) -> tuple:
        return (_plain, (self._store,))

    def open(self, uri: str, mode: str = "rb", **kwargs: Any) -> Any:
        direction = "write" if any(c in mode for c in "wax+") else "read"
        return _CountedFile(self._store.open(uri, mode, **kwargs),
                            Transfer(uri.rsplit("/", 1)[-1], direction), self._progress)


class _CountedFile:
    """A file that adds what passes through it to its :class:`Transfer`."""

    def __init__(self, raw: Any, transfer: Transfer, progress: RunProgress) -> None:
        self._raw, self._transfer, self._progress = raw, transfer, progress
        self._shown = False
        if hasattr(raw, "readinto"):
            self.readinto = self._readinto

    def _count(self, n: int) -> None:
        self._transfer.bytes += n
        if not self._shown and self._transfer.bytes >= LARGE_TRANSFER:
            self._shown = True
            self._progress.large(self._transfer)

    def write(self, data: Any) -> Any:
        n = self._raw.write(data)
        self._count(memoryview(data).nbytes if n is None else n)
        return n

    def read(self, size: int | None = -1) -> Any:
        data = self._raw.read() if size is None else self._raw.read(size)
        self._count(len(data))
        return data

    def _readinto(self, buffer: Any) -> Any:
        n = self._raw.readinto(buffer)
        self._count(n or 0)
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            if self._transfer.finished is None:
                self._transfer.finished = time.monotonic()

    def __enter__(self) -> _CountedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Any:
        return iter(self._raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)
