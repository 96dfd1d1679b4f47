"""Speed of the compute-optimal allocation against per-draw numerical minimisation, in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_allocation.py [--repeats 5]

Setup (not timed): the Chinchilla and Kaplan laws fitted once in process on
chinchilla-epoch with the 5 highest-loss runs dropped (4000 posterior draws each).

Measures, each as the median of --repeats runs, for each law:
- ``table``: `scaling_forecast.answers.allocation.allocation_table(draws, compute, level=0.9)`
  at 1000 budgets from 1e18 to 1e27 FLOP x 4000 draws (medians and 90%
  intervals of N_opt, D_opt, tokens per parameter and loss);
- ``optimum``: `scaling_forecast.answers.allocation.optimum(draws.frontier(), compute)` alone
  (per-draw arrays, no quantiles);
- ``baseline``: what a user would otherwise write, per draw and per budget
  `scipy.optimize.minimize_scalar(method="bounded")` of the law's loss over
  log N in [log 1e6, log 1e15] with D = C / (6 N), on a subset of --draws x
  --budgets cells; reported per cell and extrapolated to 1000 x 4000.
The ratio baseline (extrapolated) / table is the number to compare across
machines. The same subset checks agreement: max relative difference between the
numerical N_opt and the closed form's.
"""

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import minimize_scalar
from timing import repeat_times

from scaling_forecast.answers.allocation import allocation_table, optimum
from scaling_forecast.fitting.settings import RunSelection
from scaling_forecast.fitting.single import ScalingLawFit
from scaling_forecast.inputs import runs
from scaling_forecast.models.compute import FLOP_PER_PARAM_TOKEN

COMPUTE = np.geomspace(1e18, 1e27, 1000)
LOG_N_BOUNDS = (np.log(1e6), np.log(1e15))


def numerical_optimum(draws, compute: np.ndarray, draw_index: np.ndarray) -> np.ndarray:
    """N_opt per (budget, draw) by bounded scalar minimisation over log N with D = C / (6 N)."""
    out = np.empty((len(compute), len(draw_index)))
    for j, i in enumerate(draw_index):
        values = {k: v[i] for k, v in draws.values.items()}
        for b, c in enumerate(compute):
            log_budget = np.log(c / FLOP_PER_PARAM_TOKEN)
            result = minimize_scalar(lambda log_n, lb=log_budget, v=values: draws.law.loss(log_n, lb - log_n, v),
                                     bounds=LOG_N_BOUNDS, method="bounded", options={"xatol": 1e-9})
            out[b, j] = np.exp(result.x)
    return out


def runs_text(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--draws", type=int, default=40, help="draws in the baseline subset")
    parser.add_argument("--budgets", type=int, default=100, help="budgets in the baseline subset")
    args = parser.parse_args()
    print("command: SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_allocation.py "
          f"--repeats {args.repeats} --draws {args.draws} --budgets {args.budgets}")

    table, source, digest = runs.load_runs("chinchilla-epoch", None)
    rows = []
    for law in ("chinchilla", "kaplan"):
        start = time.perf_counter()
        fitted = ScalingLawFit.fit(table, source=source, source_sha256=digest, law=law,
                                   selection=RunSelection(drop_highest_loss=5), progress=False)
        draws = fitted.draws
        n_draws = len(next(iter(draws.values.values())))
        print(f"{law}: fitted in {time.perf_counter() - start:.1f} s (setup, not timed), {n_draws} draws")

        allocation_table(draws, COMPUTE, level=0.9)  # warm-up, not timed
        table_times = repeat_times(lambda d=draws: allocation_table(d, COMPUTE, level=0.9), args.repeats)
        optimum_times = repeat_times(lambda d=draws: optimum(d.frontier(), COMPUTE), args.repeats)

        draw_index = np.linspace(0, n_draws - 1, args.draws).round().astype(int)
        budget_index = np.linspace(0, len(COMPUTE) - 1, args.budgets).round().astype(int)
        subset = COMPUTE[budget_index]
        numerical = []
        baseline_times = repeat_times(lambda d=draws, s=subset, i=draw_index, out=numerical:
                                      out.append(numerical_optimum(d, s, i)), args.repeats)
        closed = optimum(draws.frontier(), subset)["params"][:, draw_index]
        inside = (closed > 1e6) & (closed < 1e15)
        rel = np.abs(numerical[-1] - closed) / closed
        cells = args.draws * args.budgets
        per_cell = statistics.median(baseline_times) / cells
        extrapolated = per_cell * len(COMPUTE) * n_draws
        rows.append((law, table_times, optimum_times, baseline_times, per_cell, extrapolated, n_draws, cells,
                     rel[inside].max(), int((~inside).sum()), closed.min(), closed.max()))

    print()
    for law, table_times, optimum_times, baseline_times, per_cell, extrapolated, n_draws, cells, max_rel, outside, lo, hi in rows:
        t_table = statistics.median(table_times)
        print(f"[{law}]  1000 budgets x {n_draws} draws")
        print(f"  allocation_table  median {t_table:7.3f} s  (runs: {runs_text(table_times)})")
        print(f"  optimum alone     median {statistics.median(optimum_times):7.3f} s  (runs: {runs_text(optimum_times)})")
        print(f"  baseline subset   median {statistics.median(baseline_times):7.3f} s for {cells} cells  "
              f"(runs: {runs_text(baseline_times)})")
        print(f"  baseline per cell {per_cell * 1e3:.3f} ms, extrapolated to 1000 x {n_draws}: "
              f"{extrapolated:.0f} s ({extrapolated / 60:.1f} min)")
        print(f"  ratio baseline (extrapolated) / allocation_table: {extrapolated / t_table:,.0f}")
        print(f"  N_opt closed form vs numerical: max relative difference {max_rel:.2e} "
              f"over {cells - outside} cells ({outside} with N_opt outside the search bounds left out; "
              f"closed-form N_opt in subset {lo:.2e} to {hi:.2e})")


if __name__ == "__main__":
    main()
