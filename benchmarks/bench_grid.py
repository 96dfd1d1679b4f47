"""Speed and peak memory of `predict --grid` on large grids, against starting Python with numpy and pandas.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_grid.py [--repeats 5] [--rows 1e4 1e5 1e6] [--before REV]

One Chinchilla-law fit of chinchilla-epoch (4 chains x 1000 draws) is saved first; each timing is then a new
process, start to last line of output (written to /dev/null): read and check the grid CSV (random N in 1e8-1e11
parameters and 3-300 tokens per parameter, so many points lie beyond the fitted runs), load the fit, forecast
every point with 90% intervals, print. The baseline is `python -c 'import numpy, pandas'` in the same run, the
floor of any answer given in a new process. Peak memory is the largest resident set of the predict process.
With --before REV each grid is also forecast by the package as commit REV had it, in the same run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from timing import measured, package_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    parser.add_argument("--before", help="a commit to forecast the same grids with, for a before/after table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    fit = folder / "fit.nc"
    subprocess.run([sys.executable, "-m", "scaling_forecast", "fit", "--dataset", "chinchilla-epoch", "--drop-highest-loss",
                    "5", "--out", str(fit)], check=True, capture_output=True)
    rng = np.random.default_rng(0)
    versions = {"now": {}} | ({f"at {args.before}": package_at(args.before)} if args.before else {})
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; medians of {args.repeats} runs, each a new process")
    baseline = [measured([sys.executable, "-c", "import numpy, pandas"]) for _ in range(args.repeats)]
    floor = statistics.median(t for t, _ in baseline)
    print(f"  baseline (import numpy, pandas)   {floor:7.2f} s  {statistics.median(m for _, m in baseline):7.0f} MB")
    for rows in map(int, args.rows):
        n = 10 ** rng.uniform(8, 11, rows)
        grid = folder / f"grid{rows}.csv"
        pd.DataFrame({"params": n, "tokens": n * 10 ** rng.uniform(0.5, 2.5, rows)}).to_csv(grid, index=False,
                                                                                           float_format="%.6g")
        for version, env in versions.items():
            runs = [measured([sys.executable, "-m", "scaling_forecast", "predict", str(fit), "--grid", str(grid)], env)
                    for _ in range(args.repeats)]
            seconds = statistics.median(t for t, _ in runs)
            print(f"  predict --grid, {rows:>9,} rows ({version}) {seconds:7.2f} s  {max(m for _, m in runs):7.0f} MB peak  "
                  f"(ratio to baseline {seconds / floor:.1f})")


if __name__ == "__main__":
    main()
