"""The ``dask`` orchestrator: each step runs as a task on a dask.distributed cluster.

The driver (cache checks, metadata, lineage) stays in the submitting process;
only :func:`zen_core.execution.execute_step` runs on the workers. Workers read
inputs from and write outputs to the artifact store themselves, so the only
thing that travels back through the scheduler is the small ``StepResult``.

Importing this module must not import dask: ``zen plugins list`` loads it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from zen_core.errors import StepFailedError, ZenError
from zen_core.logger import get_logger
from zen_core.orchestrators import Orchestrator

if TYPE_CHECKING:
    from distributed import Client, Future

    from zen_core.orchestrators import Invocation, RunDriver, StepResult, StepTask


class DaskOrchestratorError(ZenError):
    """The dask cluster cannot be reached or started, or lost a step."""


class WorkerDiedError(StepFailedError):
    """The dask worker running a step died (killed, out of memory, machine lost)."""


def _positive(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} = {value!r} must be at least 1 (or left unset)")


def _not_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} = {value!r} must be 0 or more")


def _scheduler_address(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and (not value.strip() or " " in value.strip()):
        raise ValueError(f"address = {value!r} is not a scheduler address; expected e.g. "
                         f"'tcp://scheduler:8786', or leave it unset for a LocalCluster")


@attrs.frozen
class DaskOrchestratorConfig:
    """``orchestrator = { flavor = "dask", ... }``.

    With ``address`` the orchestrator connects to a running scheduler; without
    it, it starts a ``LocalCluster`` on first use (``n_workers``,
    ``threads_per_worker``, ``processes``, ``memory_limit``,
    ``dashboard_address`` apply only to that cluster).
    """

    address: str | None = attrs.field(default=None, validator=_scheduler_address)
    n_workers: int | None = attrs.field(default=None, validator=_positive)
    threads_per_worker: int = attrs.field(default=1, validator=_positive)
    processes: bool = True
    memory_limit: str = "auto"
    dashboard_address: str | None = None  # e.g. ":8787"; unset = no dashboard
    timeout: float = attrs.field(default=30.0, validator=_positive)  # seconds to connect
    retries: int = attrs.field(default=0, validator=_not_negative)  # resubmits after a worker died


class DaskOrchestrator(Orchestrator):
    """Submits each step once its upstream steps are complete; independent steps run in
    parallel. The first failure is re-raised after the steps not depending on it finished."""

    FLAVOR = "dask"
    Config = DaskOrchestratorConfig
    RUNS_OUT_OF_PROCESS = True  # workers are other processes, usually other machines
    # The dask settings of the LocalCluster it starts: one task per worker thread, and no
    # silent retries of a step whose worker died (`retries` decides that, for every cluster).
    CLUSTER_CONFIG: ClassVar[dict[str, Any]] = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0}

    def __init__(self, config: DaskOrchestratorConfig) -> None:
        super().__init__(config)
        self._client: Client | None = None
        self._cluster: Any = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._warned_local = False
        self._module_files: dict[str, tuple[tuple[str, str | None], ...]] = {}

    # -- the cluster ----------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The process's dask client, connected (or the LocalCluster started) on first use."""
        with self._lock:
            if self._client is not None and self._pid != os.getpid():
                self._client = self._cluster = None  # forked: the parent's sockets are not ours
            if self._client is None:
                self._pid = os.getpid()
                self._client = self._connect()
            return self._client

    def _connect(self) -> Client:
        from distributed import Client

        cfg = self.config
        log = get_logger()
        if cfg.address is not None:
            try:
                client = Client(cfg.address, timeout=cfg.timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise DaskOrchestratorError(
                    f"dask orchestrator: cannot reach the scheduler at {self._where()} within "
                    f"{cfg.timeout:g}s ({type(exc).__name__}: {exc}). Fix: start it "
                    f"(`dask scheduler`), correct `orchestrator.address` in the stack config, "
                    f"or remove `address` to run a LocalCluster.",
                    address=self._where()) from exc
            log.info("dask.connected", address=self._where())
            return client
        import dask
        from distributed import LocalCluster

        try:
            with dask.config.set(self.CLUSTER_CONFIG):
                cluster = LocalCluster(
                    n_workers=cfg.n_workers, threads_per_worker=cfg.threads_per_worker,
                    processes=cfg.processes, memory_limit=cfg.memory_limit,
                    dashboard_address=cfg.dashboard_address, host="127.0.0.1")
        except Exception as exc:
            raise DaskOrchestratorError(
                f"dask orchestrator: could not start a LocalCluster (n_workers="
                f"{cfg.n_workers!r}, threads_per_worker={cfg.threads_per_worker!r}, processes="
                f"{cfg.processes!r}, memory_limit={cfg.memory_limit!r}, dashboard_address="
                f"{cfg.dashboard_address!r}): {type(exc).__name__}: {exc}. Fix: correct these "
                f"keys of `orchestrator` in the stack config, or set `address` to a running "
                f"scheduler.") from exc
        self._cluster = cluster
        log.info("dask.local_cluster", address=cluster.scheduler_address,
                 workers=len(cluster.workers))
        return Client(cluster, set_as_default=False)

    def _where(self) -> str:
        from zen_core.config import mask_secrets

        return repr(mask_secrets(self.config.address or "LocalCluster"))

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if self._cluster is not None:
            described["scheduler"] = self._cluster.scheduler_address
        return described

    def close(self) -> None:
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
            if self._pid != os.getpid():
                return
            for thing in (client, cluster):
                if thing is not None:
                    with contextlib.suppress(Exception):
                        thing.close()

    # -- a run ----------------------------------------------------------------------

    def run(self, driver: RunDriver) -> None:
        from distributed import as_completed

        client = self.client
        log = get_logger()
        _send_promptly(client)
        self._check_store_reach(driver, client)
        by_id = {node.id: node for node in driver.nodes}
        waiting = {node.id: set(node.upstream) for node in driver.nodes}
        children: dict[str, list[str]] = collections.defaultdict(list)
        for node in driver.nodes:
            for up in node.upstream:
                children[up].append(node.id)
        ready = collections.deque(node.id for node in driver.nodes if not node.upstream)
        running: dict[str, tuple[Invocation, StepTask, int]] = {}  # future key -> node
        futures: dict[str, Future] = {}
        blocked: set[str] = set()
        first: BaseException | None = None
        # Results are fetched on dask's event loop as tasks finish (one hop less per step).
        # We block on its queue rather than iterate: its iterator can miss a wake-up and
        # then sleeps 100 ms, too much per step.
        landed = as_completed(loop=client.loop, with_results=True, raise_errors=False)

        def done(node_id: str) -> None:
            for child in children[node_id]:
                waiting[child].discard(node_id)
                if not waiting[child] and child not in blocked:
                    ready.append(child)

        def failed(node: Invocation, exc: BaseException) -> None:
            nonlocal first
            driver.fail(node, exc)
            if first is None:
                first = exc
            stack = [node.id]
            while stack:  # everything downstream of a failure is never run
                for child in children[stack.pop()]:
                    if child not in blocked:
                        blocked.add(child)
                        stack.append(child)

        def submit(node: Invocation, task: StepTask, attempt: int) -> None:
            future = client.submit(
                _execute, self._modules_of(task), _dumps(task), pure=False,
                key=f"{node.id}-{task.step_run_id}-{attempt}")
            running[future.key] = (node, task, attempt)
            futures[future.key] = future
            landed.add(future)

        def submit_ready() -> None:
            while ready:
                node = by_id[ready.popleft()]
                try:
                    task = driver.prepare(node)
                except Exception as exc:
                    failed(node, exc)
                    continue
                if task is None:
                    done(node.id)
                else:
                    submit(node, task, 0)

        try:
            while ready or running:
                submit_ready()
                if not running:
                    break
                batch = [landed.queue.get()]
                while not landed.queue.empty():
                    batch.append(landed.queue.get_nowait())
                staged: list[Invocation] = []
                for future, value in batch:
                    node, task, attempt = running.pop(future.key)
                    futures.pop(future.key)
                    outcome = self._outcome(future, value, node, attempt)
                    if isinstance(outcome, _Retry):
                        log.warning("dask.step_retried", step=node.id, attempt=attempt + 1,
                                    reason=outcome.reason)
                        submit(node, task, attempt + 1)
                        continue
                    if isinstance(outcome, BaseException):
                        failed(node, outcome)
                        continue
                    try:
                        driver.stage(node, outcome)
                    except Exception as exc:
                        failed(node, exc)
                    else:
                        staged.append(node)
                        done(node.id)
                # Start the steps these results unblock, then record the results while
                # those run: the metadata writes leave the critical path of a chain.
                # Released only now, so the scheduler hears of the new steps first: a
                # release sent just before them would hold them back a batching interval.
                # Yet released at once: dask recomputes a result it still holds for us
                # when that worker dies, which would run a finished step a second time.
                submit_ready()
                for future, _ in batch:
                    future.release()
                for node in staged:
                    driver.record(node)
        except BaseException as exc:  # interrupted: stop what runs, record it, re-raise
            for future in futures.values():
                future.cancel()
            for node, _, _ in running.values():
                with contextlib.suppress(Exception):
                    driver.fail(node, exc)
            raise
        if first is not None:
            raise first

    def _check_store_reach(self, driver: RunDriver, client: Client) -> None:
        """Warn once when workers on other machines would write to a local folder."""
        store = driver.stack.artifact_store
        if self._warned_local or store.FLAVOR != "local" or self.config.address is None:
            return
        import socket
        from urllib.parse import urlparse

        here = {"127.0.0.1", "localhost", "::1", socket.gethostname()}
        with contextlib.suppress(OSError):
            here.add(socket.gethostbyname(socket.gethostname()))
        hosts = {urlparse(address).hostname for address in
                 client.scheduler_info().get("workers", {})}
        elsewhere = sorted(h for h in hosts if h and h not in here)
        if elsewhere:
            self._warned_local = True
            get_logger().warning(
                "dask.local_artifact_store", path=store.path, worker_hosts=elsewhere,
                hint="workers on other machines write artifacts to their own disk unless this "
                     "path is a shared file system; use an object store (zen-s3, zen-gcs)")

    def _outcome(self, future: Future, value: Any, node: Invocation, attempt: int
                 ) -> StepResult | BaseException | _Retry:
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            return value
        if future.status != "error":
            return self._lost(node, value if isinstance(value, BaseException) else None)
        _, exc, traceback = value  # as_completed's (type, exception, traceback) of an error
        if isinstance(exc, KilledWorker):
            if attempt < self.config.retries:
                return _Retry(str(exc))
            tries = f" ({attempt + 1} attempts)" if attempt else ""
            reason = str(exc).rstrip(".")
            get_logger().debug("dask.worker_died", step=node.id, detail=reason)  # dask's account
            err = WorkerDiedError(
                f"step {node.id!r} failed: the dask worker running it died{tries} (killed, out "
                f"of memory, or its machine was lost). No output of this step was recorded. "
                f"Fix: find why the worker died (its log; raise `memory_limit`), or set "
                f"`retries` on the dask orchestrator to resubmit such steps.",
                step=node.id, reason=reason)
            err.__cause__ = exc
            return err
        if traceback is not None:
            with contextlib.suppress(Exception):
                exc = exc.with_traceback(traceback)
        return exc

    def _lost(self, node: Invocation, exc: BaseException | None) -> BaseException:
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        err = DaskOrchestratorError(
            f"step {node.id!r}: the dask scheduler at {self._where()} lost its result "
            f"(cancelled or disconnected{detail}). No output of this step was recorded. Fix: "
            f"check that the scheduler is running and reachable, then rerun; completed steps "
            f"are reused from the cache.", step=node.id)
        err.__cause__ = exc
        return err

    def _modules_of(self, task: StepTask) -> tuple[tuple[str, str | None], ...]:
        """Modules the task refers to by name (its step function, materializers named by
        plans), with their files, so a worker can load modules that it cannot import by
        name, such as test modules or scripts (shared file system assumed)."""
        func = task.step.func
        cache_key = f"{getattr(func, '__module__', '')}|" + "|".join(
            p.materializer or "" for p in task.outputs)
        found = self._module_files.get(cache_key)
        if found is None:
            names = [getattr(func, "__module__", None)]
            names += [_module_part(p.materializer) for p in task.outputs if p.materializer]
            entries = {}
            for name in names:
                module = sys.modules.get(name) if name else None
                if module is None or name in entries or name == "__main__":
                    continue
                if name.partition(".")[0] in sys.stdlib_module_names:
                    continue
                entries[name] = getattr(module, "__file__", None)
            found = tuple(entries.items())
            self._module_files[cache_key] = found
        return found


# distributed's Client batches what it sends the scheduler, at most one write per 10 ms
# (``BatchedSend(interval="10ms")`` in distributed/client.py; no setting changes it). A
# run sends one small message per step, so that wait is pure latency on every step of a
# chain. Workers talk to the scheduler at 1-2 ms; the driver does the same. Where a
# future distributed no longer has this attribute, only the speed-up is lost.
PROMPT_SEND_INTERVAL_S = 0.001


def _send_promptly(client: Client) -> None:
    comm = getattr(client, "scheduler_comm", None)
    if isinstance(getattr(comm, "interval", None), float):
        comm.interval = min(comm.interval, PROMPT_SEND_INTERVAL_S)


@attrs.frozen
class _Retry:
    reason: str


def _module_part(qualified: str) -> str | None:
    """The longest loaded module that prefixes ``package.module.Class``."""
    parts = qualified.split(".")
    for end in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:end])
        if name in sys.modules:
            return name
    return None


def _dumps(task: StepTask) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(task)


# -- on the worker -------------------------------------------------------------------------


def _execute(modules: tuple[tuple[str, str | None], ...], payload: bytes) -> StepResult:
    """Worker side: make the step's modules importable, unpickle the task, run it."""
    import pickle

    from zen_core.orchestrators import execute_step

    for name, path in modules:
        if name not in sys.modules:
            _ensure_module(name, path)
    task = pickle.loads(payload)
    store = task.artifact_store
    key = (type(store), repr(store.config))
    # One store per worker process and config: its filesystem (connection pools, created
    # folders, spare staging) stays warm across the steps this worker runs.
    kept = _worker_stores.setdefault(key, store)
    if kept is not store:
        task = attrs.evolve(task, artifact_store=kept)
    return execute_step(task)


_worker_stores: dict[tuple[type, str], Any] = {}


def _ensure_parents(name: str) -> None:
    """Placeholder packages for a dotted module loaded from its file (say, a test module
    that pytest named ``plugins.x.tests.test_y``), so unpickling can import the parents."""
    import importlib
    import types

    parts = name.split(".")
    for end in range(1, len(parts)):
        parent = ".".join(parts[:end])
        if parent in sys.modules:
            continue
        try:
            importlib.import_module(parent)
        except ImportError:
            package = types.ModuleType(parent)
            package.__path__ = []
            sys.modules[parent] = package


def _ensure_module(name: str, path: str | None) -> None:
    import importlib
    import importlib.util

    try:
        importlib.import_module(name)
        return
    except ImportError as exc:
        error: Exception = exc
    if path is not None and os.path.isfile(path):
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            _ensure_parents(name)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
                return
            except BaseException as exc:
                sys.modules.pop(name, None)
                error = exc
    import socket

    raise DaskOrchestratorError(
        f"module {name!r} (file {path!r}), which defines the step or its materializer, cannot "
        f"be imported on dask worker host {socket.gethostname()!r}: {type(error).__name__}: "
        f"{error}. Fix: install your project on the workers (e.g. `pip install -e .` in their "
        f"environment), put the code in an importable package, or share the file at the same "
        f"path.", module=name, path=path) from error
