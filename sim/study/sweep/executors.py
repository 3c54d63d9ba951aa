"""Where a sweep's runs execute: local worker processes (the default), or Dask distributed (a
cluster reached by address or scheduler file, or a LocalCluster)."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Literal

from sim.config import ConfigError
from sim.study.sweep.attempt import one_line

type Backend = Literal["local", "dask"]


def ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle; it stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers, so a stop does not wait for runs in
    flight (before Python 3.14 the pool has no public call for this)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def worker_context() -> multiprocessing.context.BaseContext:
    """How local workers start: forked from a server that has imported the model once (fast, and safe
    where this process has threads), or spawned where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.study.sweep.attempt"])
    return context


@contextmanager
def local_executor(workers: int) -> Iterator[Executor]:
    """A pool of ``workers`` processes on this machine."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(), initializer=ignore_interrupts)
    try:
        yield pool
        pool.shutdown(wait=True)
    except BaseException:
        stop_pool(pool)
        raise


@contextmanager
def dask_executor(workers: int, scheduler: str | None = None,
                  scheduler_file: Path | None = None) -> Iterator[Executor]:
    """Dask distributed's executor: on the cluster at ``scheduler`` or in ``scheduler_file`` (as
    dask-jobqueue and dask-mpi write it), else on a LocalCluster of ``workers`` processes on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--backend dask: Dask is not installed; pip install 'tierlab[dask]'") from None
    cluster = None
    try:
        if scheduler_file is not None:
            if not Path(scheduler_file).is_file():
                raise ConfigError(f"--scheduler-file {scheduler_file}: file not found")
            client = Client(scheduler_file=str(scheduler_file), timeout="20s")
        elif scheduler is not None:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as err:
        where = f"--scheduler-file {scheduler_file}" if scheduler_file else f"--scheduler {scheduler}"
        raise ConfigError(f"{where}: cannot connect to the Dask scheduler ({one_line(err)})") from None
    executor = client.get_executor(pure=False)
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=False)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def open_executor(backend: Backend, workers: int, scheduler: str | None = None,
                  scheduler_file: Path | None = None) -> AbstractContextManager[Executor]:
    """The executor a sweep runs on: local processes, or Dask (a cluster, or a LocalCluster)."""
    if backend == "dask":
        return dask_executor(workers, scheduler, scheduler_file)
    return local_executor(workers)
