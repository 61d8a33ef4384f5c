"""The Dask cluster the engine runs on: a Client of a running scheduler, or a LocalCluster
sized to this machine, and the models loaded on every worker before work is sent.

dask and distributed are imported inside the functions that need them (the ``dask`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from analyzer.errors import AnalyzerError, MissingExtra

if TYPE_CHECKING:
    from distributed import Client


WORKER_MEMORY = 1_500_000_000  # bytes a worker needs for two MiniLM-size models and a partition

# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. Any explicit glibc malloc
# threshold turns off glibc's adaptive mmap threshold, so every activation tensor is
# mmap'd and unmapped afresh: torch inference ran a third slower (int8, 19.6 against 29.1
# comments/s per core here). None unsets it (``dask worker`` users: see docs/scaling.md).
WORKER_DASK_CONFIG: dict[str, Any] = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster_size(cores: int | None = None, memory: int | None = None) -> tuple[int, int]:
    """(worker processes, threads each) for a LocalCluster on this machine: one process
    per core while memory allows (processes scale better than torch threads on a few
    cores), the cores shared out among them."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if memory is None:
        import psutil

        memory = psutil.virtual_memory().available
    workers = max(1, min(cores, memory // WORKER_MEMORY))
    return workers, max(1, cores // workers)


@contextmanager
def connect(
    scheduler: str | None = None, *, n_workers: int | None = None, threads_per_worker: int | None = None
) -> Iterator[Client]:
    """A Client of the scheduler at ``scheduler`` (tcp://host:8786), or of a LocalCluster
    sized to this machine (``local_cluster_size``) that is closed afterwards."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingExtra("dask", "the dask engine") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise AnalyzerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    import dask

    workers, threads = local_cluster_size()
    from analyzer.scoring.frames import OPENMP_ENV

    env = {key: os.environ.get(key, value) for key, value in OPENMP_ENV.items()}
    with (
        dask.config.set(WORKER_DASK_CONFIG),
        LocalCluster(
            n_workers=n_workers or workers,
            threads_per_worker=threads_per_worker or threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            env=env,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def warm_up(client: Client, model_dirs: list[str], *, precision: str, device: str | None = None) -> int:
    """Load the models on every worker now (each loads them once anyway), so a model error
    shows before any work is sent and timings exclude loading; returns the worker count."""
    from analyzer.scoring.frames import load_classifiers

    done = client.run(load_classifiers, model_dirs, precision=precision, device=device)
    return len(done)


def worker_threads() -> int | None:
    """The --nthreads of the Dask worker running this task (None outside a worker)."""
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None
