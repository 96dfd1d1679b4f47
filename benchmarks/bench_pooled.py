"""Speed of the user's path: `fit --runs` pooled (the default) against the law fitted alone, same run.

    SCALING_FORECAST_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_pooled.py [--repeats 5] [--cold 1]

The runs: the 60 smallest-compute runs of the gemstones family, written as a user's CSV (params,
tokens, loss). Each timing is a new process, start to saved NetCDF:
- ``pooled, warm``: `fit --runs runs.csv` with the population prior already in the user cache;
- ``alone``: `fit --runs runs.csv --no-pool`, the single-law fit (the baseline of this benchmark);
- ``pooled, cold``: the same with an empty user cache, so the population is built first (the
  hierarchical fit of the 8 registered families and the learned extrapolation error; once per version).
Medians of --repeats runs (--cold runs for the cold case: it takes minutes). The ratio pooled / alone
is the number to compare across machines.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], cache: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=os.environ | {"SCALING_FORECAST_CACHE_DIR": str(cache)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", type=int, default=1, help="runs with an empty population cache (minutes each)")
    args = parser.parse_args()
    from scaling_forecast.inputs.families import load_families

    folder = Path(tempfile.mkdtemp())
    runs = load_families(("gemstones",)).nsmallest(60, "compute")
    runs[["params", "tokens", "loss"]].to_csv(folder / "runs.csv", index=False)
    fit = [sys.executable, "-m", "scaling_forecast", "fit", "--runs", str(folder / "runs.csv"), "--out", str(folder / "fit.nc")]
    warm_cache = folder / "cache"
    results = {"pooled, cold": [timed(fit, folder / f"cold{i}") for i in range(args.cold)]}
    timed(fit, warm_cache)  # fills the cache the warm runs read
    results["pooled, warm"] = [timed(fit, warm_cache) for _ in range(args.repeats)]
    results["alone"] = [timed(fit + ["--no-pool"], warm_cache) for _ in range(args.repeats)]
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; 60 runs; each a new process")
    for name, times in results.items():
        print(f"  {name:<14} median {statistics.median(times):7.2f} s  (min {min(times):.2f}, max {max(times):.2f}, "
              f"{len(times)} runs)")
    ratio = statistics.median(results["pooled, warm"]) / statistics.median(results["alone"])
    print(f"  ratio pooled (warm) / alone: {ratio:.2f}")


if __name__ == "__main__":
    main()
