"""Run independent, CPU-heavy jobs (model fits) on local processes or a dask cluster."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from threadpoolctl import threadpool_limits

from scaling_forecast.core.errors import InputError


def _one_blas_thread() -> None:
    """Pool initializer: each worker runs one job at a time, so N workers must not each start N threads."""
    # The job's module, and with it numpy's BLAS, is usually imported only after this runs, and
    # threadpoolctl reaches only libraries already loaded; the variables cover those loaded later.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    threadpool_limits(limits=1)


def _call_with_one_blas_thread(function: Callable[..., Any], *arguments: Any) -> Any:
    """Run a job on a dask worker, which has no per-process initializer like the local pool."""
    with threadpool_limits(limits=1):
        return function(*arguments)


def run_jobs(
    function: Callable[..., Any],
    argument_list: Iterable[Sequence[Any]],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: str | None = None,
) -> list:
    """Return ``[function(*arguments) for arguments in argument_list]``, computed in parallel.

    ``function`` must be a picklable module-level callable and its results picklable.

    Without ``scheduler``: a local forkserver process pool of ``workers`` processes
    (default ``os.cpu_count()``), each limited to one BLAS thread; ``workers=1`` runs
    in this process, one job after another. A script using a pool needs the usual
    ``if __name__ == "__main__":`` guard.

    With ``scheduler`` (a dask.distributed address such as ``"tcp://127.0.0.1:8786"``):
    one task per job on that cluster; ``workers`` is ignored, the cluster's size decides.
    Start its workers with ``--nthreads 1`` (each job limits BLAS to one thread, a
    process-wide limit) and with this package installed. Needs ``dask[distributed]``.

    With ``progress`` (a label such as ``"backtest"``), each finished job prints one line on stderr: how
    many are done, the time since the start and, at that pace, the time left.

    A job's exception is raised here with its own type and message.
    """
    jobs = [tuple(arguments) for arguments in argument_list]
    if workers is not None and workers < 1:
        raise InputError(f"workers must be >= 1 or None, got {workers}")
    report = _Progress(progress, len(jobs))
    if scheduler is not None:
        return _run_on_dask(function, jobs, scheduler, report)
    max_workers = workers or os.cpu_count() or 1
    if max_workers == 1 or not jobs:
        return [report.done(function(*arguments)) for arguments in jobs]
    # forkserver: a clean child, not a fork of a process that already runs numba/nutpie/BLAS threads.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=max_workers, mp_context=context, initializer=_one_blas_thread) as pool:
        futures = [pool.submit(function, *arguments) for arguments in jobs]
        try:
            for future in as_completed(futures):
                report.done(future.result())
            return [future.result() for future in futures]
        except BaseException as err:
            if not isinstance(err, Exception):  # Ctrl-C or SIGTERM: the running fits are stopped, not awaited
                # (Python 3.14's terminate_workers does this; before it, the pool's own table of processes)
                for process in dict(getattr(pool, "_processes", None) or {}).values():
                    process.terminate()
            pool.shutdown(cancel_futures=True)  # don't wait for queued minute-long fits after a failure
            raise


class _Progress:
    """One line on stderr per finished job, when given a label."""

    def __init__(self, label: str | None, total: int):
        self.label, self.total, self.finished, self.start = label, total, 0, time.monotonic()

    def done(self, result: Any) -> Any:
        self.finished += 1
        if self.label:
            elapsed = time.monotonic() - self.start
            left = elapsed / self.finished * (self.total - self.finished)
            print(f"{self.label}: {self.finished} of {self.total} fits done after {_minutes(elapsed)}"
                  + (f", about {_minutes(left)} left at this pace" if self.finished < self.total else ""),
                  file=sys.stderr, flush=True)
        return result


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _run_on_dask(function: Callable[..., Any], jobs: list[tuple], scheduler: str, report: _Progress) -> list:
    try:
        from distributed import Client  # lazy: heavy import, optional dependency
    except ImportError as error:
        raise InputError('a dask scheduler needs dask.distributed: pip install "dask[distributed]"') from error
    with Client(scheduler, set_as_default=False) as client:
        futures = [client.submit(_call_with_one_blas_thread, function, *arguments, pure=False) for arguments in jobs]
        return [report.done(future.result()) for future in futures]  # in order: the cluster runs them meanwhile
