"""run_jobs on real processes: a local forkserver pool and a loopback dask cluster."""

import os
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from scaling_forecast.fitting.parallel import run_jobs

JOB_SECONDS = 0.3  # long enough that a second pool worker starts before the first runs out of jobs


def noisy_line(seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, size=2000)
    return x, 1.5 + 0.5 * x + noise * rng.standard_normal(x.size)


def fit_line(seed: int, noise: float) -> tuple[int, np.ndarray]:
    """Least-squares fit of a noisy line, repeated for ~JOB_SECONDS; returns (worker PID, intercept and slope)."""
    x, y = noisy_line(seed, noise)
    design = np.column_stack([np.ones_like(x), x])
    deadline = time.perf_counter() + JOB_SECONDS
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    while time.perf_counter() < deadline:
        coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    return os.getpid(), coefficients


def fail_on(seed: int) -> int:
    if seed == 2:
        raise ValueError(f"job {seed} has no data")
    return seed


def blas_threads() -> list[int]:
    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]


ARGUMENTS = [(seed, 0.1) for seed in range(4)]


@pytest.fixture(scope="module")
def local_results() -> list[tuple[int, np.ndarray]]:
    return run_jobs(fit_line, ARGUMENTS, workers=2)


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        yield cluster.scheduler_address


def test_local_pool_keeps_order_and_uses_two_processes(local_results):
    pids = {pid for pid, _ in local_results}
    assert len(pids) == 2
    assert os.getpid() not in pids
    # Each seed gives its own answer, so order is checked against an independent fit per job.
    for arguments, (_, coefficients) in zip(ARGUMENTS, local_results, strict=True):
        x, y = noisy_line(*arguments)
        np.testing.assert_allclose(coefficients, np.polyfit(x, y, 1)[::-1], rtol=1e-9)


def test_one_worker_runs_in_this_process():
    results = run_jobs(fit_line, ARGUMENTS[:2], workers=1)
    assert [pid for pid, _ in results] == [os.getpid()] * 2



@pytest.mark.parametrize("workers", [1, 2])
def test_progress_is_one_line_per_finished_job(workers, capsys):
    """Long backtests say how far they are: one stderr line per finished job, the last without a time left."""
    results = run_jobs(fail_on, [(0,), (1,), (3,)], workers=workers, progress="test jobs")
    assert results == [0, 1, 3]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" fits done")[0] for line in lines] == [f"test jobs: {k} of 3" for k in (1, 2, 3)]
    assert all("left at this pace" in line for line in lines[:-1]) and "left" not in lines[-1]


def test_local_workers_use_one_blas_thread():
    # numpy loads BLAS when a worker imports this module, after the pool's initializer has run.
    for threads in run_jobs(blas_threads, [(), ()], workers=2):
        assert threads and set(threads) == {1}


def test_dask_matches_local(scheduler, local_results):
    results = run_jobs(fit_line, ARGUMENTS, scheduler=scheduler)
    assert os.getpid() not in {pid for pid, _ in results}
    for (_, dask_coefficients), (_, local_coefficients) in zip(results, local_results, strict=True):
        np.testing.assert_array_equal(dask_coefficients, local_coefficients)
    for threads in run_jobs(blas_threads, [(), ()], scheduler=scheduler):
        assert threads and set(threads) == {1}


@pytest.mark.parametrize("backend", ["in-process", "pool", "dask"])
def test_job_error_propagates(backend, request):
    options = {"in-process": {"workers": 1}, "pool": {"workers": 2}}.get(backend)
    if options is None:
        options = {"scheduler": request.getfixturevalue("scheduler")}
    with pytest.raises(ValueError, match=r"^job 2 has no data$"):
        run_jobs(fail_on, [(seed,) for seed in range(4)], **options)
