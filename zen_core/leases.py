"""Run leases: how a run killed with its process (SIGKILL, power loss) is found and failed.

A run's row records its owner (host, pid, the process's start time) and a lease
that the owner renews every ``run_lease_renew_s`` seconds from one background
thread per process, off the step path. A later run start, ``zen run list/show``
and prune reap running runs whose lease expired, or whose owner on this host is
gone: the run and its running steps become ``failed`` with an error starting
``crashed:``. Works the same on every metadata store (it is in their interface).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from zen_core.metadata_stores.base import RunLease

if TYPE_CHECKING:
    from zen_core.config import ZenConfig
    from zen_core.metadata_stores.base import MetadataStore


@functools.cache
def this_host() -> str:
    return socket.gethostname()


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (Linux: clock ticks since boot, from /proc), so a pid the
    system reused for another process is not taken for the owner; ``None`` where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # after "(command name)", which may hold spaces
    return float(fields[19])  # field 22 of proc(5): starttime


def owner_dead(lease: RunLease) -> bool:
    """Whether the lease's owner is a process on this host that no longer runs."""
    if lease.host != this_host() or lease.pid is None:
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    started = process_started(lease.pid)
    return lease.started is not None and started is not None and started != lease.started


def own_start_time() -> float | None:
    """:func:`process_started` of this process, read once (a forked child reads its own)."""
    return _start_time_of(os.getpid())


@functools.cache
def _start_time_of(pid: int) -> float | None:
    return process_started(pid)


def new_lease(config: ZenConfig) -> RunLease:
    return RunLease(this_host(), os.getpid(), own_start_time(), time.time() + config.run_lease_s)


def reap(store: MetadataStore, config: ZenConfig) -> list[str]:
    """Fail the crashed runs of ``store``; return their ids."""
    now = time.time()
    return store.reap_runs(now, owner_dead, unleased_before=now - config.run_lease_s)


class LeaseKeeper:
    """One daemon thread per process renewing the leases of the runs it is running."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[MetadataStore, float, float]] = {}  # run -> store, timing
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, store: MetadataStore, run_id: str, config: ZenConfig) -> None:
        with self._lock:
            self._held[run_id] = (store, config.run_lease_s, config.run_lease_renew_s)
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew_forever, daemon=True,
                                                name="zen-run-leases")
                self._thread.start()

    def release(self, run_id: str) -> None:
        with self._lock:
            self._held.pop(run_id, None)

    def _renew_forever(self) -> None:
        while True:
            with self._lock:
                interval = min((renew for _, _, renew in self._held.values()), default=0.0)
                if not interval:  # nothing held: stop; hold() starts a new thread
                    self._thread = None
                    return
            time.sleep(interval)
            with self._lock:
                held = dict(self._held)
            by_store: dict[int, tuple[MetadataStore, float, list[str]]] = {}
            for run_id, (store, lease_s, _) in held.items():
                by_store.setdefault(id(store), (store, lease_s, []))[2].append(run_id)
            for store, lease_s, run_ids in by_store.values():
                try:
                    store.renew_leases(run_ids, time.time() + lease_s)
                except Exception:  # a store that is down now may be back at the next beat
                    pass

    def _after_fork(self) -> None:
        self._held.clear()
        self._lock = threading.Lock()
        self._thread = None


keeper = LeaseKeeper()
os.register_at_fork(after_in_child=keeper._after_fork)
