"""Speed of the Bayesian fit against the Hoffmann/Besiroglu baseline, in the same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_fit.py [--repeats 5]

Measures, each as the median of --repeats runs:
- ``fit``: `scaling-forecast fit --dataset chinchilla-epoch --drop-highest-loss 5`
  end to end in a fresh process (start, imports, data, compile, 4 chains x 1000
  draws after 1000 tuning steps, NetCDF written);
- ``baseline``: Huber loss + L-BFGS from the initialisation grid plus 4000
  bootstrap refits (forecast.baseline), in a fresh process likewise;
- ``predict``: expected and observed loss with 90% intervals at 10,000 (N, D)
  points from the saved fit, in process.
The ratio fit / baseline is the number to compare across machines.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BASELINE = """
from scaling_forecast import runs
from scaling_forecast.baseline import baseline_fit
from scaling_forecast.fit_settings import RunSelection
table = RunSelection(drop_highest_loss=5).apply(runs.load("chinchilla-epoch"))
baseline_fit(table["params"].to_numpy(), table["tokens"].to_numpy(), table["loss"].to_numpy(), n_boot=4000, seed=0, n_jobs=2)
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    out = Path(tempfile.mkdtemp()) / "fit.nc"
    fit_cmd = [sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "chinchilla-epoch", "--drop-highest-loss", "5", "--out", str(out)]
    results = {
        "fit": [timed(fit_cmd) for _ in range(repeats)],
        "baseline": [timed([sys.executable, "-c", BASELINE]) for _ in range(repeats)],
    }
    from scaling_forecast.law_fit import ScalingLawFit

    fitted = ScalingLawFit.load(out)
    n, d = np.logspace(8, 12, 10_000), np.logspace(9, 13, 10_000)
    predict = []
    for _ in range(repeats):
        start = time.perf_counter()
        fitted.predict(n, d)
        predict.append(time.perf_counter() - start)
    results["predict"] = predict
    for name, times in results.items():
        print(f"{name:<9} median {statistics.median(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    ratio = statistics.median(results["fit"]) / statistics.median(results["baseline"])
    print(f"ratio fit / baseline: {ratio:.2f}")


if __name__ == "__main__":
    main()
