"""Speed of the Bayesian fit against the Hoffmann/Besiroglu baseline, in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_fit.py [--repeats 5] [--before REV]

Measures, each as the median of --repeats runs:
- ``fit``: `scaling-forecast fit --dataset chinchilla-epoch --drop-highest-loss 5` end to end in a fresh
  process (start, imports, data, 4 chains x 1000 draws after 500 tuning steps, diagnostics, NetCDF written),
  with numba's cache of the law's density warm, as on a user's machine after the first fit;
- ``fit, first``: the same with an empty numba cache (``NUMBA_CACHE_DIR`` a new folder each time): the first
  fit after installing, which compiles the density;
- ``fit at REV`` (with --before): the same command with the package as commit REV had it;
- ``baseline``: Huber loss + L-BFGS from the initialisation grid plus 4000 bootstrap refits
  (scaling_forecast.fitting.baseline), in a fresh process likewise;
- ``predict``: expected and observed loss with 90% intervals at 10,000 (N, D) points from the saved fit,
  in process.
The ratio fit / baseline is the number to compare across machines.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import measured, package_at

BASELINE = """
from scaling_forecast.inputs import runs
from scaling_forecast.fitting.baseline import baseline_fit
from scaling_forecast.fitting.settings import RunSelection
table = RunSelection(drop_highest_loss=5).apply(runs.load("chinchilla-epoch"))
baseline_fit(table["params"].to_numpy(), table["tokens"].to_numpy(), table["loss"].to_numpy(), n_boot=4000, seed=0, n_jobs=2)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", help="a commit to time the same fit with, for a before/after table")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "fit.nc"
    fit_cmd = [sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "chinchilla-epoch", "--drop-highest-loss", "5",
               "--out", str(out)]
    measured(fit_cmd)  # fills numba's cache, as the first fit on a user's machine does
    results = {
        "fit": [measured(fit_cmd)[0] for _ in range(args.repeats)],
        "fit, first": [measured(fit_cmd, {"NUMBA_CACHE_DIR": tempfile.mkdtemp()})[0] for _ in range(args.repeats)],
    }
    if args.before:
        before = package_at(args.before)
        results[f"fit at {args.before}"] = [measured(fit_cmd, before)[0] for _ in range(args.repeats)]
    results["baseline"] = [measured([sys.executable, "-c", BASELINE])[0] for _ in range(args.repeats)]
    from scaling_forecast.fitting.single import ScalingLawFit

    fitted = ScalingLawFit.load(out)
    n, d = np.logspace(8, 12, 10_000), np.logspace(9, 13, 10_000)
    predict = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        fitted.predict(n, d)
        predict.append(time.perf_counter() - start)
    results["predict"] = predict
    for name, times in results.items():
        print(f"{name:<16} median {statistics.median(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    for name in [n for n in results if n.startswith("fit")]:
        print(f"ratio {name} / baseline: {statistics.median(results[name]) / statistics.median(results['baseline']):.2f}")


if __name__ == "__main__":
    main()
